"""Child processes of the benchmark: start with a log file each, stop them all.

Every child gets its own session (process group), so stopping one also stops what
it started (gunicorn's workers); only the groups started here are ever signalled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, what: str, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} before answering at {url}")
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout:.0f}s")


@dataclass
class Child:
    name: str
    proc: subprocess.Popen
    log: Path


@dataclass
class Stack:
    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, cmd: list[str], env: dict, cwd: Path | str) -> Child:
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, cwd=cwd, start_new_session=True)
        child = Child(name, proc, log)
        self.children.append(child)
        return child

    def start_redis(self, port: int, name: str = "redis") -> Child:
        """A redis-server of the bench's own (no persistence): it may be killed and restarted."""
        child = self.start(name, ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no"], dict(os.environ), self.log_dir)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if child.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with code {child.proc.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    return child
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not answer on port {port}")

    def by_prefix(self, prefix: str) -> list[Child]:
        return [c for c in self.children if c.name.startswith(prefix)]

    def check_alive(self) -> None:
        dead = [c for c in self.children if c.proc.poll() is not None]
        if dead:
            names = ", ".join(f"{c.name} (code {c.proc.returncode})" for c in dead)
            raise RuntimeError(f"child process exited: {names}")

    def stop(self, child: Child, grace: float = 10.0) -> None:
        if child.proc.poll() is None:
            _signal_group(child.proc.pid, signal.SIGTERM)
            try:
                child.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(child.proc.pid, signal.SIGKILL)
                child.proc.wait(timeout=5)
        _signal_group(child.proc.pid, signal.SIGKILL)  # anything the child left in its group
        if child in self.children:
            self.children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self.children)):
            try:
                self.stop(child)
            except Exception as exc:  # keep stopping the others
                print(f"  could not stop {child.name}: {exc}")

    def tail_logs(self, lines: int = 15) -> str:
        out = []
        for log in sorted(self.log_dir.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            if text:
                out.append(f"--- {log.name} (last {len(text)} lines)\n" + "\n".join(text))
        return "\n".join(out)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


# --- resource sampling -----------------------------------------------------------------

def tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pid: int) -> float:
    try:
        return psutil.Process(pid).memory_info().rss / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


def processes_named(name: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == name:
            found.append(proc)
    return found


class CpuMeter:
    """CPU seconds used per component between ``start`` and ``stop``."""

    def __init__(self, groups: dict[str, callable]) -> None:
        self.groups = groups  # name -> callable returning the processes of that component
        self.before: dict[str, dict[int, float]] = {}
        self.t0 = 0.0

    @staticmethod
    def _times(procs: list[psutil.Process]) -> dict[int, float]:
        out = {}
        for proc in procs:
            try:
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system
            except psutil.Error:
                pass
        return out

    def start(self) -> None:
        self.t0 = time.monotonic()
        self.before = {name: self._times(get()) for name, get in self.groups.items()}
        psutil.cpu_percent(None)

    def stop(self) -> tuple[dict[str, float], float]:
        """({component: CPU seconds}, wall seconds); "machine" is every process on the box."""
        wall = max(time.monotonic() - self.t0, 1e-6)
        seconds = {"machine": psutil.cpu_percent(None) / 100 * psutil.cpu_count() * wall}
        for name, get in self.groups.items():
            after = self._times(get())
            before = self.before.get(name, {})
            seconds[name] = sum(max(t - before.get(pid, 0.0), 0.0) for pid, t in after.items())
        return seconds, wall


def run_to_end(bench, keep_logs: bool) -> int:
    """Run a bench that owns a Stack, always clean up, and say why it failed.

    SIGTERM is turned into an interrupt so a killed bench still stops its children.
    The bench needs ``run()``, ``cleanup(keep_logs=...)`` and a ``stack``.
    """
    import traceback

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    failed = False
    try:
        bench.run()
    except KeyboardInterrupt:
        print("\ninterrupted; stopping everything", flush=True)
        failed = True
    except Exception:
        failed = True
        traceback.print_exc()
        print("\nchild logs:\n" + bench.stack.tail_logs(), flush=True)
    finally:
        bench.cleanup(keep_logs=keep_logs or failed)
    return 1 if failed else 0

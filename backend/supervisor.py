"""Child processes for ``make run``: started by readiness, restarted, always stopped.

Each child runs in a process group of its own (so stopping it also stops what it
forked: gunicorn's workers), gets ``PR_SET_PDEATHSIG`` = SIGTERM on Linux (so it
ends when the run command dies, even by SIGKILL), and writes its output to
``<instance>/logs/<name>.log``, which the run echoes line by line and whose tail it
prints when the child fails. Everything happens in the main thread: the run has no
threads (``preexec_fn`` stays safe, and PDEATHSIG is tied to the thread that forked).

One run per instance folder: ``run_lock`` holds ``flock`` on ``<instance>/run.lock``.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None

# A child that dies after the start is started again after 1, 2, 4, ... s (at most
# MAX_BACKOFF); one that died RESTART_LIMIT times within RESTART_WINDOW s stops the run.
MAX_BACKOFF = 30.0
RESTART_LIMIT = 5
RESTART_WINDOW = 60.0
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL of a child's process group
PROGRESS_EVERY = 5.0


class RunFailed(Exception):
    """The run cannot go on: the message says why (with the failing child's log tail)."""


class StartFailed(RunFailed):
    """The start cannot go on."""


class Stopped(Exception):
    """A stop signal arrived."""


class AlreadyRunning(Exception):
    def __init__(self, path: Path, pid: str):
        super().__init__(f"{path} is held by pid {pid or '?'}")
        self.path, self.pid = path, pid


def run_lock(instance_dir: Path) -> int:
    """Take ``<instance>/run.lock`` (flock, with our pid in it) for the life of the process."""
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip()
        os.close(fd)
        raise AlreadyRunning(path, holder) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def say(message: str, err: bool = False) -> None:
    """Print, but never fail: after SIGHUP the terminal may be gone, and stopping must go on."""
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr if err else sys.stdout, flush=True)


def _child_setup(parent: int) -> Callable[[], None]:
    def setup() -> None:  # runs in the child between fork and exec
        if _libc is not None:
            _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent:  # the run died before prctl: nobody would stop us
                os._exit(1)
    return setup


def describe_exit(code: int | None) -> str:
    if code is None:
        return "is running"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


class Child:
    def __init__(self, name: str, title: str, argv: list[str], env: dict, cwd: Path, log_dir: Path,
                 restart: bool = True):
        self.name, self.title, self.argv, self.env, self.cwd = name, title, argv, env, cwd
        self.restart = restart
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.deaths: deque[float] = deque()
        self.restart_at: float | None = None
        self._reader = None
        self._partial = b""

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, process_group=0, preexec_fn=_child_setup(os.getpid()))
        self.restart_at = None

    def exited(self) -> int | None:
        """The exit code if the child has ended (reaped), else None."""
        return self.process.poll() if self.process else None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal_group(self, sig: int) -> bool:
        """Send ``sig`` to the child's process group; False when nothing is left in it."""
        if self.process is None:
            return False
        self.process.poll()  # reap the leader, so a dead group reads as gone
        try:
            os.killpg(self.process.pid, sig)
            return True
        except (ProcessLookupError, PermissionError):
            return False

    def group_alive(self) -> bool:
        return self.signal_group(0)

    def new_output(self) -> list[str]:
        """Complete lines the child wrote since the last call."""
        if self._reader is None:
            try:
                self._reader = open(self.log_path, "rb")  # noqa: SIM115 - kept open across calls: closed in close()
            except FileNotFoundError:
                return []
        data = self._partial + self._reader.read()
        *lines, self._partial = data.split(b"\n")
        return [line.decode(errors="replace") for line in lines]

    def tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_bytes()[-64_000:].decode(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(f"    {line}" for line in text.splitlines()[-lines:])

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None


class Supervisor:
    def __init__(self, instance_dir: Path, cwd: Path, start_timeout: float, echo: bool = True):
        self.log_dir = instance_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.cwd = cwd
        self.start_timeout = start_timeout
        self.echo = echo
        self.children: list[Child] = []
        self.signals: list[int] = []
        self.started_at = time.monotonic()

    # -- signals ------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, _frame) -> None:
        self.signals.append(signum)  # acted upon by the loops below, never inside the handler

    def check_signals(self) -> None:
        if self.signals:
            raise Stopped(signal.Signals(self.signals[0]).name)

    # -- children -----------------------------------------------------------------

    def child(self, name: str, title: str, argv: list[str], env: dict, restart: bool = True) -> Child:
        child = Child(name, title, argv, env, self.cwd, self.log_dir, restart)
        child.log_path.write_bytes(b"")  # each run starts its logs afresh
        self.children.append(child)
        return child

    def start(self, child: Child) -> Child:
        self.check_signals()
        child.start()
        return child

    def pump(self) -> None:
        """Echo what the children wrote."""
        for child in self.children:
            for line in child.new_output():
                if self.echo:
                    say(f"[{child.name}] {line}")

    def tick(self, seconds: float = 0.2) -> None:
        self.pump()
        self.check_signals()
        time.sleep(seconds)
        self.check_signals()

    def deadline_left(self) -> float:
        return self.start_timeout - (time.monotonic() - self.started_at)

    def _fail_if_dead(self, watched: list[Child]) -> None:
        for child in watched:
            code = child.exited()
            if code is not None:
                self.pump()
                raise StartFailed(f"the {child.title} {describe_exit(code)} during the start; "
                                  f"the last lines of {child.log_path}:\n{child.tail()}")

    def wait_until(self, what: str, ready: Callable[[], bool], watched: list[Child]) -> None:
        """Poll ``ready()`` until it is true; stop the start if a watched child ends, a
        signal arrives, or FISSION_START_TIMEOUT runs out. A line of progress every 5 s."""
        began = last_note = time.monotonic()
        while True:
            self._fail_if_dead(watched)
            if ready():
                return
            self._fail_if_dead(watched)  # not ready because it died: say so, not "timeout"
            now = time.monotonic()
            if self.deadline_left() <= 0:
                raise StartFailed(f"gave up waiting for {what} after {now - began:.0f} s "
                                  f"(FISSION_START_TIMEOUT={self.start_timeout:g} s)" + self._tails(watched))
            if now - last_note >= PROGRESS_EVERY:
                say(f"waiting for {what} ({now - began:.0f} s)")
                last_note = now
            self.tick(0.25)

    def _tails(self, children: list[Child]) -> str:
        return "".join(f"\nthe last lines of {c.log_path}:\n{c.tail(10)}" for c in children)

    def run_task(self, child: Child, what: str) -> None:
        """Start a one-shot child (a migration) and wait for it to succeed."""
        self.start(child)
        self.wait_until(what, lambda: child.exited() is not None, [])
        if child.exited() != 0:
            self.pump()
            raise StartFailed(f"{what} failed: the {child.title} {describe_exit(child.exited())}; "
                              f"the last lines of {child.log_path}:\n{child.tail()}")
        self.pump()

    # -- running ------------------------------------------------------------------

    def supervise(self, on_death: Callable[[Child], str | None] | None = None) -> None:
        """Until a signal: start again each child that ends (with a back-off); raise
        RunFailed when one keeps dying. ``on_death`` may return a message to print
        instead of the default one."""
        while True:
            now = time.monotonic()
            for child in self.children:
                if not child.restart or child.process is None:
                    continue
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        self.start(child)
                    continue
                code = child.exited()
                if code is None:
                    continue
                self.pump()
                child.deaths.append(now)
                while child.deaths and now - child.deaths[0] > RESTART_WINDOW:
                    child.deaths.popleft()
                if len(child.deaths) >= RESTART_LIMIT:
                    raise RunFailed(
                        f"the {child.title} {describe_exit(code)} and has died {len(child.deaths)} times within "
                        f"{RESTART_WINDOW:.0f} s; stopping everything. The last lines of {child.log_path}:\n"
                        f"{child.tail()}")
                delay = min(MAX_BACKOFF, 2.0 ** (len(child.deaths) - 1)) if len(child.deaths) > 1 else 0.0
                message = on_death(child) if on_death else None
                say(message or (f"the {child.title} {describe_exit(code)}; starting it again"
                                + (f" in {delay:.0f} s" if delay else "")
                                + f" (log: {child.log_path}):\n{child.tail(5)}"), err=True)
                child.signal_group(signal.SIGKILL)  # whatever it left behind in its group
                child.restart_at = now + delay
            self.tick(0.25)

    def stop_all(self, last: list[Child] | None = None) -> None:
        """SIGTERM every child's process group (``last`` ones after the others), SIGKILL
        what is still there after STOP_GRACE s, or at once on a second signal."""
        last = last or []
        first = [c for c in self.children if c not in last]
        signals_before = len(self.signals)
        for group in (first, last):
            for child in group:
                child.signal_group(signal.SIGTERM)
            deadline = time.monotonic() + STOP_GRACE
            while any(c.group_alive() for c in group):
                if time.monotonic() > deadline or len(self.signals) > signals_before:
                    for child in group:
                        if child.signal_group(signal.SIGKILL):
                            say(f"the {child.title} did not stop within {STOP_GRACE:.0f} s: killed", err=True)
                    break
                self.pump()
                time.sleep(0.1)
            for child in group:
                if child.process is not None:
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        child.process.wait(timeout=5)
        self.pump()
        for child in self.children:
            child.close()

"""`make run` as a user starts it: `python -m backend.run`, the real children.

Each test gets an instance folder, ports and a SQLite database of its own and the
embedded Redis. Every wait is bounded, and whatever a test started is killed in a
`finally` (the run's process group and every descendant seen), so a failing test
never leaves processes behind or hangs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
import requests
from helpers import free_port

from backend.config import PROJECT_ROOT

UP = "Fission is running"


class Run:
    """One `python -m backend.run` in a folder of its own (short: the Redis socket lives in it)."""

    def __init__(self, folder: Path | None = None, **env):
        self.folder = folder or Path(tempfile.mkdtemp(prefix="frun-"))
        self.instance = self.folder / "instance"
        self.port, emulator_port = free_port(), free_port()
        self.env = {k: v for k, v in os.environ.items()
                    if k not in {"REDIS_URL", "DATABASE_URL", "QUEUE_PREFIX", "FISSION_TEST_START_DELAY"}}
        self.env.update({
            "FISSION_INSTANCE_DIR": str(self.instance), "PORT": str(self.port),
            "WECHAT_EMULATOR_URL": f"http://127.0.0.1:{emulator_port}",
            "DATABASE_URL": f"sqlite:///{self.folder}/fission.db", "ADMIN_PASSWORD": "run-test-password",
            "WEB_CONCURRENCY": "1", "LOG_LEVEL": "WARNING", **env})
        self.out_path = self.folder / f"out-{self.port}.txt"
        self.process: subprocess.Popen | None = None
        self.seen: dict[int, psutil.Process] = {}

    def start(self) -> Run:
        with open(self.out_path, "wb") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "backend.run"], cwd=PROJECT_ROOT, env=self.env,
                                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    @property
    def output(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1/health"

    def descendants(self) -> list[psutil.Process]:
        """Every process below the run now (also remembered for the final check and cleanup)."""
        try:
            found = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        for p in found:
            self.seen.setdefault(p.pid, p)
        return found

    def child(self, fragment: str, timeout: float = 60) -> psutil.Process:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.descendants():
                try:
                    if fragment in " ".join(p.cmdline()):
                        return p
                except psutil.Error:
                    pass
            assert self.process.poll() is None, self.output
            time.sleep(0.2)
        raise AssertionError(f"no child process with {fragment!r}:\n{self.output}")

    def wait_up(self, timeout: float = 150) -> None:
        deadline = time.monotonic() + timeout
        while UP not in self.output:
            assert self.process.poll() is None, f"the run ended with {self.process.returncode}:\n{self.output}"
            assert time.monotonic() < deadline, f"not up after {timeout} s:\n{self.output}"
            self.descendants()
            time.sleep(0.2)
        self.descendants()
        assert requests.get(self.health, timeout=10).status_code == 200

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the run did not end within {timeout} s:\n{self.output}") from None

    def assert_nothing_left(self, timeout: float = 40) -> None:
        """Every process ever seen below the run is gone (a zombie waiting for its reaper counts as gone)."""
        assert self.seen, "no child process was seen"
        deadline = time.monotonic() + timeout
        while True:
            alive = [p for p in self.seen.values() if _alive(p)]
            if not alive:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"left behind: {[(p.pid, _cmd(p)) for p in alive]}\n{self.output}")
            time.sleep(0.2)

    def kill_everything(self) -> None:
        if self.process is not None:
            self.descendants()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
            for p in self.seen.values():
                try:
                    if _alive(p):
                        os.killpg(p.pid, signal.SIGKILL)  # each child leads its own group
                except (ProcessLookupError, PermissionError):
                    pass
                with contextlib.suppress(psutil.Error):
                    p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)

    def cleanup(self) -> None:
        self.kill_everything()
        shutil.rmtree(self.folder, ignore_errors=True)


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmd(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())[:120]
    except psutil.Error:
        return "?"


@pytest.fixture
def runs():
    started: list[Run] = []

    def make(**kw) -> Run:
        run = Run(**kw)
        started.append(run)
        return run

    yield make
    for run in started:
        run.cleanup()


def test_a_slow_api_is_waited_for_and_sigterm_stops_everything(runs):
    """The API child sleeps 35 s before gunicorn starts (a machine too busy to answer
    within the old fixed 30 s): the run waits, says so, and comes up; SIGTERM then
    stops every process it started."""
    run = runs(FISSION_TEST_START_DELAY="35").start()
    run.wait_up(timeout=200)
    assert "waiting for the API at" in run.output
    expected = {"redis-server", "backend.wechat.emulator", "gunicorn", "fission worker", "fission sweep"}
    seen = " | ".join(_cmd(p) for p in run.descendants())
    assert all(name in seen for name in expected), seen
    assert len([p for p in run.descendants() if "gunicorn" in _cmd(p)]) >= 2  # the arbiter and its worker

    run.process.send_signal(signal.SIGTERM)
    assert run.wait_exit() == 0
    run.assert_nothing_left()


def test_a_second_run_on_the_same_folder_is_refused_a_dead_worker_comes_back_and_sigint_stops_all(runs):
    first = runs().start()
    first.wait_up()
    # the banner names the console, the API docs and, in sandbox mode, how to load the demo shop
    assert f"admin console  http://127.0.0.1:{first.port}/admin/" in first.output, first.output
    assert "/api/v1/docs" in first.output and "fission demo" in first.output, first.output
    before = {p.pid for p in first.descendants()}
    migrate_log = (first.instance / "logs" / "migrate.log").read_bytes()

    second = runs(folder=first.folder)  # same instance folder, other ports
    second.out_path = first.folder / "second.txt"
    second.start()
    assert second.wait_exit(timeout=60) != 0
    assert f"pid {first.process.pid}" in second.output, second.output
    assert "FISSION_INSTANCE_DIR" in second.output and "PORT" in second.output
    assert UP not in second.output
    answer = requests.get(first.health, timeout=10)
    assert answer.status_code == 200
    assert "gunicorn" not in answer.headers.get("Server", "").lower()  # no server banner
    assert f"Listening at: http://127.0.0.1:{first.port}" in first.output  # this machine only, by default
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert {p.pid for p in first.descendants()} == before  # nothing of the first was touched
    assert (first.instance / "logs" / "migrate.log").read_bytes() == migrate_log

    worker = first.child("fission worker")
    worker.kill()
    deadline = time.monotonic() + 60
    while True:
        replacement = first.child("fission worker")
        if replacement.pid != worker.pid:
            break
        assert time.monotonic() < deadline, first.output
        time.sleep(0.2)
    assert "the RQ worker was killed by SIGKILL; starting it again" in first.output
    assert requests.get(first.health, timeout=10).status_code == 200

    first.process.send_signal(signal.SIGINT)
    assert first.wait_exit() == 0
    first.assert_nothing_left()


def test_sigkill_of_the_run_leaves_no_child_behind(runs):
    run = runs().start()
    run.wait_up()
    run.process.kill()
    run.wait_exit()
    run.assert_nothing_left()


def test_a_child_that_dies_during_the_start_stops_it_with_its_log(runs):
    """The emulator is killed while the run waits for the (slow) API: the start stops
    at once, names the emulator and prints the end of its log, and exits non-zero."""
    run = runs(FISSION_TEST_START_DELAY="120").start()
    emulator = run.child("backend.wechat.emulator", timeout=120)
    run.child("gunicorn", timeout=60)  # the API is being waited for
    run.descendants()
    emulator.kill()
    assert run.wait_exit(timeout=60) == 1
    assert "Fission did not start: the WeChat emulator was killed by SIGKILL during the start" in run.output
    assert "WeChat emulator listening on" in run.output.split("did not start")[1]  # its log's tail
    assert UP not in run.output
    run.assert_nothing_left()


def test_a_child_that_keeps_dying_is_restarted_with_a_back_off_then_stops_the_run(monkeypatch, capsys):
    """The supervisor itself (no signal handlers installed: this is the test process)."""
    from backend import supervisor

    monkeypatch.setattr(supervisor, "MAX_BACKOFF", 0.2)
    folder = Path(tempfile.mkdtemp(prefix="fsup-"))
    try:
        sup = supervisor.Supervisor(folder, PROJECT_ROOT, start_timeout=30, echo=False)
        child = sup.child("flaky", "flaky child", [sys.executable, "-c", "print('about to fail'); exit(3)"],
                          dict(os.environ))
        sup.start(child)
        with pytest.raises(supervisor.RunFailed) as failed:
            sup.supervise()
        assert f"has died {supervisor.RESTART_LIMIT} times" in str(failed.value)
        assert "about to fail" in str(failed.value)  # the tail of its log
        err = capsys.readouterr().err
        assert err.count("the flaky child exited with code 3; starting it again") == supervisor.RESTART_LIMIT - 1
        sup.stop_all()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

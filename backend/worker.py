"""RQ workers that outlive a Redis outage of any length (``flask fission worker``).

RQ retries an idle worker's dequeue when Redis goes away, but a worker that is
running a job when it does dies: after the job body, RQ's own bookkeeping
(``handle_execution_ended`` → job heartbeat, ``handle_job_success``, and then
``register_death`` in its teardown) raises ``redis.exceptions.ConnectionError`` out
of ``Worker.work``. Here:

* ``execute_job`` turns a Redis error of RQ's bookkeeping into a clean end of the
  work loop (logged), and teardown, stop requests and the like no longer raise
  while Redis is away;
* ``work_forever`` runs the work loop again and again: whenever it ends without a
  stop request (Redis lost, or anything else that made RQ quit), it waits, with a
  back-off, until Redis answers a PING, and starts a fresh worker (log lines each time).

The bookkeeping of a job that ended during the outage is lost, which is fine: jobs
are idempotent, and the sweeper re-enqueues from the database whatever is unfinished.
"""

from __future__ import annotations

import logging
import signal
import time
from contextlib import suppress

import redis
from rq import SimpleWorker, Worker
from rq.exceptions import StopRequested

from backend.logs import request_id_context
from backend.queue import job_request_id

log = logging.getLogger("backend.worker")

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
WAIT_FIRST, WAIT_MAX = 0.5, 10.0  # back-off between PINGs while Redis is away
STILL_WAITING_EVERY = 60.0
QUICK_END = 10.0  # a work loop that ended sooner than this after its start counts towards the back-off


class _OutlivesRedis:
    redis_lost: Exception | None = None
    stop_signalled = False

    def execute_job(self, job, queue):
        try:
            with request_id_context(job_request_id(job)):  # RQ's own lines of the job carry it too
                super().execute_job(job, queue)
        except REDIS_ERRORS as exc:
            self.redis_lost = exc
            log.warning("worker %s lost Redis while running or recording job %s (%s: %s); its bookkeeping is "
                        "dropped (jobs are idempotent, the sweeper re-enqueues unfinished work)",
                        self.name, job.id, exc.__class__.__name__, exc)
            if getattr(self, "_horse_pid", 0):  # --fork: the horse ends by itself (job timeout at most)
                with suppress(Exception):
                    self.wait_for_horse()
            raise StopRequested from exc  # ends RQ's work loop quietly; work_forever starts another

    def request_stop(self, signum, frame):
        self.stop_signalled = True
        super().request_stop(signum, frame)

    def set_shutdown_requested_date(self):
        with suppress(*REDIS_ERRORS):  # called from the signal handler: must not raise into the job
            super().set_shutdown_requested_date()

    def teardown(self):
        try:
            super().teardown()
        except REDIS_ERRORS:  # register_death / unsubscribe need Redis: stop the pubsub thread anyway
            if self.pubsub_thread is not None:
                self.pubsub_thread.stop()
                self.pubsub_thread.join(timeout=1)
            with suppress(Exception):
                self.pubsub.close()

    @property
    def asked_to_stop(self) -> bool:
        return self.stop_signalled or self._stop_requested


class OutageProofSimpleWorker(_OutlivesRedis, SimpleWorker):
    """Jobs in the worker process (the default of ``fission worker``)."""


class OutageProofWorker(_OutlivesRedis, Worker):
    """Each job in a forked child (``fission worker --fork``)."""


def worker_class(fork: bool) -> type:
    return OutageProofWorker if fork else OutageProofSimpleWorker


def _probe(connection: redis.Redis) -> redis.Redis:
    """A client on the same server with short timeouts: RQ raises the socket timeout of
    the worker's own connection to its dequeue timeout (minutes)."""
    pool = connection.connection_pool
    kwargs = {**pool.connection_kwargs, "socket_timeout": 2, "socket_connect_timeout": 2}
    return redis.Redis(connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs))


def wait_for_redis(connection: redis.Redis, at_least: float = 0.0) -> bool:
    """Block (``at_least`` seconds, then) until Redis answers PING (True), or a
    SIGTERM/SIGINT arrives (False)."""
    signals: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):  # the dead worker's handlers would talk to Redis
        signal.signal(sig, lambda signum, _frame: signals.append(signum))
    probe = _probe(connection)
    began = last_note = time.monotonic()
    pause = WAIT_FIRST
    try:
        while not signals and time.monotonic() - began < at_least:
            time.sleep(0.1)
        while not signals:
            try:
                if probe.ping():
                    log.warning("Redis answers again after %.0f s; starting a new work loop", time.monotonic() - began)
                    return True
            except (redis.RedisError, OSError):
                pass
            if time.monotonic() - last_note >= STILL_WAITING_EVERY:
                log.warning("still waiting for Redis (%.0f s)", time.monotonic() - began)
                last_note = time.monotonic()
            end = time.monotonic() + pause
            while not signals and time.monotonic() < end:
                time.sleep(0.1)
            pause = min(WAIT_MAX, pause * 2)
        log.warning("stop requested while waiting for Redis; the worker exits")
        return False
    finally:
        probe.close()


def work_forever(make_worker, *, burst: bool = False, logging_level: str = "INFO") -> None:
    """Run ``make_worker().work(...)`` until it stops on request (or, with ``burst``,
    until the queues are empty), starting a new work loop after every Redis outage."""
    quick_ends = 0
    while True:
        worker = make_worker()
        started = time.monotonic()
        reason: object
        try:
            worker.work(burst=burst, with_scheduler=False, logging_level=logging_level)
        except REDIS_ERRORS as exc:  # e.g. while registering its birth
            reason = f"{exc.__class__.__name__}: {exc}"
        else:
            if worker.asked_to_stop or (burst and worker.redis_lost is None):
                return
            reason = f"Redis lost: {worker.redis_lost}" if worker.redis_lost else "its work loop ended"
        if worker.asked_to_stop:
            return
        log.warning("worker %s stopped working (%s); waiting for Redis, then a new work loop", worker.name, reason)
        quick_ends = quick_ends + 1 if time.monotonic() - started < QUICK_END else 0
        pause = 0.0
        if quick_ends > 1:  # ends again and again with Redis up: do not spin
            pause = min(WAIT_MAX * 3, 2.0 ** (quick_ends - 1))
            log.warning("the work loop ended %d times in a row within %.0f s; next one in %.0f s at the earliest",
                        quick_ends, QUICK_END, pause)
        if not wait_for_redis(worker.connection, at_least=pause):
            return
        with suppress(Exception):  # a Redis that kept its data still lists the old worker
            worker.register_death()

"""RQ plumbing: queues, enqueue-after-commit, and the app context jobs run in.

Enqueue from a request or a job through ``enqueue_after_commit`` (or register the
enqueue with ``transactions.after_commit``): a job must never be able to run before
the rows it reads are committed, nor run at all for work that was rolled back.

Jobs take ids (or nothing, like the credit job that reads its work from the
database), never objects, and are idempotent, so enqueuing twice is harmless; we
still collapse duplicates: at most one job waits per piece of work (``payout-{id}``,
``payouts-credit``; see ``enqueue_once``). Enqueuing never raises: if Redis is down
the row stays ``pending`` in the database and the sweeper enqueues it again later
(the outbox pattern).
"""

from __future__ import annotations

import functools
import logging
import secrets

from flask import current_app, has_app_context
from rq import Queue, get_current_job

from backend.extensions import db, redis_client
from backend.logs import current_request_id, request_id_context
from backend.transactions import after_commit, unit_of_work

log = logging.getLogger(__name__)

QUEUES = ("payouts", "default")


def queue_name(name: str) -> str:
    return f"{current_app.config['FISSION'].queue_prefix}-{name}"


# The job's meta key holding the id of the request (or job) that enqueued it: the
# worker logs the job's lines under that id (backend/logs.py).
REQUEST_ID = "request_id"


class FissionQueue(Queue):
    """Every job enqueued through it carries the current request id in its meta."""

    def create_job(self, *args, meta: dict | None = None, **kwargs):
        request_id = current_request_id.get()
        if request_id:
            meta = {**(meta or {}), REQUEST_ID: request_id}
        return super().create_job(*args, meta=meta, **kwargs)


def get_queue(name: str = "default") -> Queue:
    return FissionQueue(queue_name(name), connection=redis_client())


def job_request_id(rq_job) -> str | None:
    """The request id a job was enqueued under, if any."""
    meta = getattr(rq_job, "meta", None) or {}
    return meta.get(REQUEST_ID)


# How long a "waiting" marker outlives a job that never started (its worker died
# between taking it and running it): after that a new job may be enqueued.
WAITING_MARKER_SECONDS = 60
_MARKER = "fission_waiting_marker"  # the job's meta key naming its marker


def enqueue_once(func, *args, job_id: str, queue: str = "default", **kwargs) -> bool:
    """Enqueue unless a job for ``job_id`` is waiting to run. False if Redis is unreachable.

    ``job_id`` names the work, not the RQ job: a marker ``{prefix}:waiting:{job_id}``
    (SET NX) says one is waiting, and the job clears it when it starts (``job``
    below), so a job that is already running never blocks the next one. Each RQ job
    gets an id of its own: RQ deletes a finished job's hash by id, so a fixed id
    reused while its job still ran lost the waiting one's hash (and RQ failed the
    running one trying to clean it up)."""
    prefix = current_app.config["FISSION"].queue_prefix
    marker = f"{prefix}:waiting:{job_id}"
    try:
        conn = redis_client()
        if not conn.set(marker, 1, nx=True, ex=WAITING_MARKER_SECONDS):
            return True
        try:
            get_queue(queue).enqueue(func, *args, job_id=f"{prefix}-{job_id}-{secrets.token_hex(6)}",
                                     meta={_MARKER: marker}, result_ttl=0, failure_ttl=86400, job_timeout=120,
                                     **kwargs)
        except Exception:
            conn.delete(marker)  # no job waits after all
            raise
        return True
    except Exception as exc:  # Redis down: the sweeper will pick the row up
        log.warning("enqueue %s failed (%s); the sweeper will retry", job_id, exc.__class__.__name__)
        return False


def enqueue_once_per(period: str, seconds: int, func, *, job_timeout: int) -> bool:
    """Enqueue ``func`` at most once per ``period`` (a name such as ``analytics:warm:2026-12-03``;
    its marker is kept ``seconds``). False when it was enqueued already or Redis is
    unreachable: the caller's next pass asks again. A failed enqueue gives the marker back,
    so the period is not lost."""
    marker = f"{current_app.config['FISSION'].queue_prefix}:{period}"
    try:
        conn = redis_client()
        if not conn.set(marker, 1, nx=True, ex=seconds):
            return False
        try:
            get_queue("default").enqueue(func, job_timeout=job_timeout, result_ttl=0, failure_ttl=86400)
        except Exception:
            conn.delete(marker)
            raise
        return True
    except Exception as exc:  # the next pass asks again
        log.warning("%s not enqueued (%s)", period, exc.__class__.__name__)
        return False


def enqueue_after_commit(func, *args, job_id: str, queue: str = "default", **kwargs) -> None:
    """``enqueue_once`` once the current transaction commits (nothing if it rolls back)."""
    after_commit(enqueue_once, func, *args, job_id=job_id, queue=queue, **kwargs)


def _clear_waiting_marker() -> None:
    current = get_current_job()
    marker = current.meta.get(_MARKER) if current is not None else None
    if marker:
        try:
            redis_client().delete(marker)
        except Exception as exc:  # the marker lapses by itself
            log.warning("waiting marker %s not cleared: %s", marker, exc.__class__.__name__)


_worker_app = None


def job(func):
    """Run an RQ job inside a fresh app context with its own session, so one job's
    state never leaks into the next in a long-lived worker, as one unit of work: it
    commits when the job returns and rolls back when it raises (``transactions``)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # Called inline (a test, a CLI command) in an app context: the caller's session.
        # Run by a worker: always a context and session of its own, also when the worker
        # process sits in an app context (the flask CLI pushes one for every command):
        # a job that ends without a commit must not leave a transaction open for the
        # next one (on SQLite, a write lock that stops everyone else).
        if has_app_context() and get_current_job() is None:
            with unit_of_work(f"job {func.__qualname__}"):
                return func(*args, **kwargs)
        global _worker_app
        if _worker_app is None:
            from backend import create_app

            _worker_app = create_app()
        with _worker_app.app_context(), request_id_context(job_request_id(get_current_job())):
            log.debug("job %s started", func.__qualname__)
            _clear_waiting_marker()  # from now on a new job for this work may be enqueued
            try:
                with unit_of_work(f"job {func.__qualname__}"):
                    return func(*args, **kwargs)
            finally:
                db.session.remove()

    wrapper.is_fission_job = True  # tests walk every jobs module for this mark
    return wrapper

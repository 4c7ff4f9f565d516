"""RQ plumbing: queues, enqueue-after-commit, and the app context jobs run in.

Jobs take ids (or nothing, like the credit job that reads its work from the
database), never objects, and are idempotent, so enqueuing twice is harmless; we
still collapse duplicates by a fixed job id (``payout-{id}``, ``payouts-credit``). Enqueuing never
raises: if Redis is down the row stays ``pending`` in the database and the sweeper
enqueues it again later (the outbox pattern).
"""

from __future__ import annotations

import functools
import logging

from flask import current_app, has_app_context
from rq import Queue, get_current_job
from rq.job import Job, JobStatus

from backend.extensions import db, redis_client

log = logging.getLogger(__name__)

QUEUES = ("payouts", "default")
# A job waiting to run collapses a duplicate. A *started* one does not: its worker
# may have died, and a second run of an idempotent job is harmless.
_WAITING = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def queue_name(name: str) -> str:
    return f"{current_app.config['FISSION'].queue_prefix}-{name}"


def get_queue(name: str = "default") -> Queue:
    return Queue(queue_name(name), connection=redis_client())


def enqueue_once(func, *args, job_id: str, queue: str = "default", **kwargs) -> bool:
    """Enqueue unless a job with this id is waiting to run. False if Redis is unreachable."""
    full_id = f"{current_app.config['FISSION'].queue_prefix}-{job_id}"
    try:
        conn = redis_client()
        # One field, not Job.fetch: this runs on every paid order.
        status = conn.hget(Job.key_for(full_id), "status")
        if status is not None and status.decode() in _WAITING:
            return True
        get_queue(queue).enqueue(func, *args, job_id=full_id, result_ttl=0, failure_ttl=86400,
                                 job_timeout=120, **kwargs)
        return True
    except Exception as exc:  # Redis down: the sweeper will pick the row up
        log.warning("enqueue %s failed (%s); the sweeper will retry", full_id, exc.__class__.__name__)
        return False


_worker_app = None


def job(func):
    """Run an RQ job inside a fresh app context with its own session, so one job's
    state never leaks into the next in a long-lived worker."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        # Called inline (a test, a CLI command) in an app context: the caller's session.
        # Run by a worker: always a context and session of its own, also when the worker
        # process sits in an app context (the flask CLI pushes one for every command):
        # a job that ends without a commit must not leave a transaction open for the
        # next one (on SQLite, a write lock that stops everyone else).
        if has_app_context() and get_current_job() is None:
            return func(*args, **kwargs)
        global _worker_app
        if _worker_app is None:
            from backend import create_app

            _worker_app = create_app()
        with _worker_app.app_context():
            try:
                return func(*args, **kwargs)
            finally:
                db.session.remove()

    return wrapper

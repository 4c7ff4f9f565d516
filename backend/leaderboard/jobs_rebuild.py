"""Rebuild and drift check, shared by the CLI, the admin API, the RQ job and the sweeper.

A marker key says the boards in Redis were built: a rebuild writes it when it starts
(with the job's timeout as its expiry, so a rebuild that died is retried) and for good
when it ends. A Redis that lost its data has no marker, and the sweeper then enqueues
a rebuild by itself: the boards come back from the database without an operator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app

from backend.auth import profiles
from backend.extensions import redis_client
from backend.leaderboard import boards, rebuild
from backend.queue import get_queue, job
from backend.timeutil import utcnow

log = logging.getLogger(__name__)
REBUILD_TIMEOUT = 3600  # seconds: the job's timeout, and how long a started rebuild holds the marker


def _marker(prefix: str) -> str:
    return f"{prefix}:lb:built"


def rebuild_all(progress: Callable[[int], None] | None = None) -> int:
    """Recompute every board Redis keeps; returns how many were written (one progress
    step each). Events the database already reflects are marked applied, so a late
    or replayed one is a no-op."""
    prefix = current_app.config["FISSION"].queue_prefix
    now = utcnow()
    conn = redis_client()
    conn.set(_marker(prefix), "rebuilding", ex=REBUILD_TIMEOUT)
    pending = {(b.metric, b.kind, b.key): b for b in rebuild.live_boards(prefix, now)}
    for name, rows in rebuild.computed_boards(now):
        boards.replace(conn, pending.pop(name), rows)
        if progress:
            progress(1)
    for board in pending.values():  # nothing in the database: the board is emptied
        boards.replace(conn, board, [])
        if progress:
            progress(1)
    for metric, ids in rebuild.recent_events(now).items():
        boards.mark_seen(conn, prefix, metric, ids, now)
    profiles.warm_all(rebuild.board_population())  # board reads then find every name in Redis
    conn.set(_marker(prefix), now.isoformat())
    return len(rebuild.live_boards(prefix, now))


def rebuild_steps() -> int:
    """How many progress steps rebuild_all reports: one per board."""
    return len(rebuild.live_boards(current_app.config["FISSION"].queue_prefix))


def check_all(metric: str | None = None, kind: str | None = None) -> list[dict]:
    """Boards whose Redis scores differ from the database's."""
    prefix = current_app.config["FISSION"].queue_prefix
    conn = redis_client()
    computed = dict(rebuild.computed_boards())
    report = []
    for board in rebuild.live_boards(prefix):
        if (metric and board.metric != metric) or (kind and board.kind != kind):
            continue
        members = rebuild.drift(conn, board, computed.get((board.metric, board.kind, board.key), []))
        if members:
            report.append({"metric": board.metric, "period": board.kind, "period_key": board.key,
                           "members": members})
    return report


@job
def rebuild_job() -> int:
    from rq import get_current_job

    current = get_current_job()
    total = rebuild_steps()
    done = {"steps": 0}

    def progress(n: int) -> None:
        done["steps"] += n
        if current is not None:
            current.meta.update(steps=done["steps"], total_steps=total, percent=round(100 * done["steps"] / total))
            current.save_meta()

    return rebuild_all(progress)


def enqueue_rebuild() -> str:
    job_ = get_queue("default").enqueue(rebuild_job, job_timeout=REBUILD_TIMEOUT, result_ttl=86400)
    return job_.id


def enqueue_rebuild_if_lost() -> bool:
    """For the sweeper: enqueue a rebuild when Redis holds no built boards (it lost its
    data, or this is a new install). Taking the marker first (SET NX) makes one
    sweeper enqueue it once. False when nothing was needed or Redis is unreachable."""
    try:
        if not redis_client().set(_marker(current_app.config["FISSION"].queue_prefix), "queued",
                                  nx=True, ex=REBUILD_TIMEOUT):
            return False
        log.warning("leaderboards: Redis holds no built boards; rebuilding them from the database")
        enqueue_rebuild()
        return True
    except Exception as exc:  # Redis down: the next sweep asks again
        log.warning("leaderboard rebuild check failed (%s)", exc.__class__.__name__)
        return False

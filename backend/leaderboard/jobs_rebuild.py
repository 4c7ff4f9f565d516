"""Rebuild and drift check, shared by the CLI, the admin API and the RQ job."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from backend.extensions import redis_client
from backend.leaderboard import boards, rebuild
from backend.queue import get_queue, job
from backend.timeutil import utcnow


def rebuild_all(progress: Callable[[int], None] | None = None) -> int:
    """Recompute every board Redis keeps; returns how many were written. Events the
    database already reflects are marked applied, so a late or replayed one is a no-op."""
    prefix = current_app.config["FISSION"].queue_prefix
    now = utcnow()
    computed = rebuild.compute(progress, now)
    recent = rebuild.recent_events(now)
    conn = redis_client()
    written = 0
    for board, standings in rebuild.live_boards(computed, prefix, now):
        boards.replace(conn, board, rebuild.rows_of(standings))
        written += 1
        if progress:
            progress(1)
    for metric, ids in recent.items():
        boards.mark_seen(conn, prefix, metric, ids, now)
    return written


def rebuild_steps() -> int:
    """How many progress steps rebuild_all reports: the computation, then each board."""
    prefix = current_app.config["FISSION"].queue_prefix
    return rebuild.COMPUTE_STEPS + sum(1 for _ in rebuild.live_boards(rebuild.Computed(), prefix))


def check_all(metric: str | None = None, kind: str | None = None) -> list[dict]:
    """Boards whose Redis scores differ from the database's."""
    prefix = current_app.config["FISSION"].queue_prefix
    conn = redis_client()
    report = []
    for board, standings in rebuild.live_boards(rebuild.compute(), prefix):
        if (metric and board.metric != metric) or (kind and board.kind != kind):
            continue
        members = rebuild.drift(conn, board, standings)
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
    job_ = get_queue("default").enqueue(rebuild_job, job_timeout=3600, result_ttl=86400)
    return job_.id

"""Rebuild and drift check, shared by the CLI, the admin API and the RQ job."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from backend.extensions import redis_client
from backend.leaderboard import rebuild
from backend.queue import get_queue, job


def rebuild_all(progress: Callable[[int], None] | None = None) -> int:
    """Recompute every board Redis still keeps; returns how many were written."""
    prefix = current_app.config["FISSION"].queue_prefix
    computed = rebuild.compute(progress)
    conn = redis_client()
    written = 0
    for board, standings, events in rebuild.live_boards(computed, prefix):
        rebuild.write(conn, board, standings, events)
        written += 1
    return written


def check_all(metric: str | None = None, kind: str | None = None) -> list[dict]:
    """Boards whose Redis scores differ from the database's."""
    prefix = current_app.config["FISSION"].queue_prefix
    conn = redis_client()
    report = []
    for board, standings, _events in rebuild.live_boards(rebuild.compute(), prefix):
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
    done = {"rows": 0}

    def progress(n: int) -> None:
        done["rows"] += n
        if current is not None:
            current.meta["rows"] = done["rows"]
            current.save_meta()

    return rebuild_all(progress)


def enqueue_rebuild() -> str:
    job_ = get_queue("default").enqueue(rebuild_job, job_timeout=3600, result_ttl=86400)
    return job_.id

"""The boards' drift check on a schedule, for ``/metrics``.

The check recomputes every board from the database (``jobs_rebuild.check_all``),
seconds to a minute on a big shop: too slow for a scrape. So the sweeper enqueues it
every ``BOARD_DRIFT_CHECK_SECONDS`` (a marker with that expiry, SET NX, makes one
enqueue per interval), the job writes what it found to ``{prefix}:lb:drift`` (a
hash: boards, members, checked_at), and the scrape reads that hash
(``backend/metrics/state.py``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import current_app

from backend.extensions import redis_client
from backend.leaderboard.jobs_rebuild import check_all
from backend.queue import enqueue_once_per, job

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 1800


@dataclass(frozen=True)
class DriftReport:
    boards: int = 0
    members: int = 0
    checked_at: float = 0.0  # Unix time the check ended; 0: never


def _key(prefix: str) -> str:
    return f"{prefix}:lb:drift"


def read_drift(conn) -> DriftReport:
    raw = conn.hgetall(_key(current_app.config["FISSION"].queue_prefix))
    if not raw:
        return DriftReport()
    values = {k.decode(): float(v) for k, v in raw.items()}
    return DriftReport(int(values.get("boards", 0)), int(values.get("members", 0)), values.get("checked_at", 0.0))


@job
def drift_check_job() -> int:
    """Boards that differ from the database, recorded for the scrape."""
    boards = check_all()
    members = sum(len(board["members"]) for board in boards)
    redis_client().hset(_key(current_app.config["FISSION"].queue_prefix),
                        mapping={"boards": len(boards), "members": members, "checked_at": time.time()})
    if boards:
        log.warning("leaderboards: %d board(s) differ from the database (%d members)", len(boards), members)
    return len(boards)


def enqueue_drift_check_if_due() -> bool:
    """For the sweeper: one check per ``BOARD_DRIFT_CHECK_SECONDS``; 0 or less: never.
    False when none was due or Redis is unreachable."""
    cfg = current_app.config["FISSION"]
    if cfg.board_drift_check_seconds <= 0:
        return False
    return enqueue_once_per("lb:drift-due", cfg.board_drift_check_seconds, drift_check_job, job_timeout=CHECK_TIMEOUT)

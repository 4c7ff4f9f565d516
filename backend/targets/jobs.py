"""RQ jobs: closing the due months, refreshing a PK board.

The sweeper asks once per shop day (``enqueue_close_if_due``); closing is idempotent
(the month's row lock), so a second run, by hand (``flask fission targets-close``) or
after a lost acknowledgement, pays nothing. The bonuses' payouts then leave on the
payout rail like any payout (the credit loop picks them up).
"""

from __future__ import annotations

import logging

from flask import current_app

from backend.commission.outbox import enqueue_credit_after_commit
from backend.extensions import redis_client
from backend.queue import enqueue_once, enqueue_once_per, job
from backend.targets import closing, service
from backend.timeutil import shop_today, utcnow

log = logging.getLogger(__name__)


@job
def close_due() -> list[dict]:
    """Close every due month (at most the last three), one transaction for all: a month's
    bonuses are paid together or not at all."""
    # A month with orders still held for risk review waits for their decision (next day's run).
    results = [closing.close(key) for key in closing.due_periods() if not closing.pending_reviews(key)]
    if any(r["payout_ids"] for r in results):
        enqueue_credit_after_commit()
    for result in results:
        log.info("targets closed %s: %d distributors, %d fen", result["period_key"], result["distributors"],
                 result["bonus_fen"])
    return [{k: v for k, v in r.items() if k != "payout_ids"} for r in results]


def enqueue_close_if_due(now=None) -> bool:
    today = shop_today(now or utcnow())
    return enqueue_once_per(f"targets:close:{today.isoformat()}", 26 * 3600, close_due, job_timeout=1800)


@job
def refresh_board(level_id: int, key: str) -> int:
    return service.refresh_board(current_app.config["FISSION"].queue_prefix, redis_client(), level_id, key)


def enqueue_refresh(level_id: int, key: str) -> bool:
    return enqueue_once(refresh_board, level_id, key, job_id=f"targets-board-{level_id}-{key}")

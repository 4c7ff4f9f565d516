"""The periodic sweeper: the database is the source of truth, Redis only a queue.

It re-enqueues payouts a worker has not finished (Redis lost the job, a worker
died, a retry is due), asks WeChat again about refunds whose answer was lost, and
cancels unpaid orders past their deadline. It talks to Redis only to enqueue (and to
notice a Redis that came back empty, whose leaderboards it has rebuilt), so during a
Redis outage it simply finds the same rows again on its next pass.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from backend.commission import payouts
from backend.commission.jobs import enqueue_credit, enqueue_transfers
from backend.extensions import db
from backend.leaderboard.jobs import enqueue_due_campaigns
from backend.leaderboard.jobs_rebuild import enqueue_rebuild_if_lost
from backend.orders import service as orders
from backend.orders.jobs import enqueue_refund
from backend.orders.models import Refund
from backend.timeutil import utcnow

log = logging.getLogger(__name__)


def sweep_once() -> dict:
    cfg = current_app.config["FISSION"]
    stats = {"payouts": 0, "refunds": 0, "cancelled_orders": 0, "campaigns": 0, "board_rebuilds": 0}
    due = payouts.due_payouts(older_than=timedelta(seconds=cfg.payout_sweep_after_seconds))
    db.session.rollback()
    pending = [pid for pid, status in due if status == "pending"]
    if pending and enqueue_credit():  # one batch job credits them all
        stats["payouts"] += len(pending)
    stats["payouts"] += enqueue_transfers([pid for pid, status in due if status != "pending"])

    refund_ids = list(db.session.scalars(select(Refund.id).where(
        Refund.status == "processing", Refund.next_attempt_at <= utcnow()).limit(500)))
    db.session.rollback()
    stats["refunds"] = sum(enqueue_refund(rid) for rid in refund_ids)

    stats["campaigns"] = enqueue_due_campaigns()
    db.session.rollback()
    stats["board_rebuilds"] = int(enqueue_rebuild_if_lost())

    for order_id in orders.expired_unpaid_order_ids():
        try:
            if orders.cancel_if_unpaid(order_id):
                stats["cancelled_orders"] += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("could not cancel order %s", order_id)
    return stats


def run_forever(interval: float = 2.0) -> None:
    while True:
        try:
            stats = sweep_once()
            if any(stats.values()):
                log.info("sweep %s", stats)
        except Exception:
            db.session.rollback()
            log.exception("sweep failed; trying again")
        finally:
            db.session.remove()
        time.sleep(interval)

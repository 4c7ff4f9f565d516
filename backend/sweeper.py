"""The periodic sweeper: the database is the source of truth, Redis only a queue.

It re-enqueues payouts a worker has not finished (Redis lost the job, a worker
died, a retry is due), asks WeChat again about refunds whose answer was lost, and
cancels unpaid orders past their deadline; it also rolls up the dashboard's closed
days and advances today's running figures (``backend/admin/dashboard.py``,
``running_day.py``) and, once a day, has the analytics page's
opening range computed (``backend/analytics/jobs.py``). It talks to Redis only to enqueue (and to
notice a Redis that came back empty, whose leaderboards it has rebuilt), so during a
Redis outage it simply finds the same rows again on its next pass.

Each step is a unit of work of its own (``transactions.unit_of_work``): a read ends
its transaction before the enqueues that follow it, and each expired order is
cancelled, or fails to be, on its own, so one order's trouble neither spoils nor
holds up the others.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from backend.admin import dashboard, running_day
from backend.analytics.jobs import enqueue_warm_if_due
from backend.channel.jobs import enqueue_nightly_if_due as enqueue_channel_health_if_due
from backend.commission import payouts
from backend.commission.jobs import enqueue_credit, enqueue_transfers
from backend.extensions import db
from backend.leaderboard.drift_report import enqueue_drift_check_if_due
from backend.leaderboard.jobs import enqueue_due_campaigns
from backend.leaderboard.jobs_rebuild import enqueue_rebuild_if_lost
from backend.levels.jobs import enqueue_nightly_if_due as enqueue_levels_if_due
from backend.levels.jobs import enqueue_pending as enqueue_level_evaluations
from backend.metrics import events as metrics
from backend.orders import expiry
from backend.orders.jobs import enqueue_refund
from backend.orders.models import Refund
from backend.risk.jobs import enqueue_nightly_if_due as enqueue_risk_if_due
from backend.targets.jobs import enqueue_close_if_due as enqueue_targets_close_if_due
from backend.timeutil import utcnow
from backend.transactions import unit_of_work

log = logging.getLogger(__name__)


def sweep_once() -> dict:
    cfg = current_app.config["FISSION"]
    stats = {"payouts": 0, "refunds": 0, "cancelled_orders": 0, "campaigns": 0, "board_rebuilds": 0,
             "board_drift_checks": 0, "analytics_warm": 0, "levels_nightly": 0, "levels_evaluate": 0,
             "targets_close": 0, "risk_nightly": 0, "channel_health": 0, "daily_stats": 0, "running_day": 0}
    with unit_of_work("sweep: due payouts"):
        due = payouts.due_payouts(older_than=timedelta(seconds=cfg.payout_sweep_after_seconds))
    pending = [pid for pid, status in due if status == "pending"]
    if pending and enqueue_credit():  # one batch job credits them all
        stats["payouts"] += len(pending)
    stats["payouts"] += enqueue_transfers([pid for pid, status in due if status != "pending"])

    with unit_of_work("sweep: due refunds"):
        refund_ids = list(db.session.scalars(select(Refund.id).where(
            Refund.status == "processing", Refund.next_attempt_at <= utcnow()).limit(500)))
    stats["refunds"] = sum(enqueue_refund(rid) for rid in refund_ids)

    with unit_of_work("sweep: due campaigns"):
        stats["campaigns"] = enqueue_due_campaigns()
    stats["board_rebuilds"] = int(enqueue_rebuild_if_lost())
    stats["board_drift_checks"] = int(enqueue_drift_check_if_due())
    stats["analytics_warm"] = int(enqueue_warm_if_due())
    stats["levels_nightly"] = int(enqueue_levels_if_due())
    stats["levels_evaluate"] = int(enqueue_level_evaluations())
    stats["targets_close"] = int(enqueue_targets_close_if_due())
    stats["risk_nightly"] = int(enqueue_risk_if_due())
    stats["channel_health"] = int(enqueue_channel_health_if_due())

    try:
        with unit_of_work("sweep: dashboard daily figures"):
            stats["daily_stats"] = len(dashboard.roll_up_due())
    except Exception:  # rolled back; the next pass tries again, the dashboard counts a missing day live
        log.exception("could not roll up the dashboard's daily figures")
    try:
        with unit_of_work("sweep: today so far"):
            stats["running_day"] = int(running_day.advance())
    except Exception:  # rolled back; the dashboard counts the longer tail live meanwhile
        log.exception("could not advance today's running figures")

    with unit_of_work("sweep: expired orders"):
        expired = expiry.expired_unpaid_order_ids()
    for order_id in expired:
        try:
            with unit_of_work(f"sweep: cancel order {order_id}"):
                cancelled = expiry.cancel_if_unpaid(order_id)
        except Exception:  # rolled back; the next pass tries it again
            log.exception("could not cancel order %s", order_id)
            continue
        stats["cancelled_orders"] += int(cancelled)
    metrics.sweeper_pass(stats)
    return stats


ROUTINE = {"running_day"}  # what every pass does: not worth a log line


def run_forever(interval: float = 2.0) -> None:
    while True:
        try:
            stats = sweep_once()
            # The running day moves on every pass: only a pass that did more is news.
            if any(count for action, count in stats.items() if action not in ROUTINE):
                log.info("sweep %s", stats)
        except Exception:
            db.session.rollback()  # whatever the failed step left: the next pass starts clean
            log.exception("sweep failed; trying again")
        finally:
            db.session.remove()
        time.sleep(interval)

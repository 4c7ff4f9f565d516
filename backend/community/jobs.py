"""RQ jobs of the group-invite funnel."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
from flask import current_app

from backend.community import funnel
from backend.extensions import redis_client
from backend.queue import enqueue_once, job
from backend.timeutil import SHOP_TZ

log = logging.getLogger(__name__)
CATCH_UP_DAYS = 7


@job
def freeze_paid_days() -> int:
    """Count the paid orders of the finished days of the last week into the rollup, so
    the funnel report does not have to. Idempotent: a frozen day is skipped. Returns
    the days of the week still open."""
    today = datetime.now(SHOP_TZ).date()
    open_days = funnel.ensure_paid_rollups(today - timedelta(days=CATCH_UP_DAYS), today + timedelta(days=1))
    return len(open_days)  # the job boundary commits the frozen days


def enqueue_freeze() -> bool:
    """After a shown invite's commit: at most one job an hour, however busy the shop
    (a finished day can be frozen from an hour after its end, funnel.SETTLE)."""
    hour = datetime.now(SHOP_TZ).strftime("%Y%m%d%H")
    key = f"{current_app.config['FISSION'].queue_prefix}:funnel-freeze:{hour}"
    try:
        if not redis_client().set(key, 1, nx=True, ex=2 * 3600):
            return True
    except redis.RedisError as exc:  # the next hour's first invite tries again; reports freeze days too
        log.warning("funnel freeze not enqueued (%s)", exc.__class__.__name__)
        return False
    return enqueue_once(freeze_paid_days, job_id="funnel-freeze-paid-days")

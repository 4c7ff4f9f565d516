"""Keeps the analytics page's opening range computed: the 30 closed days up to yesterday
(T+1), once a Shanghai day, so the first operator of the day does not wait for it.

The sweeper asks ``enqueue_warm_if_due`` on every pass; a marker per day (SET NX) makes
one enqueue. Losing the job or Redis only costs the first reader the live computation.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app

from backend.analytics import service
from backend.extensions import redis_client
from backend.queue import get_queue, job
from backend.timeutil import shop_today, utcnow

log = logging.getLogger(__name__)
OPENING_DAYS = 30  # the console's analytics page opens on these (console/src/views/AnalyticsView.vue)
WARM_TIMEOUT = 1800


def opening_range(today: date) -> tuple[date, date]:
    """``[from, to)``: the last OPENING_DAYS closed days."""
    return today - timedelta(days=OPENING_DAYS), today


@job
def warm_job() -> None:
    service.fission(*opening_range(shop_today()), None)


def enqueue_warm_if_due(now: datetime | None = None) -> bool:
    """Enqueue today's warm-up once the day's opening range is closed. False when it was
    done already, is not due yet, or Redis is unreachable."""
    now = now or utcnow()
    today = shop_today(now)
    if not service.closed(opening_range(today)[1], now):
        return False
    marker = f"{current_app.config['FISSION'].queue_prefix}:analytics:warm:{today.isoformat()}"
    try:
        if not redis_client().set(marker, 1, nx=True, ex=26 * 3600):
            return False
        get_queue("default").enqueue(warm_job, job_timeout=WARM_TIMEOUT, result_ttl=0, failure_ttl=86400)
        return True
    except Exception as exc:  # the next pass asks again
        log.warning("analytics warm-up not enqueued (%s)", exc.__class__.__name__)
        return False

"""Keeps the analytics page's opening range computed: the 30 closed days up to yesterday
(T+1), once a Shanghai day, so the first operator of the day does not wait for it.

The sweeper asks ``enqueue_warm_if_due`` on every pass; a marker per day (SET NX) makes
one enqueue. Losing the job or Redis only costs the first reader the live computation.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from backend.analytics import service
from backend.queue import enqueue_once_per, job
from backend.timeutil import shop_today, utcnow

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
    return enqueue_once_per(f"analytics:warm:{today.isoformat()}", 26 * 3600, warm_job, job_timeout=WARM_TIMEOUT)

"""The risk pass: the distributor-level signals, once per shop day (the sweeper enqueues it)."""

from __future__ import annotations

import logging

from backend.queue import enqueue_once_per, job
from backend.risk import review_pass
from backend.timeutil import shop_today, utcnow

log = logging.getLogger(__name__)


@job
def nightly_job() -> dict:
    stats = review_pass.evaluate()
    log.info("risk nightly pass: %s", stats)
    return stats


def enqueue_nightly_if_due(now=None) -> bool:
    today = shop_today(now or utcnow())
    return enqueue_once_per(f"risk:nightly:{today.isoformat()}", 26 * 3600, nightly_job, job_timeout=600)

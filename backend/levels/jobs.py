"""Level evaluation, off the paid path and off the credit batch.

* After a credit batch commits: ``on_commissions_released`` (inside the batch's
  transaction) does no SQL; once the batch commits it adds the commission ids to one
  Redis set and enqueues one collapsing job (``levels-evaluate``) that empties it and
  evaluates their earners: upgrades apply at once.
* Nightly: the sweeper enqueues ``nightly_job`` once per Asia/Shanghai day (a marker
  per day); ``flask fission levels-evaluate`` runs the same pass by hand or from cron.
  It is the period-end pass too: the month that closed last is judged once per
  distributor (``users.level_checked_period``), however often it runs.

Losing Redis loses at most an early upgrade: the nightly pass makes it.
"""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select

from backend.commission.models import Commission
from backend.extensions import db, redis_client
from backend.levels import service
from backend.queue import enqueue_once, enqueue_once_per, job
from backend.timeutil import shop_today, utcnow
from backend.transactions import after_commit, unit_of_work

log = logging.getLogger(__name__)

EVALUATE_JOB = "backend.levels.jobs.evaluate_released"
BATCH = 1000  # commission ids taken from the set per round
NIGHTLY_TIMEOUT = 1800
CHUNK = 2000  # distributors per transaction of the nightly pass


def todo_key() -> str:
    return f"{current_app.config['FISSION'].queue_prefix}:levels-todo"


def on_commissions_released(sender, commission_ids: list[int]) -> None:
    if commission_ids:
        after_commit(queue_evaluation, list(commission_ids))


def queue_evaluation(commission_ids: list[int]) -> None:
    """After the credit batch's commit: Redis only (a set add and, at most once per
    ``level_evaluate_gap_ms``, a collapsing enqueue). Under load a credit batch commits
    every 0.1 s; evaluating after each one measured the same busy distributors ten times
    a second (bench/payout_latency.py: PostgreSQL's CPU per paid order). Ids that arrive
    inside the gap are taken by the next run, or by the sweeper's (``enqueue_pending``)."""
    gap_ms = current_app.config["FISSION"].level_evaluate_gap_ms
    try:
        conn = redis_client()
        conn.sadd(todo_key(), *commission_ids)
        if gap_ms > 0 and not conn.set(f"{todo_key()}:gap", 1, nx=True, px=gap_ms):
            return
    except Exception as exc:  # the nightly pass evaluates them anyway
        log.warning("level evaluation of %d commissions not queued: %s", len(commission_ids),
                    exc.__class__.__name__)
        return
    enqueue_once(EVALUATE_JOB, job_id="levels-evaluate", queue="default")


def enqueue_pending() -> bool:
    """The sweeper's pass: commissions queued for evaluation and no run coming (they
    arrived inside the gap and no credit batch came after it)."""
    try:
        conn = redis_client()
        if not conn.scard(todo_key()) or conn.exists(f"{todo_key()}:gap"):
            return False
    except Exception:  # Redis down: nothing is queued that the nightly pass would not do
        return False
    return enqueue_once(EVALUATE_JOB, job_id="levels-evaluate", queue="default")


@job
def evaluate_released() -> dict:
    """Evaluate the earners of the commissions queued since the last run (upgrades only:
    downgrades wait for the period end)."""
    stats = {"evaluated": 0, "upgrades": 0, "downgrades": 0, "grace": 0}
    conn = redis_client()
    while True:
        ids = [int(x) for x in conn.spop(todo_key(), BATCH) or []]
        if not ids:
            return stats
        user_ids = sorted(set(db.session.scalars(select(Commission.user_id).where(Commission.id.in_(ids)))))
        for name, value in service.evaluate(user_ids).items():
            stats[name] += value
        if len(ids) < BATCH:
            return stats


def nightly(now=None, chunk: int = CHUNK) -> dict:
    """Every distributor with sales in a window or a level: upgrades, and the period end.
    The candidates are read once; then one transaction per ``chunk`` of them (in id
    order): their rows are locked only for the time of their own chunk, never for the
    whole pass. A distributor approved after the first read waits for the next night."""
    now = now or utcnow()
    stats = {"evaluated": 0, "upgrades": 0, "downgrades": 0, "grace": 0}
    with unit_of_work("levels: nightly candidates and figures"):
        ids = service.candidate_ids(now)
        # one grouped statement per window over the whole shop: measured per chunk
        # (IN lists on level1_id/level2_id) the orders were fetched from all over the
        # table again for every chunk, 121 s at a million users (bench/levels.py)
        figures = service.figures_by_window(service.all_levels(), now) if ids else {}
    for start in range(0, len(ids), chunk):
        with unit_of_work("levels: nightly chunk"):
            for name, value in service.evaluate(ids[start:start + chunk], now=now, period_end=True,
                                                figures=figures).items():
                stats[name] += value
    return stats


@job
def nightly_job() -> dict:
    stats = nightly()
    log.info("levels nightly pass: %s", stats)
    return stats


def enqueue_nightly_if_due(now=None) -> bool:
    """The sweeper asks every pass; one enqueue per shop day."""
    today = shop_today(now or utcnow())
    return enqueue_once_per(f"levels:nightly:{today.isoformat()}", 26 * 3600, nightly_job,
                            job_timeout=NIGHTLY_TIMEOUT)

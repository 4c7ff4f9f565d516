"""Gauges of state, read at scrape time from the database and Redis (a Collector).

Counted per process and summed, a gauge of "payouts in processing" or "jobs waiting"
would be as wrong as the last process that forgot to set it; read when scraped, it
is what the database and Redis say. Each source that cannot be read is reported by
``fission_metrics_source_up{source=…} 0`` and leaves its gauges out, never the scrape.
"""

from __future__ import annotations

import logging
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily
from rq.job import Job
from sqlalchemy import func, select

from backend.commission.models import PAYOUT_STATUSES, Payout
from backend.commission.settings import PAYOUT_RAILS
from backend.extensions import db, redis_client
from backend.leaderboard.drift_report import read_drift
from backend.queue import QUEUES, get_queue
from backend.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

# Not finished yet: how long the oldest has been in its status says whether it is stuck.
OPEN_STATUSES = ("pending", "submitting", "wait_user_confirm", "processing")
# An at_front credit job may stand before the oldest job: look at this many from the head.
HEAD_JOBS = 3


class StateCollector:
    """Registered on the scrape's registry inside the request's app context."""

    def collect(self):
        up = GaugeMetricFamily("fission_metrics_source_up", "1 if the scrape could read the source", labels=["source"])
        for source, read in (("db", self._database), ("redis", self._redis)):
            try:
                families = list(read())
            except Exception as exc:  # the scrape goes on without this source
                log.warning("metrics: %s not readable (%s)", source, exc.__class__.__name__)
                if source == "db":
                    db.session.rollback()
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up

    def _database(self):
        counts = {(status, rail): 0 for status in PAYOUT_STATUSES for rail in PAYOUT_RAILS}
        for status, rail, n in db.session.execute(
                select(Payout.status, Payout.rail, func.count()).group_by(Payout.status, Payout.rail)):
            counts[(status, rail)] = n
        payouts = GaugeMetricFamily("fission_payouts", "Payouts by status and rail (the database, at scrape time)",
                                    labels=["status", "rail"])
        for (status, rail), n in sorted(counts.items()):
            payouts.add_metric([status, rail], n)
        yield payouts

        since = func.coalesce(Payout.submitted_at, Payout.created_at)
        oldest = GaugeMetricFamily("fission_payouts_oldest_age_seconds",
                                   "Age of the oldest unfinished payout per status (since its submission, or its "
                                   "creation if never submitted); 0 when there is none", labels=["status"])
        now = utcnow()
        found = dict(db.session.execute(select(Payout.status, func.min(since))
                                        .where(Payout.status.in_(OPEN_STATUSES)).group_by(Payout.status)).all())
        for status in OPEN_STATUSES:
            oldest.add_metric([status], _age(now, found.get(status)))
        yield oldest

    def _redis(self):
        depth = GaugeMetricFamily("fission_queue_jobs", "Jobs waiting in each RQ queue", labels=["queue"])
        age = GaugeMetricFamily("fission_queue_oldest_job_age_seconds",
                                "Seconds the oldest waiting job of each RQ queue has waited; 0 when empty",
                                labels=["queue"])
        failed = GaugeMetricFamily("fission_queue_failed_jobs", "Jobs in each queue's failed registry (kept 24 h)",
                                   labels=["queue"])
        workers = GaugeMetricFamily("fission_queue_workers", "RQ workers listening on each queue", labels=["queue"])
        now = utcnow()
        for name in QUEUES:
            queue = get_queue(name)
            depth.add_metric([name], queue.count)
            enqueued = [job.enqueued_at for job in Job.fetch_many(queue.get_job_ids(0, HEAD_JOBS - 1),
                                                                  connection=queue.connection)
                        if job is not None and job.enqueued_at is not None]
            age.add_metric([name], _age(now, min(enqueued, default=None)))
            failed.add_metric([name], queue.failed_job_registry.count)
            workers.add_metric([name], queue.connection.scard(f"rq:workers:{queue.name}"))
        yield from (depth, age, failed, workers)

        report = read_drift(redis_client())
        boards = GaugeMetricFamily("fission_board_drift_boards",
                                   "Leaderboards whose Redis scores differed from the database at the last check")
        members = GaugeMetricFamily("fission_board_drift_members", "Members with a differing score at the last check")
        checked = GaugeMetricFamily("fission_board_drift_checked_timestamp_seconds",
                                    "When the last drift check ended (Unix time); 0: never")
        boards.add_metric([], report.boards)
        members.add_metric([], report.members)
        checked.add_metric([], report.checked_at)
        yield from (boards, members, checked)


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - as_utc(then)).total_seconds()) if then is not None else 0.0

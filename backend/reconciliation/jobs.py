"""Batch runs: generate a cycle's statements, then export and send them.

The same functions serve the RQ jobs (progress in the run row, read by the API)
and the CLI (progress bar). Each step commits on its own: a step is idempotent, so
a run that dies half-way is finished by running it again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError, OperationalError

from backend.errors import ApiError
from backend.extensions import db
from backend.queue import get_queue, job, queue_name
from backend.reconciliation import mail, sending
from backend.reconciliation import statements as engine
from backend.reconciliation.models import Statement, StatementRun
from backend.reconciliation.periods import parse_month
from backend.timeutil import utcnow
from backend.transactions import is_deadlock

log = logging.getLogger(__name__)
Progress = Callable[[int], None] | None


def get_run(run_id: int) -> StatementRun:
    run = db.session.get(StatementRun, run_id)
    if run is None:
        raise ApiError("STATEMENT_RUN_NOT_FOUND", f"No statement run {run_id}")
    return run


def open_run(side: str, cycle: str, month: str) -> StatementRun:
    """The run of this side, cycle and month (one each: running again reuses it)."""
    parse_month(month)
    run = db.session.query(StatementRun).filter_by(side=side, cycle=cycle, month=month).one_or_none()
    if run is None:
        run = StatementRun(side=side, cycle=cycle, month=month, state="queued")
        try:
            with db.session.begin_nested():
                db.session.add(run)
        except IntegrityError:
            run = db.session.query(StatementRun).filter_by(side=side, cycle=cycle, month=month).one()
    return run


def generate(run_id: int, progress: Progress = None) -> dict:
    run = get_run(run_id)
    steps = engine.plan(run.side, run.cycle, *parse_month(run.month))
    run.state, run.progress_done, run.progress_total, run.error = "generating", 0, len(steps), ""
    db.session.commit()
    side, cycle = run.side, run.cycle
    for done, step in enumerate(steps, start=1):
        made, lines = generate_period(side, cycle, step, run_id)
        run = get_run(run_id)
        run.statements += made
        run.lines += lines
        run.progress_done = done
        db.session.commit()
        if progress:
            progress(1)
    run = get_run(run_id)
    run.state, run.generated_at = "generated", utcnow()
    db.session.commit()
    return {"statements": run.statements, "lines": run.lines}


def generate_period(side: str, cycle: str, step: engine.Step, run_id: int | None) -> tuple[int, int]:
    """One period's statements; the caller commits."""
    for attempt in (1, 2, 3):
        try:
            return engine.generate_step(side, cycle, step, run_id)
        except (IntegrityError, OperationalError) as exc:
            # A racing run made this period's statements first (unique number) or
            # InnoDB picked us as a deadlock victim: the winner's commit is now
            # visible, so the next attempt finds its statements and adds nothing.
            db.session.rollback()
            if attempt == 3 or not _lost_a_race(exc):
                raise
            log.info("statements of %s to %s: lost a race (%s); checking again", step.start, step.end,
                     exc.orig.__class__.__name__)
    raise AssertionError("unreachable")


def _lost_a_race(exc: Exception) -> bool:
    return isinstance(exc, IntegrityError) or is_deadlock(exc)


def check_sendable(run: StatementRun) -> None:
    """A run is sent once its statements are made: before that (or while a generation runs
    again) there is nothing, or not everything, to send, and "done" would be a lie."""
    if run.generated_at is None or run.state in ("queued", "generating"):
        raise ApiError("STATEMENT_STATE_CONFLICT",
                       f"Statement run {run.id} is {run.state}: generate its statements before sending")


def send(run_id: int, progress: Progress = None, settings: mail.SmtpSettings | None = None) -> dict:
    settings = settings or mail.SmtpSettings.from_env()
    run = get_run(run_id)
    check_sendable(run)
    ids = sending.run_statements(run_id)
    run.state, run.progress_done, run.progress_total = "sending", 0, len(ids)
    db.session.commit()
    if not settings.enabled:
        log.warning("SMTP_HOST is not set: statements are exported but NOT mailed; the log says so")
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    for done, statement_id in enumerate(ids, start=1):
        result = sending.send_statement(db.session.get(Statement, statement_id), run_id, settings)
        for key, value in result.items():
            counts[key] += value
        run = get_run(run_id)
        run.progress_done = done
        db.session.commit()
        if progress:
            progress(1)
    # Done only when every recipient of every statement has its file. Under the run's row
    # lock: of two senders finishing together, the later one sees the other's sends.
    run = db.session.get(StatementRun, run_id, with_for_update=True, populate_existing=True)
    if sending.run_all_sent(run_id):
        run.state, run.done_at = "done", utcnow()
    else:
        run.state = "send_failed"
    db.session.commit()
    return {**counts, "state": run.state}


@job
def generate_job(run_id: int) -> dict:
    try:
        return generate(run_id)
    except Exception as exc:
        _fail(run_id, exc)
        raise


@job
def send_job(run_id: int) -> dict:
    try:
        return send(run_id)
    except ApiError as exc:
        if exc.code != "STATEMENT_STATE_CONFLICT":
            _fail(run_id, exc)
            raise
        db.session.rollback()  # a generation started again meanwhile: leave its state alone
        log.warning("statement run %s not sent: %s", run_id, exc.message)
        return {"state": get_run(run_id).state}
    except Exception as exc:
        _fail(run_id, exc)
        raise


def _fail(run_id: int, exc: Exception) -> None:
    db.session.rollback()
    run = get_run(run_id)
    run.state, run.error = "failed", f"{exc.__class__.__name__}: {exc}"[:500]
    db.session.commit()


def enqueue(kind: str, run_id: int) -> str:
    """After the commit that made the run. Jobs are idempotent, a duplicate is harmless."""
    func = generate_job if kind == "generate" else send_job
    job_ = get_queue("default").enqueue(func, run_id, job_id=f"{queue_name('recon')}-{kind}-{run_id}",
                                        job_timeout=3600, result_ttl=86400, failure_ttl=86400)
    return job_.id

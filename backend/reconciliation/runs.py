"""Statement runs: generate a cycle's statements, then export and send them.

The same functions serve the RQ jobs (progress in the run row, read by the API) and
the CLI (progress bar). Each step is a unit of work of its own (``unit_of_work``: it
commits at its end): a step is idempotent, so a run that dies half-way is finished by
running it again, and the progress the API shows is what has been committed.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from backend.apidoc import get_or_404
from backend.db_errors import is_deadlock
from backend.errors import ApiError
from backend.extensions import db
from backend.queue import get_queue, queue_name
from backend.reconciliation import mail, sending
from backend.reconciliation import statements as engine
from backend.reconciliation.models import Delivery, Statement, StatementRun
from backend.reconciliation.periods import parse_month
from backend.timeutil import utcnow
from backend.transactions import after_commit, unit_of_work

log = logging.getLogger(__name__)
Progress = Callable[[int], None] | None


def get_run(run_id: int) -> StatementRun:
    return get_or_404(StatementRun, run_id)


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


def start_generation(side: str, cycle: str, month: str) -> tuple[StatementRun, str]:
    """Open (or reuse) the run, mark it queued and have its generation job enqueued once
    the caller's transaction commits. Returns the run and the RQ job id it will get."""
    run = open_run(side, cycle, month)
    run.state = "queued"
    db.session.flush()
    return run, enqueue_after_commit("generate", run.id)


def start_sending(run_id: int) -> tuple[StatementRun, str]:
    """Refuse a run that is not generated yet; else its send job is enqueued after the commit."""
    run = get_run(run_id)
    check_sendable(run)
    return run, enqueue_after_commit("send", run.id)


def check_sendable(run: StatementRun) -> None:
    """A run is sent once its statements are made: before that (or while a generation runs
    again) there is nothing, or not everything, to send, and "done" would be a lie."""
    if run.generated_at is None or run.state in ("queued", "generating"):
        raise ApiError("STATEMENT_STATE_CONFLICT",
                       f"Statement run {run.id} is {run.state}: generate its statements before sending")


def deliveries(run_id: int) -> list[Delivery]:
    """The delivery log: one row per statement version and recipient, for every
    statement of the run (also those settled or voided since: the log is history)."""
    get_run(run_id)
    of_run = select(Statement.id).where(Statement.run_id == run_id)
    return db.session.scalars(select(Delivery).where(Delivery.statement_id.in_(of_run))
                              .order_by(Delivery.statement_id, Delivery.version, Delivery.recipient)).all()


def unsent(run_id: int) -> list[Delivery]:
    return db.session.scalars(select(Delivery).where(
        Delivery.statement_id.in_(sending.run_statements(run_id)), Delivery.state != "sent")).all()


def generate(run_id: int, progress: Progress = None) -> dict:
    """Every period of the run, one unit of work each, with the run's progress."""
    with unit_of_work(f"statement run {run_id}: start generating"):
        run = get_run(run_id)
        steps = engine.plan(run.side, run.cycle, *parse_month(run.month))
        run.state, run.progress_done, run.progress_total, run.error = "generating", 0, len(steps), ""
        side, cycle = run.side, run.cycle
    for done, step in enumerate(steps, start=1):
        with unit_of_work(f"statement run {run_id}: period {step.start} to {step.end}"):
            made, lines = generate_period(side, cycle, step, run_id)
            run = get_run(run_id)
            run.statements += made
            run.lines += lines
            run.progress_done = done
        if progress:
            progress(1)
    with unit_of_work(f"statement run {run_id}: generated"):
        run = get_run(run_id)
        run.state, run.generated_at = "generated", utcnow()
        result = {"statements": run.statements, "lines": run.lines}
    return result


def generate_period(side: str, cycle: str, step: engine.Step, run_id: int | None) -> tuple[int, int]:
    """One period's statements; the caller's unit of work commits them."""
    for attempt in (1, 2, 3):
        try:
            return engine.generate_step(side, cycle, step, run_id)
        except (IntegrityError, OperationalError) as exc:
            # A racing run made this period's statements first (unique number) or
            # InnoDB picked us as a deadlock victim: the winner's commit is now
            # visible, so the next attempt finds its statements and adds nothing.
            # The rollback discards only this period: earlier ones are committed.
            db.session.rollback()
            if attempt == 3 or not _lost_a_race(exc):
                raise
            log.info("statements of %s to %s: lost a race (%s); checking again", step.start, step.end,
                     exc.orig.__class__.__name__)
    raise AssertionError("unreachable")


def _lost_a_race(exc: Exception) -> bool:
    return isinstance(exc, IntegrityError) or is_deadlock(exc)


def send(run_id: int, progress: Progress = None, settings: mail.SmtpSettings | None = None) -> dict:
    """Export and mail every statement of the run; the run is ``done`` only when every
    recipient of every statement has its file."""
    settings = settings or mail.SmtpSettings.from_env()
    with unit_of_work(f"statement run {run_id}: start sending"):
        run = get_run(run_id)
        check_sendable(run)
        ids = sending.run_statements(run_id)
        run.state, run.progress_done, run.progress_total = "sending", 0, len(ids)
    if not settings.enabled:
        log.warning("SMTP_HOST is not set: statements are exported but NOT mailed; the log says so")
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    for done, statement_id in enumerate(ids, start=1):
        for key, value in sending.send_statement(statement_id, run_id, settings).items():
            counts[key] += value
        with unit_of_work(f"statement run {run_id}: progress"):
            get_run(run_id).progress_done = done
        if progress:
            progress(1)
    with unit_of_work(f"statement run {run_id}: sent"):
        # Under the run's row lock: of two senders finishing together, the later one sees
        # the other's sends.
        run = db.session.get(StatementRun, run_id, with_for_update=True, populate_existing=True)
        if sending.run_all_sent(run_id):
            run.state, run.done_at = "done", utcnow()
        else:
            run.state = "send_failed"
        state = run.state
    return {**counts, "state": state}


def record_failure(run_id: int, exc: Exception) -> None:
    """The run failed: what its current step did is rolled back, the failure is kept."""
    db.session.rollback()
    with unit_of_work(f"statement run {run_id}: failed"):
        run = get_run(run_id)
        run.state, run.error = "failed", f"{exc.__class__.__name__}: {exc}"[:500]


# The jobs by name (RQ imports them when it runs them): the service decides when a job
# runs, ``jobs`` calls the service, and neither module imports the other.
JOBS = {"generate": "backend.reconciliation.jobs.generate_job", "send": "backend.reconciliation.jobs.send_job"}


def enqueue_after_commit(kind: str, run_id: int) -> str:
    """Enqueue the run's generate or send job once the transaction that decided it
    commits (never before: the job reads the run). Returns the job's id, known now so
    the answer can carry it. A run takes long (``job_timeout`` one hour), so this is not
    ``queue.enqueue_once`` with its two minutes; a duplicate is harmless (idempotent)."""
    job_id = f"{queue_name('recon')}-{kind}-{run_id}-{secrets.token_hex(6)}"
    after_commit(_enqueue, JOBS[kind], run_id, job_id)
    return job_id


def _enqueue(func: str, run_id: int, job_id: str) -> None:
    get_queue("default").enqueue(func, run_id, job_id=job_id, job_timeout=3600, result_ttl=86400,
                                 failure_ttl=86400)

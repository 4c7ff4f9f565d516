"""Batch send: each statement's file to each of its counterparty's recipients, with a
delivery log row per recipient.

Before a file leaves, three things must agree: the log row's counterparty, the
counterparty the export was written for (and the hash of the file on disk), and the
statement and counterparty the file names inside itself; the recipient must be one
of that counterparty's addresses now. Anything else fails the row unsent, so a
wrong attachment cannot go out. A re-run skips rows already ``sent``; a row is taken
for sending by one UPDATE (``pending``/``failed`` -> ``sending``), so two senders of the
same run at once never mail the same recipient twice.

Each step is a unit of work of its own (the export with its log rows; each recipient's
claim, send and outcome), and the claim is committed before the SMTP call
(``commit_before_remote_call``), so no transaction waits on a mail server and a row
taken for sending is visible to every other sender while the mail goes out.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from backend.config import INSTANCE_DIR
from backend.extensions import db
from backend.reconciliation import exports, mail
from backend.reconciliation.models import Counterparty, Delivery, Statement, StatementExport
from backend.reconciliation.workflow import transition
from backend.timeutil import utcnow
from backend.transactions import commit_before_remote_call, unit_of_work

SENDABLE = ("draft", "sent", "disputed", "confirmed")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
log = logging.getLogger(__name__)


def export_dir() -> Path:
    return Path(os.environ.get("RECON_EXPORT_DIR") or INSTANCE_DIR / "exports")


def _log_rows(statement: Statement, cp: Counterparty, run_id: int | None) -> list[int]:
    """The ids of the log rows of this version, one per recipient, made if missing. A
    sender running at the same time may make them first: its rows are used then."""
    addresses = mail.recipients(cp.email) or [""]

    def existing() -> dict[str, int]:
        return dict(db.session.execute(select(Delivery.recipient, Delivery.id).where(
            Delivery.statement_id == statement.id, Delivery.version == statement.version)).all())

    found = existing()
    for address in addresses:
        if address not in found:
            try:
                with db.session.begin_nested():
                    db.session.add(Delivery(run_id=run_id, statement_id=statement.id, version=statement.version,
                                            counterparty_id=cp.id, recipient=address, state="pending",
                                            attempts=0, error=""))
            except IntegrityError:  # the other sender's row
                pass
    found = existing()
    return [found[a] for a in addresses]


def _claim(delivery_id: int, export_id: int, stale_after: timedelta) -> bool:
    """Take a log row for sending, in the database: a row that is sent, or that another
    sender took a moment ago, is not ours. A row left ``sending`` by a sender that died
    is taken again once it is older than ``stale_after``."""
    now = utcnow()
    claimed = db.session.execute(
        update(Delivery).where(Delivery.id == delivery_id, or_(
            Delivery.state.in_(("pending", "failed")),
            and_(Delivery.state == "sending", Delivery.updated_at < now - stale_after)))
        .values(state="sending", attempts=Delivery.attempts + 1, export_id=export_id, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    return claimed == 1


def _refusal(delivery: Delivery, statement: Statement, export: StatementExport) -> str | None:
    """Why this file must not go to this recipient, or None when everything agrees."""
    cp = db.session.get(Counterparty, delivery.counterparty_id)
    path = Path(export.path)
    if not delivery.recipient:
        return f"{cp.code} has no e-mail address"
    if delivery.recipient not in mail.recipients(cp.email):
        return f"{delivery.recipient} is no longer an address of {cp.code}"
    if not (export.counterparty_id == delivery.counterparty_id == statement.counterparty_id):
        return "the export belongs to another counterparty"
    if not path.is_file() or exports.sha256(path) != export.sha256:
        return "the file on disk is not the one that was exported"
    marker = exports.read_marker(path)
    if marker.get("counterparty_code") != cp.code or marker.get("statement_id") != str(statement.id) \
            or marker.get("version") != str(statement.version):
        return f"the file names {marker.get('counterparty_code')!r}/{marker.get('number')!r}, not {cp.code}"
    return None


class Unsendable(Exception):
    """This statement cannot be exported or mailed as it is (its rows fail, not the run)."""


def send_statement(statement_id: int, run_id: int | None, settings: mail.SmtpSettings,
                   fmt: str = "xlsx") -> dict:
    """Export (or reuse) and send to every recipient not yet served, one unit of work a step.
    A statement that cannot be exported fails its own log rows, never the run."""
    try:
        with unit_of_work(f"statement {statement_id}: export and log rows"):
            statement = db.session.get(Statement, statement_id)
            cp = db.session.get(Counterparty, statement.counterparty_id)
            problem = exports.unsendable(cp)
            if problem:
                raise Unsendable(problem)
            export = exports.export(statement, fmt, export_dir() / f"{statement.side}-{statement.period_end:%Y%m}")
            export_id = export.id
            subject = f"对账单 Statement {statement.number} ({cp.name})"
            body = (f"{cp.name}:\n\nAttached is statement {statement.number} for "
                    f"{statement.period_start} – {statement.period_end}.\n")
            delivery_ids = _log_rows(statement, cp, run_id)
    except Exception as exc:  # noqa: BLE001 - one bad statement must not end the run
        reason = str(exc) if isinstance(exc, Unsendable) else f"export failed: {exc.__class__.__name__}: {exc}"
        log.warning("statement %s not sent: %s", statement_id, reason)
        return {"sent": 0, "failed": _fail_unsent(statement_id, run_id, reason), "skipped": 0}
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    stale_after = timedelta(seconds=max(300.0, 6 * settings.timeout))
    for delivery_id in delivery_ids:
        with unit_of_work(f"statement {statement_id}: delivery {delivery_id}"):
            if not _claim(delivery_id, export_id, stale_after):  # sent already, or being sent by another run
                counts["skipped"] += 1
                continue
            delivery = db.session.get(Delivery, delivery_id)
            statement = db.session.get(Statement, statement_id)
            export = db.session.get(StatementExport, export_id)
            reason = _refusal(delivery, statement, export)
            if reason is None:
                recipient, attachment = delivery.recipient, Path(export.path)
                commit_before_remote_call()  # the claim is in; no transaction waits on SMTP
                reason = _mail(settings, recipient, subject, body, attachment, exports.CONTENT_TYPES[fmt])
            counts["sent" if reason is None else "failed"] += 1
            _record(delivery_id, reason)
    with unit_of_work(f"statement {statement_id}: sent"):
        # under the statement's row lock: a sender running at the same time may have moved it already
        statement = db.session.scalar(select(Statement).where(Statement.id == statement_id).with_for_update()
                                      .execution_options(populate_existing=True))
        if statement.state == "draft" and _all_sent(statement):
            transition(statement.id, "send", None, note="mailed to every recipient")
    return counts


def _fail_unsent(statement_id: int, run_id: int | None, reason: str) -> int:
    """Every log row of the statement's version not sent yet is failed with ``reason``."""
    reason = _CONTROL.sub("?", reason)[:500]
    with unit_of_work(f"statement {statement_id}: not sendable"):
        statement = db.session.get(Statement, statement_id)
        cp = db.session.get(Counterparty, statement.counterparty_id)
        ids = _log_rows(statement, cp, run_id)
        return db.session.execute(
            update(Delivery).where(Delivery.id.in_(ids), Delivery.state.in_(("pending", "failed")))
            .values(state="failed", error=reason, attempts=Delivery.attempts + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)).rowcount


def _mail(settings: mail.SmtpSettings, recipient: str, subject: str, body: str, attachment: Path,
          content_type: str) -> str | None:
    """Send one message; the reason it was not sent, or None."""
    try:
        mail.send(settings, recipient, subject, body, attachment, content_type)
    except mail.MailError as exc:
        return str(exc)
    return None


def _record(delivery_id: int, reason: str | None) -> None:
    """The outcome of one recipient's row: sent, or failed with why."""
    delivery = db.session.get(Delivery, delivery_id)
    if reason is None:
        delivery.state, delivery.error, delivery.sent_at = "sent", "", utcnow()
    else:
        delivery.state, delivery.error = "failed", reason[:500]
    delivery.updated_at = utcnow()


def _all_sent(statement: Statement) -> bool:
    """Every current recipient of the counterparty has this version. A row of an address
    that was corrected since is history, not a recipient still waiting."""
    cp = db.session.get(Counterparty, statement.counterparty_id)
    addresses = set(mail.recipients(cp.email))
    sent = set(db.session.scalars(select(Delivery.recipient).where(
        Delivery.statement_id == statement.id, Delivery.version == statement.version, Delivery.state == "sent")))
    return bool(addresses) and addresses <= sent


def run_statements(run_id: int) -> list[int]:
    return db.session.scalars(select(Statement.id).where(Statement.run_id == run_id,
                                                         Statement.state.in_(SENDABLE))
                              .order_by(Statement.number)).all()


def run_all_sent(run_id: int) -> bool:
    return all(_all_sent(db.session.get(Statement, sid)) for sid in run_statements(run_id))

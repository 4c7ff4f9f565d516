"""Statement states: draft → sent → confirmed | disputed (with line notes) → settled, or void.

A disputed statement may be reopened as a draft (to fix and regenerate) or
confirmed as it is. Voiding gives the statement's lines back to the open pool and
frees its number for a new statement of the same period.
"""

from __future__ import annotations

from sqlalchemy import func, select

from backend.apidoc import get_or_404
from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation import statements as engine
from backend.reconciliation.models import Counterparty, Statement, StatementEvent, StatementLine
from backend.reconciliation.parts import get_locked_or_404
from backend.timeutil import utcnow

TRANSITIONS = {
    "send": (("draft",), "sent"),
    "confirm": (("sent", "disputed"), "confirmed"),
    "dispute": (("sent",), "disputed"),
    "reopen": (("disputed",), "draft"),
    "settle": (("confirmed",), "settled"),
    "void": (("draft", "sent", "disputed"), "void"),
}
# What each action does to a statement, in words (never built by suffixing "ed").
DONE_WORDS = {"send": "sent", "confirm": "confirmed", "dispute": "disputed", "reopen": "reopened",
              "settle": "settled", "void": "voided"}


def get_statement(statement_id: int, lock: bool = False) -> Statement:
    return get_locked_or_404(Statement, statement_id) if lock else get_or_404(Statement, statement_id)


def transition(statement_id: int, action: str, admin_id: int | None, notes: list[dict] | None = None,
               note: str = "") -> Statement:
    statement = get_statement(statement_id, lock=True)
    allowed, target = TRANSITIONS[action]
    if statement.state not in allowed:
        raise ApiError("STATEMENT_STATE_CONFLICT",
                       f"A {statement.state} statement cannot be {DONE_WORDS[action]} (needs {' or '.join(allowed)})")
    if action == "dispute":
        if not notes:
            raise ApiError("VALIDATION_ERROR", "A dispute needs at least one line note")
        _check_lines_on(statement, {n["document_line_id"] for n in notes})
        db.session.add_all(StatementEvent(statement_id=statement.id, action="note", admin_id=admin_id,
                                          document_line_id=n["document_line_id"], note=n["note"]) for n in notes)
    if action == "void":
        engine.retire(statement)
        statement.live = None
    statement.state = target
    statement.updated_at = utcnow()
    db.session.add(StatementEvent(statement_id=statement.id, action=action, admin_id=admin_id, note=note))
    db.session.flush()
    return statement


def _check_lines_on(statement: Statement, line_ids: set[int]) -> None:
    found = set(db.session.scalars(select(StatementLine.document_line_id).where(
        StatementLine.statement_id == statement.id, StatementLine.version == statement.version,
        StatementLine.document_line_id.in_(sorted(line_ids)))))
    missing = sorted(line_ids - found)
    if missing:
        raise ApiError("VALIDATION_ERROR", f"Lines {missing} are not on statement {statement.number}")


def regenerate(statement_id: int, admin_id: int | None) -> dict:
    statement = get_statement(statement_id, lock=True)
    if statement.state != "draft":
        raise ApiError("STATEMENT_STATE_CONFLICT", f"Only a draft can be regenerated; this one is {statement.state}")
    result = engine.regenerate(statement)
    db.session.add(StatementEvent(statement_id=statement.id, action="regenerate", admin_id=admin_id,
                                  note=f"version {statement.version}"))
    return result


def list_statements(args: dict) -> dict:
    query = select(Statement).order_by(Statement.period_end.desc(), Statement.number)
    for key in ("side", "state", "counterparty_id", "run_id"):
        if args.get(key):
            query = query.where(getattr(Statement, key) == args[key])
    if args.get("period_end"):
        query = query.where(Statement.period_end == args["period_end"])
    page, per_page = args.get("page", 1), args.get("per_page", 20)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [describe(s) for s in items], "page": page, "per_page": per_page, "total": total}


def describe(statement: Statement) -> dict:
    cp = db.session.get(Counterparty, statement.counterparty_id)
    return {"id": statement.id, "number": statement.number, "side": statement.side, "state": statement.state,
            "version": statement.version, "counterparty": {"id": cp.id, "code": cp.code, "name": cp.name},
            "period_start": statement.period_start, "period_end": statement.period_end, "run_id": statement.run_id,
            "totals": engine.totals(statement.id, statement.version),
            "created_at": statement.created_at, "updated_at": statement.updated_at}


def events(statement_id: int) -> list[StatementEvent]:
    return db.session.scalars(select(StatementEvent).where(StatementEvent.statement_id == statement_id)
                              .order_by(StatementEvent.id)).all()

"""The statement engine, one for both sides (payable to suppliers, receivable from customers).

A batch step for one (side, cycle, cut-off, period) runs a fixed handful of
set-based statements whatever the number of lines:

1. INSERT ... SELECT one draft statement per counterparty with open lines dated up
   to the period's end (late lines are carried into the next statement), unless a
   live statement with that number (side, period end, counterparty) exists;
2. INSERT ... SELECT the frozen copies of those lines into recon_statement_lines,
   ON CONFLICT DO NOTHING: the claim. The table's unique key on document_line_id
   puts a line on one statement only; a racing run's insert waits for the winner's
   commit and then skips the line;
3. INSERT ... SELECT the totals per currency as sums of those copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, delete, exists, func, insert, literal, select

from backend.extensions import UTCDateTime, db
from backend.reconciliation.models import (
    Counterparty,
    DocumentLine,
    Statement,
    StatementLine,
    StatementLineVersion,
    StatementTotal,
)
from backend.reconciliation.periods import periods_ending_in
from backend.timeutil import utcnow

FROZEN = ["statement_id", "version", "document_line_id", "document_id", "doc_date", "part_id", "qty", "unit_price",
          "currency", "amount_cents"]


def is_open():
    """Correlated on DocumentLine: no statement holds the line."""
    return ~exists().where(StatementLine.document_line_id == DocumentLine.id)


def _insert_claims():
    """INSERT into recon_statement_lines that skips lines another statement holds."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(StatementLine.__table__), True
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(StatementLine.__table__), True
    return insert(StatementLine.__table__).prefix_with("IGNORE"), False


def claim(statement_col, version: int, where) -> int:
    """Freeze the open document lines matching ``where`` onto statements; returns how many.

    The open lines are picked into a temporary table first, then inserted. Had one
    statement both read recon_statement_lines (NOT EXISTS) and insert into it, a plan
    made while the table looked empty (a nested loop over a sequential scan) would
    rescan every page it had just written: quadratic. Apart, each is linear."""
    picked = Table("recon_claim_tmp", MetaData(), Column("statement_id", Integer),
                   Column("line_id", BigInteger, primary_key=True), prefixes=["TEMPORARY"])
    conn = db.session.connection()
    picked.drop(conn, checkfirst=True)
    picked.create(conn)
    conn.execute(picked.insert().from_select(["statement_id", "line_id"],
                                             select(statement_col, DocumentLine.id).where(*where)))
    stmt, upsert = _insert_claims()
    stmt = stmt.from_select(FROZEN, select(
        picked.c.statement_id, literal(version), DocumentLine.id, DocumentLine.document_id, DocumentLine.doc_date,
        DocumentLine.part_id, DocumentLine.qty, DocumentLine.unit_price, DocumentLine.currency,
        DocumentLine.amount_cents).where(DocumentLine.id == picked.c.line_id))
    if upsert:
        stmt = stmt.on_conflict_do_nothing(index_elements=["document_line_id"])
    # preserve_rowcount: drivers only promise rowcount for UPDATE and DELETE
    claimed = conn.execute(stmt.execution_options(preserve_rowcount=True)).rowcount
    picked.drop(conn)
    return claimed


PREFIX = {"payable": "AP", "receivable": "AR"}
KIND_OF_SIDE = {"payable": "supplier", "receivable": "customer"}


@dataclass(frozen=True)
class Step:
    cutoff: int
    start: date
    end: date


def plan(side: str, cycle: str, year: int, month: int) -> list[Step]:
    """One step per distinct cut-off and period ending in the month, in date order so
    that an earlier week claims its lines before a later one."""
    cutoffs = db.session.scalars(select(Counterparty.cutoff_day).distinct()
                                 .where(Counterparty.kind == KIND_OF_SIDE[side],
                                        Counterparty.billing_cycle == cycle)).all()
    steps = [Step(c, start, end) for c in cutoffs for start, end in periods_ending_in(cycle, c, year, month)]
    return sorted(steps, key=lambda s: (s.end, s.cutoff))


def generate_step(side: str, cycle: str, step: Step, run_id: int | None = None) -> tuple[int, int]:
    """Make the statements of one period. Returns (statements made, lines claimed)."""
    now = utcnow()
    number = literal(f"{PREFIX[side]}-{step.end:%Y%m%d}-") + Counterparty.code
    open_lines = exists().where(DocumentLine.counterparty_id == Counterparty.id,
                                is_open(), DocumentLine.doc_date <= step.end)
    taken = exists().where(Statement.number == number, Statement.live == 1)
    stamp = literal(now, UTCDateTime)
    candidates = select(number, literal(1), literal(side), Counterparty.id, literal(run_id), literal(step.start),
                        literal(step.end), literal("draft"), literal(1), stamp, stamp).where(
        Counterparty.kind == KIND_OF_SIDE[side], Counterparty.billing_cycle == cycle,
        Counterparty.cutoff_day == step.cutoff, open_lines, ~taken)
    db.session.execute(insert(Statement).from_select(
        ["number", "live", "side", "counterparty_id", "run_id", "period_start", "period_end", "state", "version",
         "created_at", "updated_at"], candidates))
    # Ours: this period's drafts that have no totals yet (a committed statement always has them).
    fresh_ids = db.session.scalars(select(Statement.id).where(
        Statement.side == side, Statement.period_end == step.end, Statement.live == 1,
        Statement.state == "draft", Statement.version == 1, Statement.created_at == literal(now, UTCDateTime),
        ~exists().where(StatementTotal.statement_id == Statement.id))).all()
    if not fresh_ids:
        return 0, 0
    lines = 0
    for i in range(0, len(fresh_ids), 5000):
        mine = select(Statement.id, Statement.counterparty_id).where(
            Statement.id.in_(fresh_ids[i:i + 5000])).subquery()
        lines += claim(mine.c.id, 1, (DocumentLine.counterparty_id == mine.c.counterparty_id,
                                      DocumentLine.doc_date <= step.end, is_open()))
        _total(fresh_ids[i:i + 5000], 1)
    emptied = db.session.execute(delete(Statement).where(
        Statement.id.in_(fresh_ids), ~exists().where(StatementTotal.statement_id == Statement.id))).rowcount
    return len(fresh_ids) - emptied, lines


def _total(statement_ids: list[int], version: int) -> None:
    db.session.execute(insert(StatementTotal).from_select(
        ["statement_id", "version", "currency", "lines", "amount_cents"],
        select(StatementLine.statement_id, literal(version), StatementLine.currency, func.count(),
               func.sum(StatementLine.amount_cents)).where(StatementLine.statement_id.in_(statement_ids))
        .group_by(StatementLine.statement_id, StatementLine.currency)))


def retire(statement: Statement) -> None:
    """Move the current lines into the version history; the lines are open again."""
    current = select(*[getattr(StatementLine, c) for c in FROZEN]).where(StatementLine.statement_id == statement.id)
    db.session.execute(insert(StatementLineVersion).from_select(FROZEN, current))
    db.session.execute(delete(StatementLine).where(StatementLine.statement_id == statement.id))


def regenerate(statement: Statement) -> dict:
    """A draft re-freezes the lines it held (with their current prices) and takes in open
    lines that arrived since, as a new version; returns the diff to the previous one."""
    previous = statement.version
    retire(statement)
    statement.version = previous + 1
    statement.updated_at = utcnow()
    db.session.flush()
    # the lines it held are open again after retire(), so one claim takes them and the late ones
    claim(literal(statement.id), statement.version, (DocumentLine.counterparty_id == statement.counterparty_id,
                                                     DocumentLine.doc_date <= statement.period_end, is_open()))
    _total([statement.id], statement.version)
    return diff(statement, previous, statement.version)


def lines_of(statement: Statement, version: int):
    """The table holding this version: the current lines of a live statement, else history."""
    if statement.live and version == statement.version:
        return StatementLine
    return StatementLineVersion


def diff(statement: Statement, old: int, new: int) -> dict:
    """Lines added, removed and changed (qty, price or amount) between two versions."""
    def version(v):
        table = lines_of(statement, v)
        return select(table).where(table.statement_id == statement.id, table.version == v).subquery()

    a, b = version(old), version(new)
    rows = lambda q: [dict(r) for r in db.session.execute(q).mappings()]  # noqa: E731
    added = rows(select(b.c.document_line_id, b.c.qty, b.c.unit_price, b.c.amount_cents)
                 .where(~exists().where(a.c.document_line_id == b.c.document_line_id)).order_by(b.c.document_line_id))
    removed = rows(select(a.c.document_line_id, a.c.qty, a.c.unit_price, a.c.amount_cents)
                   .where(~exists().where(b.c.document_line_id == a.c.document_line_id))
                   .order_by(a.c.document_line_id))
    changed = rows(select(a.c.document_line_id, a.c.qty.label("old_qty"), b.c.qty.label("new_qty"),
                          a.c.unit_price.label("old_unit_price"), b.c.unit_price.label("new_unit_price"),
                          a.c.amount_cents.label("old_amount_cents"), b.c.amount_cents.label("new_amount_cents"))
                   .join(b, a.c.document_line_id == b.c.document_line_id)
                   .where((a.c.qty != b.c.qty) | (a.c.unit_price != b.c.unit_price)
                          | (a.c.amount_cents != b.c.amount_cents)).order_by(a.c.document_line_id))
    return {"from_version": old, "to_version": new, "added": added, "removed": removed, "changed": changed}


def totals(statement_id: int, version: int) -> list[dict]:
    rows = db.session.execute(select(StatementTotal.currency, StatementTotal.lines, StatementTotal.amount_cents)
                              .where(StatementTotal.statement_id == statement_id,
                                     StatementTotal.version == version)
                              .order_by(StatementTotal.currency)).mappings()
    return [dict(r) for r in rows]

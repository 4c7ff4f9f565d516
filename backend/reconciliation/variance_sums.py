"""The price-variance sums (``recon_variance_sums``): per supplier, part and month,
how many lines differ from their PO price and by how much in cents.

Kept by every writer of document lines in the writer's own transaction: the
conversion and the manual documents and the delivery import add their new lines
(``add_lines``, one executemany upsert), re-pricing moves each cell by its lines'
new contribution minus the old one (``reprice_deltas``, set-based). An upsert adds
to the stored values (``x = x + delta``), so two writers of the same cell never
lose one another's change. Lines are never deleted (a void statement frees its
lines, it does not remove them), so nothing takes a contribution away otherwise.

A month, not a day: a supplier receives the same part on many days of a month, and
the report's groupings (supplier, brand, part) need no finer grain; a date range is
answered from the months it covers whole and from the lines of its partial months
(``repricing.variance_cells``). ``check`` compares the kept sums with a fresh
aggregation over the lines (the tests, the bench and ``flask statements
variance-sums --check``), ``rebuild`` recomputes them (the migration's backfill, the
bench after generating lines with plain SQL).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Integer, case, delete, func, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backend.extensions import db
from backend.reconciliation.models import Counterparty, DocumentLine, Part, PriceVarianceSum
from backend.reconciliation.money import amount_cents_sql, line_amount_cents

TABLE = PriceVarianceSum.__table__
KEYS = ("counterparty_id", "part_id", "month")


class month_key(FunctionElement):
    """YYYYMM of a date as an integer, in SQL."""

    type = Integer()
    inherit_cache = True
    name = "month_key"


@compiles(month_key)
def _month_pg(element, compiler, **kw):
    day = compiler.process(list(element.clauses)[0], **kw)
    return f"CAST(EXTRACT(YEAR FROM {day}) * 100 + EXTRACT(MONTH FROM {day}) AS INTEGER)"


@compiles(month_key, "mysql")
def _month_mysql(element, compiler, **kw):
    return f"EXTRACT(YEAR_MONTH FROM {compiler.process(list(element.clauses)[0], **kw)})"


@compiles(month_key, "sqlite")
def _month_sqlite(element, compiler, **kw):
    return f"CAST(strftime('%Y%m', {compiler.process(list(element.clauses)[0], **kw)}) AS INTEGER)"


def month_of(day) -> int:
    return day.year * 100 + day.month


def counted_sql(line=DocumentLine):
    """SQL: true when the line is one the report lists (the same test as ``variance_query``)."""
    return (line.po_price.is_not(None)) & (line.price_diff != 0)


def contribution_sql(line=DocumentLine) -> tuple:
    """SQL (lines, diff_cents) a line adds to its cell: (1, amount − amount at PO price) or (0, 0)."""
    counted = counted_sql(line)
    return (case((counted, 1), else_=0),
            case((counted, line.amount_cents - amount_cents_sql(line.qty, line.po_price)), else_=0))


def contribution(row: dict) -> tuple[int, int]:
    """What a line about to be inserted adds: the same rule in Python (``line_amount_cents``
    is held to ``amount_cents_sql`` by the tests)."""
    po_price = row.get("po_price")
    if po_price is None or Decimal(row.get("price_diff") or 0) == 0:
        return 0, 0
    return 1, row["amount_cents"] - line_amount_cents(row["qty"], Decimal(po_price))


def lock_suppliers(supplier_id: int | None, writers_too: bool = True) -> None:
    """Hold the suppliers' rows (one, or all) so that the lines a re-pricing reads are the
    lines it rewrites, and two re-pricings never rewrite the same lines at once (each moves
    the sums by new − old contribution: the old must be what it overwrites).

    ``writers_too``: FOR UPDATE, which also waits for (and holds off) every writer of new
    lines, since each inserts a document whose foreign key holds its supplier's row shared
    (KEY SHARE on PostgreSQL, S on InnoDB): needed where re-pricing takes three statements
    (contributions away, re-price, back), and by ``rebuild``. PostgreSQL's re-pricing is
    one statement over one snapshot (lines inserted meanwhile are not in it, and their
    writers add them), so there it takes FOR NO KEY UPDATE: re-pricings queue on one
    another, receipts go on. SQLite has one writer at a time anyway."""
    query = select(Counterparty.id).where(Counterparty.kind == "supplier").order_by(Counterparty.id)
    if supplier_id:
        query = query.where(Counterparty.id == supplier_id)
    db.session.execute(query.with_for_update(key_share=not writers_too)).all()


def add_lines(rows: list[dict]) -> None:
    """New lines (dicts as inserted): their sums added per cell, one executemany upsert,
    cells in key order (concurrent writers lock shared cells in the same order)."""
    cells: dict[tuple[int, int, int], list[int]] = {}
    for row in rows:
        lines, diff = contribution(row)
        if lines:
            cell = cells.setdefault((row["counterparty_id"], row["part_id"], month_of(row["doc_date"])), [0, 0])
            cell[0] += lines
            cell[1] += diff
    if not cells:
        return
    named = {pid: (no, brand) for pid, no, brand in db.session.execute(
        select(Part.id, Part.part_no, Part.brand).where(Part.id.in_({p for _, p, _ in cells})))}
    values = [{"counterparty_id": c, "part_id": p, "month": m, "part_no": named[p][0], "brand": named[p][1],
               "line_count": n, "diff_cents": d} for (c, p, m), (n, d) in sorted(cells.items())]
    db.session.execute(upsert_from(), values)


NAMES = [*KEYS, "part_no", "brand", "line_count", "diff_cents"]


def upsert_from(select_stmt=None):
    """An INSERT of cells (by values, or from a select of NAMES' columns) adding to the
    stored ones: ON CONFLICT DO UPDATE (PostgreSQL, SQLite) / ON DUPLICATE KEY UPDATE."""
    dialect = db.session.get_bind().dialect.name
    make = {"mysql": mysql.insert, "mariadb": mysql.insert, "postgresql": postgresql.insert}.get(dialect,
                                                                                                sqlite.insert)
    stmt = make(TABLE)
    if select_stmt is not None:
        stmt = stmt.from_select(NAMES, select_stmt)
    if dialect in ("mysql", "mariadb"):
        return stmt.on_duplicate_key_update(line_count=TABLE.c.line_count + stmt.inserted.line_count,
                                            diff_cents=TABLE.c.diff_cents + stmt.inserted.diff_cents)
    return stmt.on_conflict_do_update(index_elements=list(KEYS),
                                      set_={"line_count": TABLE.c.line_count + stmt.excluded.line_count,
                                            "diff_cents": TABLE.c.diff_cents + stmt.excluded.diff_cents})


def add_where(where: list, sign: int) -> None:
    """Add (sign 1) or take away (sign -1) the contributions of the lines matching ``where``,
    grouped per cell in the database: one statement whatever the number of lines."""
    lines, diff = contribution_sql()
    month = month_key(DocumentLine.doc_date)
    grouped = (select(DocumentLine.counterparty_id, DocumentLine.part_id, month, Part.part_no, Part.brand,
                      sign * func.sum(lines), sign * func.sum(diff))
               .join(Part, Part.id == DocumentLine.part_id)
               .where(*where, counted_sql())
               .group_by(DocumentLine.counterparty_id, DocumentLine.part_id, month, Part.part_no, Part.brand))
    db.session.execute(upsert_from(grouped))


def fresh_query():
    """The sums as they should be, aggregated from the lines."""
    lines, diff = contribution_sql()
    month = month_key(DocumentLine.doc_date)
    return (select(DocumentLine.counterparty_id, DocumentLine.part_id, month.label("month"),
                   func.sum(lines).label("line_count"), func.sum(diff).label("diff_cents"))
            .where(counted_sql()).group_by(DocumentLine.counterparty_id, DocumentLine.part_id, month))


def check() -> list[dict]:
    """Cells whose kept sums differ from a fresh aggregation over the lines (empty: all agree).
    A kept cell at zero is the same as no cell."""
    fresh = {(r.counterparty_id, r.part_id, r.month): (int(r.line_count), int(r.diff_cents))
             for r in db.session.execute(fresh_query())}
    kept = {(r.counterparty_id, r.part_id, r.month): (int(r.line_count), int(r.diff_cents))
            for r in db.session.execute(select(TABLE))}
    out = []
    for key in sorted(fresh.keys() | kept.keys()):
        want, have = fresh.get(key, (0, 0)), kept.get(key, (0, 0))
        if want != have:
            out.append({"counterparty_id": key[0], "part_id": key[1], "month": key[2],
                        "lines": have[0], "diff_cents": have[1],
                        "expected_lines": want[0], "expected_diff_cents": want[1]})
    return out


def rebuild() -> int:
    """Recompute every cell from the lines (after lines were written outside this module).
    Returns the cells kept."""
    lock_suppliers(None)  # no line is written or re-priced meanwhile
    db.session.execute(delete(TABLE))
    fresh = fresh_query().subquery()
    db.session.execute(TABLE.insert().from_select(
        NAMES, select(fresh.c.counterparty_id, fresh.c.part_id, fresh.c.month, Part.part_no, Part.brand,
                      fresh.c.line_count, fresh.c.diff_cents).join(Part, Part.id == fresh.c.part_id)))
    return db.session.scalar(select(func.count()).select_from(TABLE))


"""Re-pricing receipt lines from the latest price lists (one UPDATE), and the
price-variance report (lines whose applied price differs from the PO price)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import BigInteger, cast, exists, func, select, union_all, update

from backend.extensions import db
from backend.reconciliation import variance_sums
from backend.reconciliation.models import Counterparty, Document, DocumentLine, Part, Price, Statement, StatementLine
from backend.reconciliation.money import MAX_LINE_CENTS, amount_cents_sql, cents_text


def _latest_price_for_line():
    """Correlated: the price of the newest list in force on the line's date."""
    return (select(Price.unit_price)
            .where(Price.supplier_id == DocumentLine.counterparty_id, Price.part_id == DocumentLine.part_id,
                   Price.effective_date <= DocumentLine.doc_date)
            .order_by(Price.effective_date.desc(), Price.version.desc())
            .limit(1).correlate(DocumentLine).scalar_subquery())


def _repriceable(supplier_id: int | None, date_from: date, date_to: date) -> list:
    """Receipt lines priced from a PO or a list (not manual ones, not returns) that are
    open or on a draft statement: frozen statements never change under anyone."""
    frozen = exists().where(StatementLine.document_line_id == DocumentLine.id,
                            StatementLine.statement_id == Statement.id, Statement.state != "draft")
    where = [DocumentLine.doc_date >= date_from, DocumentLine.doc_date <= date_to,
             DocumentLine.price_source.in_(("po", "price_list", "latest_po")), ~frozen]
    if supplier_id:
        where.append(DocumentLine.counterparty_id == supplier_id)
    return where


def _fits(price):
    """The line's amount at ``price`` stays within a line's maximum (and far inside the
    BIGINT column): a list price typed with a few zeros too many leaves the line as it
    was instead of failing the whole pass."""
    return func.abs(DocumentLine.qty) * price <= MAX_LINE_CENTS // 100


def reprice(supplier_id: int | None, date_from: date, date_to: date) -> int:
    """Set-based: every matching line takes its latest list price, its difference to the
    PO price and its re-rounded amount in one statement, and the price-variance sums
    move with it in the same transaction. Returns the lines updated."""
    dialect = db.session.get_bind().dialect.name
    variance_sums.lock_suppliers(supplier_id, writers_too=dialect != "postgresql")
    where = _repriceable(supplier_id, date_from, date_to)
    if dialect == "postgresql":
        return _reprice_pg(where)
    # Elsewhere: take the lines' contributions away, re-price, add them back (the
    # locks keep the set of lines the same across the three statements).
    variance_sums.add_where(where, -1)
    priced = select(DocumentLine.id.label("line_id"), _latest_price_for_line().label("price")).where(*where)
    priced = priced.subquery()
    if dialect == "mysql":
        # MySQL refuses an UPDATE joined to a derived table that reads the same table:
        # pin the computed prices in a temporary table first.
        count = _reprice_via_temp(priced)
    else:
        count = db.session.execute(_update(priced)).rowcount
    variance_sums.add_where(where, 1)
    return count


def _update(priced):
    return (update(DocumentLine)
            .where(DocumentLine.id == priced.c.line_id, priced.c.price.is_not(None), _fits(priced.c.price))
            .values(unit_price=priced.c.price, price_source="price_list",
                    price_diff=priced.c.price - func.coalesce(DocumentLine.po_price, priced.c.price),
                    amount_cents=amount_cents_sql(DocumentLine.qty, priced.c.price))
            .execution_options(synchronize_session=False))


def _reprice_pg(where: list) -> int:
    """One statement: the UPDATE returns each line's new contribution beside its old one
    (read by the same pass), the cells' deltas are upserted, and the count is returned.
    A second pass over a million lines for the sums would cost seconds."""
    old_lines, old_diff = variance_sums.contribution_sql()
    priced = (select(DocumentLine.id.label("line_id"), _latest_price_for_line().label("price"),
                     old_lines.label("old_lines"), old_diff.label("old_diff")).where(*where)
              # OFFSET 0 keeps PostgreSQL from inlining the subquery, which would copy the
              # price lookup into each SET expression and probe the index four times a line.
              .offset(0).subquery())
    new_lines, new_diff = variance_sums.contribution_sql()
    repriced = (_update(priced)
                .returning(DocumentLine.counterparty_id, DocumentLine.part_id,
                           variance_sums.month_key(DocumentLine.doc_date).label("month"),
                           (new_lines - priced.c.old_lines).label("d_lines"),
                           (new_diff - priced.c.old_diff).label("d_diff"))
                .cte("repriced"))
    deltas = (select(repriced.c.counterparty_id, repriced.c.part_id, repriced.c.month, Part.part_no, Part.brand,
                     func.sum(repriced.c.d_lines), func.sum(repriced.c.d_diff))
              .join(Part, Part.id == repriced.c.part_id)
              .group_by(repriced.c.counterparty_id, repriced.c.part_id, repriced.c.month, Part.part_no, Part.brand)
              .having((func.sum(repriced.c.d_lines) != 0) | (func.sum(repriced.c.d_diff) != 0)))
    kept = variance_sums.upsert_from(deltas).cte("kept")
    return db.session.execute(select(func.count()).select_from(repriced).add_cte(kept)).scalar_one()


def _reprice_via_temp(priced) -> int:
    from sqlalchemy import BigInteger, Column, MetaData, Table

    from backend.reconciliation.models import PRICE

    meta = MetaData()
    temp = Table("recon_reprice_tmp", meta, Column("line_id", BigInteger, primary_key=True),
                 Column("price", PRICE), prefixes=["TEMPORARY"])
    conn = db.session.connection()
    temp.drop(conn, checkfirst=True)
    temp.create(conn)
    conn.execute(temp.insert().from_select(["line_id", "price"],
                                           select(priced.c.line_id, priced.c.price)
                                           .where(priced.c.price.is_not(None))))
    stmt = (update(DocumentLine).where(DocumentLine.id == temp.c.line_id, _fits(temp.c.price))
            .values(unit_price=temp.c.price, price_source="price_list",
                    price_diff=temp.c.price - func.coalesce(DocumentLine.po_price, temp.c.price),
                    amount_cents=amount_cents_sql(DocumentLine.qty, temp.c.price)))
    count = conn.execute(stmt).rowcount
    temp.drop(conn)
    return count


def variance_query(args: dict, with_document: bool = True):
    """Receipt lines whose applied price differs from their PO price. The sums and the
    count leave out the join to the documents (``with_document`` False): only the
    lines' rows name the document's number, and every line has its document."""
    cols = [DocumentLine.id, Counterparty.code.label("supplier_code"), Counterparty.name.label("supplier"),
            DocumentLine.doc_date, Part.part_no, Part.brand, DocumentLine.qty, DocumentLine.po_price,
            DocumentLine.unit_price, DocumentLine.price_diff, DocumentLine.price_source, DocumentLine.amount_cents,
            amount_cents_sql(DocumentLine.qty, DocumentLine.po_price).label("po_amount_cents")]
    if with_document:
        cols.insert(3, Document.number.label("document"))
    query = select(*cols)
    if with_document:
        query = query.join(Document, Document.id == DocumentLine.document_id)
    query = (query.join(Counterparty, Counterparty.id == DocumentLine.counterparty_id)
             .join(Part, Part.id == DocumentLine.part_id)
             .where(DocumentLine.po_price.is_not(None), DocumentLine.price_diff != 0,
                    Counterparty.kind == "supplier"))
    if args.get("supplier_id"):
        query = query.where(DocumentLine.counterparty_id == args["supplier_id"])
    if args.get("brand"):
        query = query.where(Part.brand == args["brand"])
    if args.get("part_id"):
        query = query.where(DocumentLine.part_id == args["part_id"])
    if args.get("date_from"):
        query = query.where(DocumentLine.doc_date >= args["date_from"])
    if args.get("date_to"):
        query = query.where(DocumentLine.doc_date <= args["date_to"])
    return query.order_by(Counterparty.code, DocumentLine.doc_date, DocumentLine.id)


def _month_after(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _ranges(args: dict) -> tuple[tuple[int | None, int | None] | None, list[tuple[date | None, date | None]]]:
    """The months the date range covers whole (YYYYMM bounds, None: open; or None: no
    whole month) and the partial stretches at its ends, read from the lines."""
    start, end = args.get("date_from"), args.get("date_to")
    lo = None if start is None else variance_sums.month_of(start if start.day == 1 else _month_after(start))
    hi = None
    if end is not None:
        last_whole = end if _month_after(end) - end == timedelta(days=1) else end.replace(day=1) - timedelta(days=1)
        hi = variance_sums.month_of(last_whole)
    if lo is not None and hi is not None and lo > hi:
        return None, [(start, end)]
    edges = []
    if start is not None and start.day != 1:
        edges.append((start, _month_after(start) - timedelta(days=1)))
    if hi is not None and end is not None and variance_sums.month_of(end) != hi:
        edges.append((end.replace(day=1), end))
    return (lo, hi), edges


def variance_cells(args: dict):
    """(counterparty_id, part_no, brand, lines, diff_cents) rows whose sums are the report's:
    the kept sums of the whole months in range, and the lines of partial months, with
    every filter applied. No date filter reads only the sums; a range within one month
    reads only lines (as the report did before the sums)."""
    months, edges = _ranges(args)
    suppliers = select(Counterparty.id).where(Counterparty.kind == "supplier")
    parts = []
    if months is not None:
        sums = variance_sums.TABLE.c
        query = select(sums.counterparty_id, sums.part_no, sums.brand, sums.line_count, sums.diff_cents).where(
            sums.counterparty_id.in_(suppliers))
        if months[0] is not None:
            query = query.where(sums.month >= months[0])
        if months[1] is not None:
            query = query.where(sums.month <= months[1])
        parts.append(_by_supplier_part_brand(query, args, sums.counterparty_id, sums.part_id, sums.brand))
    lines, diff = variance_sums.contribution_sql()
    for start, end in edges:
        query = (select(DocumentLine.counterparty_id, Part.part_no, Part.brand, lines.label("line_count"),
                        diff.label("diff_cents")).join(Part, Part.id == DocumentLine.part_id)
                 .where(variance_sums.counted_sql(), DocumentLine.counterparty_id.in_(suppliers)))
        if start is not None:
            query = query.where(DocumentLine.doc_date >= start)
        if end is not None:
            query = query.where(DocumentLine.doc_date <= end)
        parts.append(_by_supplier_part_brand(query, args, DocumentLine.counterparty_id, DocumentLine.part_id,
                                             Part.brand))
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("cells")


def _by_supplier_part_brand(query, args: dict, supplier, part, brand):
    """The report's three filters, on the kept sums' columns or the lines'."""
    for column, name in ((supplier, "supplier_id"), (part, "part_id"), (brand, "brand")):
        if args.get(name):
            query = query.where(column == args[name])
    return query


def variance_summary(args: dict) -> dict:
    """Totals of the difference (applied − PO amount) by supplier, brand and part, and the
    count of lines, from the kept sums (``variance_cells``): the cells carry the part's
    number and brand, so only the suppliers' sums join a table (for the code). Run on the
    connection, not through the ORM: unfiltered there is a row per part (20,000 in the
    bench), and the ORM's row handling cost more than the queries."""
    cells = variance_cells(args)
    # as integers from the database (a sum of BIGINT is NUMERIC on PostgreSQL: a Decimal each)
    lines, diff = cast(func.sum(cells.c.line_count), BigInteger), cast(func.sum(cells.c.diff_cents), BigInteger)
    by_supplier = (select(Counterparty.code, lines, diff).join(Counterparty, Counterparty.id == cells.c.counterparty_id)
                   .group_by(Counterparty.code).having(lines > 0).order_by(Counterparty.code))
    by_brand = select(cells.c.brand, lines, diff).group_by(cells.c.brand).having(lines > 0).order_by(cells.c.brand)
    by_part = (select(cells.c.part_no, cells.c.brand, lines, diff).group_by(cells.c.part_no, cells.c.brand)
               .having(lines > 0))
    limit = args.get("parts_limit")
    if limit:  # the console's first screen: the parts that matter most, not a row for each of 20,000
        by_part = by_part.order_by(func.abs(diff).desc(), cells.c.part_no, cells.c.brand).limit(limit)
    else:
        by_part = by_part.order_by(cells.c.part_no, cells.c.brand)
    conn = db.session.connection()
    out = {"by_supplier": [{"supplier_code": code, "lines": int(n), "diff_amount": cents_text(int(d))}
                           for code, n, d in conn.execute(by_supplier).all()],
           "by_brand": [{"brand": brand, "lines": int(n), "diff_amount": cents_text(int(d))}
                        for brand, n, d in conn.execute(by_brand).all()],
           "by_part": [{"part_no": no, "brand": brand, "lines": int(n), "diff_amount": cents_text(int(d))}
                       for no, brand, n, d in conn.execute(by_part).all()]}
    out["total"] = sum(item["lines"] for item in out["by_supplier"])
    out["by_part_total"] = len(out["by_part"]) if not limit else conn.execute(
        select(func.count()).select_from(
            select(cells.c.part_no, cells.c.brand).group_by(cells.c.part_no, cells.c.brand)
            .having(lines > 0).subquery())).scalar_one()
    return out

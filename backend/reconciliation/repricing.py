"""Re-pricing receipt lines from the latest price lists (one UPDATE), and the
price-variance report (lines whose applied price differs from the PO price)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, func, select, update

from backend.extensions import db
from backend.reconciliation.models import Counterparty, Document, DocumentLine, Part, Price, Statement, StatementLine
from backend.reconciliation.money import MAX_LINE_CENTS, amount_cents_sql


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
    PO price and its re-rounded amount in one statement. Returns the lines updated."""
    priced = select(DocumentLine.id.label("line_id"), _latest_price_for_line().label("price")).where(
        *_repriceable(supplier_id, date_from, date_to))
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        # OFFSET 0 keeps PostgreSQL from inlining the subquery, which would copy the
        # price lookup into each SET expression and probe the index four times a line.
        priced = priced.offset(0)
    priced = priced.subquery()
    if dialect == "mysql":
        # MySQL refuses an UPDATE joined to a derived table that reads the same table:
        # pin the computed prices in a temporary table first.
        return _reprice_via_temp(priced)
    stmt = (update(DocumentLine)
            .where(DocumentLine.id == priced.c.line_id, priced.c.price.is_not(None), _fits(priced.c.price))
            .values(unit_price=priced.c.price, price_source="price_list",
                    price_diff=priced.c.price - func.coalesce(DocumentLine.po_price, priced.c.price),
                    amount_cents=amount_cents_sql(DocumentLine.qty, priced.c.price))
            .execution_options(synchronize_session=False))
    return db.session.execute(stmt).rowcount


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


def variance_summary(args: dict) -> dict:
    """Totals of the difference (applied − PO amount) by supplier, brand and part."""
    lines = variance_query(args, with_document=False).order_by(None).subquery()
    diff = func.sum(lines.c.amount_cents - lines.c.po_amount_cents)
    out = {}
    for name, cols in (("by_supplier", (lines.c.supplier_code,)), ("by_brand", (lines.c.brand,)),
                       ("by_part", (lines.c.part_no, lines.c.brand))):
        rows = db.session.execute(select(*cols, func.count().label("lines"), diff.label("diff_cents"))
                                  .group_by(*cols).order_by(*cols)).mappings().all()
        out[name] = [dict(row) for row in rows]
    return out

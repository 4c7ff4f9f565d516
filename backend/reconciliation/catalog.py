"""What the finance console's price and purchase pages read: a price list checked before
it is applied, the price history of one part across suppliers, purchase orders and
documents listed with filters, and a conversion (转单) priced without saving it.

Nothing here writes: each preview runs the code the real action runs
(``pricing.check_rows``, ``receipts.price_picks``) and stops before the first write.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import and_, exists, func, select

from backend.extensions import db
from backend.reconciliation import parts, pricing, receipts
from backend.reconciliation.models import (
    Counterparty,
    Document,
    DocumentLine,
    Part,
    Price,
    PriceList,
    PurchaseOrder,
    PurchaseOrderLine,
    columns,
)
from backend.reconciliation.money import cents_text, line_amount_cents, price_text
from backend.schemas import page_of

PO_STATES = ("open", "partial", "received")


def preview_price_list(supplier_id: int, filename: str, data: bytes, effective_date: date,
                       currency: str | None) -> dict:
    """The report an import of this file would give, and the version it would make; nothing saved."""
    supplier, prices, report = pricing.check_rows(supplier_id, filename, data)
    changed = 0
    if prices:
        before = pricing.latest_list_prices(supplier.id, set(prices), effective_date)
        changed = sum(1 for pid, price in prices.items() if before.get(pid) != price)
    return {"supplier_id": supplier.id, "version": pricing.next_version(supplier.id),
            "effective_date": effective_date, "currency": currency or supplier.currency,
            "applicable": bool(prices), "changed": changed, "report": report.to_dict()}


def price_history(part_id: int) -> dict:
    """Every list price of a part, by supplier, in effective-date order (later version last)."""
    part = parts.get_part(part_id)
    rows = db.session.execute(
        select(Price.supplier_id, Counterparty.code, Counterparty.name, Price.effective_date, Price.version,
               Price.unit_price, PriceList.currency)
        .join(Counterparty, Counterparty.id == Price.supplier_id)
        .join(PriceList, PriceList.id == Price.price_list_id)
        .where(Price.part_id == part_id)
        .order_by(Counterparty.code, Price.effective_date, Price.version)).all()
    series: dict[int, dict] = {}
    for supplier_id, code, name, day, version, price, currency in rows:
        entry = series.setdefault(supplier_id, {"supplier_id": supplier_id, "supplier_code": code,
                                                "supplier_name": name, "currency": currency, "points": []})
        entry["points"].append({"effective_date": day, "version": version, "unit_price": price_text(price)})
    return {"part": part, "series": list(series.values())}


def _po_totals(po_ids: list[int]):
    return (select(PurchaseOrderLine.po_id, func.count().label("lines"), func.sum(PurchaseOrderLine.qty).label("qty"),
                   func.sum(PurchaseOrderLine.received_qty).label("received_qty"))
            .where(PurchaseOrderLine.po_id.in_(po_ids)).group_by(PurchaseOrderLine.po_id))


def _state(qty: int, received: int) -> str:
    return "open" if received <= 0 else "received" if received >= qty else "partial"


def list_purchase_orders(args: dict) -> dict:
    """A page of POs, newest first, with their supplier, line count, quantities and state.
    The sums are taken for the page's POs only; ``status`` filters by EXISTS on the lines."""
    query = select(PurchaseOrder.id)
    if args.get("supplier_id"):
        query = query.where(PurchaseOrder.supplier_id == args["supplier_id"])
    if args.get("number"):
        query = query.where(PurchaseOrder.number.like(f"{_escape(args['number'])}%", escape="\\"))
    if args.get("date_from"):
        query = query.where(PurchaseOrder.order_date >= args["date_from"])
    if args.get("date_to"):
        query = query.where(PurchaseOrder.order_date <= args["date_to"])
    if args.get("status"):
        # correlated EXISTS probes of the lines' po_id index: the newest page stops early
        def line(*where):
            return exists().where(PurchaseOrderLine.po_id == PurchaseOrder.id, *where)

        got_some = line(PurchaseOrderLine.received_qty > 0)
        still_open = line(PurchaseOrderLine.received_qty < PurchaseOrderLine.qty)
        query = query.where({"open": ~got_some, "received": ~still_open,
                             "partial": and_(got_some, still_open)}[args["status"]])
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    ids = db.session.scalars(query.order_by(PurchaseOrder.order_date.desc(), PurchaseOrder.id.desc())
                             .limit(per_page).offset((page - 1) * per_page)).all()
    sums = {row.po_id: row for row in db.session.execute(_po_totals(ids))} if ids else {}
    rows = db.session.execute(select(PurchaseOrder, Counterparty.code, Counterparty.name)
                              .join(Counterparty, Counterparty.id == PurchaseOrder.supplier_id)
                              .where(PurchaseOrder.id.in_(ids))).all() if ids else []
    found = {po.id: (po, code, name) for po, code, name in rows}
    items = []
    for po_id in ids:
        po, code, name = found[po_id]
        got = sums.get(po_id)
        qty, received = int(got.qty) if got else 0, int(got.received_qty) if got else 0
        items.append({**columns(po), "supplier_code": code, "supplier_name": name, "lines": got.lines if got else 0,
                      "qty": qty, "received_qty": received, "status": _state(qty, received)})
    return page_of(items, page, per_page, total)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_documents(args: dict) -> dict:
    """A page of receipts, returns and deliveries, newest first, with line count and amount
    (summed for the page's documents only)."""
    query = select(Document, Counterparty.code, Counterparty.name).join(
        Counterparty, Counterparty.id == Document.counterparty_id)
    for key, column in (("kind", Document.kind), ("counterparty_id", Document.counterparty_id),
                        ("po_id", Document.po_id)):
        if args.get(key):
            query = query.where(column == args[key])
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(query.with_only_columns(Document.id).subquery()))
    rows = db.session.execute(query.order_by(Document.doc_date.desc(), Document.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    ids = [doc.id for doc, *_ in rows]
    sums = {doc_id: (lines, cents) for doc_id, lines, cents in db.session.execute(
        select(DocumentLine.document_id, func.count(), func.sum(DocumentLine.amount_cents))
        .where(DocumentLine.document_id.in_(ids)).group_by(DocumentLine.document_id))} if ids else {}
    items = []
    for doc, code, name in rows:
        lines, cents = sums.get(doc.id, (0, 0))
        items.append({**columns(doc), "counterparty_code": code, "counterparty_name": name, "lines": lines,
                      "amount_cents": int(cents or 0), "amount": cents_text(int(cents or 0))})
    return page_of(items, page, per_page, total)


def preview_convert(po_id: int, policy: str, doc_date: date, wanted: list[dict] | None) -> dict:
    """What ``receipts.convert`` would save for these arguments, line by line; nothing saved."""
    po = receipts.get_po(po_id)
    lines = {line.id: line for line in receipts.po_lines(po.id)}
    picks = receipts.price_picks(po, lines, policy, doc_date, wanted)
    named = {pid: (no, brand) for pid, no, brand in db.session.execute(
        select(Part.id, Part.part_no, Part.brand).where(Part.id.in_({line.part_id for line, *_ in picks})))}
    out, total, po_total = [], 0, 0
    for line, qty, applied, source in picks:
        po_price = Decimal(line.unit_price)
        cents = receipts.line_amount(line.part_id, qty, applied)
        po_cents = line_amount_cents(qty, po_price)
        total, po_total = total + cents, po_total + po_cents
        out.append({"po_line_id": line.id, "part_id": line.part_id, "part_no": named[line.part_id][0],
                    "brand": named[line.part_id][1], "qty": qty, "open_qty": line.qty - line.received_qty,
                    "po_price": price_text(po_price), "unit_price": price_text(applied),
                    "price_diff": price_text(applied - po_price), "price_source": source,
                    "amount_cents": cents, "amount": cents_text(cents), "diff_amount": cents_text(cents - po_cents)})
    return {"po_id": po.id, "policy": policy, "doc_date": doc_date, "currency": po.currency, "lines": out,
            "amount": cents_text(total), "po_amount": cents_text(po_total), "diff_amount": cents_text(total - po_total)}

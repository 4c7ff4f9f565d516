"""Purchase orders, goods receipts (进货单), returns and deliveries.

Converting a PO to a receipt (转单) prices every line by the conversion's policy:
``po`` keeps the PO price, ``price_list`` takes the supplier's latest price list in
force on the receipt date, ``latest_po`` the supplier's most recent PO price. Each
line keeps where its price came from, the PO price, the applied price and the
difference; a part the policy has no price for keeps the PO price (source ``po``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import insert, select, update

from backend.apidoc import get_or_404
from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation import parts, pricing, variance_sums
from backend.reconciliation.models import (
    Counterparty,
    Document,
    DocumentLine,
    Part,
    PurchaseOrder,
    PurchaseOrderLine,
    columns,
)
from backend.reconciliation.money import checked_amount_cents

POLICIES = ("po", "price_list", "latest_po")


def _resolve_part(line: dict) -> int:
    if line.get("part_id"):
        return parts.get_part(line["part_id"]).id
    found = parts.part_ids({(line.get("part_no", ""), line.get("brand", ""))})
    if not found:
        raise ApiError("PART_NOT_FOUND", f"No part {line.get('part_no')} / {line.get('brand')}")
    return next(iter(found.values()))


def _claim_number(obj) -> None:
    parts.add_unique(obj, f"Number {obj.number}")


def create_po(args: dict) -> PurchaseOrder:
    supplier = parts.get_counterparty(args["supplier_id"], "supplier")
    po = PurchaseOrder(number=args["number"], supplier_id=supplier.id, order_date=args["order_date"],
                       currency=args.get("currency") or supplier.currency)
    _claim_number(po)
    for line in args["lines"]:
        db.session.add(PurchaseOrderLine(po_id=po.id, part_id=_resolve_part(line), qty=line["qty"],
                                         received_qty=0, unit_price=line["unit_price"]))
    db.session.flush()
    return po


def get_po(po_id: int, lock: bool = False) -> PurchaseOrder:
    return parts.get_locked_or_404(PurchaseOrder, po_id) if lock else get_or_404(PurchaseOrder, po_id)


def po_lines(po_id: int, lock: bool = False) -> list[PurchaseOrderLine]:
    query = select(PurchaseOrderLine).where(PurchaseOrderLine.po_id == po_id).order_by(PurchaseOrderLine.id)
    return db.session.scalars(query.with_for_update() if lock else query).all()


def _line_row(doc: Document, part_id: int, qty: int, applied: Decimal, source: str,
              po_price: Decimal | None = None, po_line_id: int | None = None) -> dict:
    amount_cents = line_amount(part_id, qty, applied)
    return {"document_id": doc.id, "counterparty_id": doc.counterparty_id, "doc_date": doc.doc_date,
            "currency": doc.currency, "part_id": part_id, "po_line_id": po_line_id, "qty": qty,
            "po_price": po_price, "unit_price": applied, "price_source": source,
            "price_diff": applied - po_price if po_price is not None else Decimal(0),
            "amount_cents": amount_cents}


def price_picks(po: PurchaseOrder, lines: dict[int, PurchaseOrderLine], policy: str, doc_date: date,
                wanted: list[dict] | None) -> list[tuple[PurchaseOrderLine, int, Decimal, str]]:
    """The lines a conversion takes and the price of each under ``policy``:
    (PO line, qty, applied price, source). Checks the quantities against what is open;
    changes nothing, so the preview (``catalog.preview_convert``) and ``convert`` agree.
    A wanted line with ``use_po_price`` keeps its PO price (a difference not accepted)."""
    if wanted is None:
        wanted = [{"po_line_id": lid, "qty": line.qty - line.received_qty}
                  for lid, line in lines.items() if line.qty > line.received_qty]
    picks: list[tuple[PurchaseOrderLine, int, bool]] = []
    asked: dict[int, int] = {}  # a line named twice counts once against what is open
    for item in wanted:
        line = lines.get(item["po_line_id"])
        if line is None:
            raise ApiError("NOT_FOUND", f"PO {po.number} has no line {item['po_line_id']}")
        asked[line.id] = asked.get(line.id, 0) + item["qty"]
        if asked[line.id] > line.qty - line.received_qty:
            raise ApiError("QTY_EXCEEDS_OPEN",
                           f"Line {line.id} has {line.qty - line.received_qty} open, asked {asked[line.id]}")
        picks.append((line, item["qty"], bool(item.get("use_po_price"))))
    if not picks:
        raise ApiError("QTY_EXCEEDS_OPEN", f"PO {po.number} has nothing left to receive")
    part_set = {line.part_id for line, _, _ in picks}
    if policy == "price_list":
        policy_prices = pricing.latest_list_prices(po.supplier_id, part_set, doc_date)
    elif policy == "latest_po":
        policy_prices = pricing.latest_po_prices(po.supplier_id, part_set, doc_date)
    else:
        policy_prices = {}
    out = []
    for line, qty, keep in picks:
        po_price = Decimal(line.unit_price)
        found = None if keep else policy_prices.get(line.part_id)
        applied, source = (Decimal(found), policy) if found is not None else (po_price, "po")
        out.append((line, qty, applied, source))
    return out


def line_amount(part_id: int, qty: int, applied: Decimal) -> int:
    """A line's amount in cents, or VALIDATION_ERROR when it is too large to store."""
    try:
        return checked_amount_cents(qty, applied)
    except ValueError as exc:
        raise ApiError("VALIDATION_ERROR", f"Part {part_id}: {exc}") from exc


def convert(po_id: int, policy: str, number: str, doc_date: date, wanted: list[dict] | None) -> Document:
    """PO → receipt, in full (``wanted`` None: every open quantity) or in part."""
    po = get_po(po_id, lock=True)
    lines = {line.id: line for line in po_lines(po.id, lock=True)}  # racing conversions queue here
    picks = price_picks(po, lines, policy, doc_date, wanted)
    doc = Document(kind="receipt", number=number, counterparty_id=po.supplier_id, po_id=po.id,
                   doc_date=doc_date, currency=po.currency, pricing_policy=policy)
    _claim_number(doc)
    rows = []
    for line, qty, applied, source in picks:
        rows.append(_line_row(doc, line.part_id, qty, applied, source, Decimal(line.unit_price), line.id))
        line.received_qty += qty
    db.session.execute(insert(DocumentLine), rows)
    variance_sums.add_lines(rows)
    db.session.flush()
    return doc


def create_document(args: dict) -> Document:
    """A receipt without a PO, a return (quantities stored negative) or a delivery."""
    kind = args["kind"]
    cp = parts.get_counterparty(args["counterparty_id"], "customer" if kind == "delivery" else "supplier")
    doc = Document(kind=kind, number=args["number"], counterparty_id=cp.id, doc_date=args["doc_date"],
                   currency=args.get("currency") or cp.currency, pricing_policy="manual")
    _claim_number(doc)
    sign = -1 if kind == "return" else 1
    returned = _receipt_lines(cp.id, kind, args["lines"])
    rows = []
    for line in args["lines"]:
        of = returned.get(line.get("receipt_line_id"))
        part_id = _resolve_part(line) if line.get("part_id") or line.get("part_no") else of.part_id
        if of is not None and part_id != of.part_id:
            raise ApiError("VALIDATION_ERROR", f"Receipt line {of.id} is of part {of.part_id}, not {part_id}")
        rows.append({**_line_row(doc, part_id, sign * line["qty"], line["unit_price"], "manual"),
                     "return_of_line_id": of.id if of is not None else None})
    _take_returned(args["lines"])
    db.session.execute(insert(DocumentLine), rows)
    variance_sums.add_lines(rows)  # manual lines have no PO price: nothing today, kept with every writer
    db.session.flush()
    return doc


def _receipt_lines(supplier_id: int, kind: str, lines: list[dict]) -> dict[int, DocumentLine]:
    """The receipt lines a return names, checked: receipt lines of this supplier."""
    ids = {line["receipt_line_id"] for line in lines if line.get("receipt_line_id")}
    if not ids:
        return {}
    if kind != "return":
        raise ApiError("VALIDATION_ERROR", "receipt_line_id is for return lines only")
    found = {line.id: line for line in db.session.scalars(
        select(DocumentLine).join(Document, Document.id == DocumentLine.document_id)
        .where(DocumentLine.id.in_(ids), Document.kind == "receipt", DocumentLine.counterparty_id == supplier_id))}
    missing = sorted(ids - found.keys())
    if missing:
        raise ApiError("VALIDATION_ERROR", f"No receipt line {missing[0]} of this supplier",
                       details={"receipt_line_id": missing[0]})
    return found


def _take_returned(lines: list[dict]) -> None:
    """Count each named receipt line's returned quantity up by what this return takes,
    with one conditional UPDATE per receipt line (``returned_qty + asked <= qty``): two
    returns at once queue on the line's row lock and the second one's condition is
    checked against the first one's committed count, so together they never exceed
    what was received. Refused (RETURN_EXCEEDS_RECEIVED, with what is still returnable):
    the request rolls back and nothing of the return is written. Lines in id order, so
    concurrent returns lock them in the same order."""
    asked: dict[int, int] = {}
    for line in lines:
        if line.get("receipt_line_id"):
            asked[line["receipt_line_id"]] = asked.get(line["receipt_line_id"], 0) + line["qty"]
    for line_id in sorted(asked):
        qty = asked[line_id]
        taken = db.session.execute(
            update(DocumentLine).where(DocumentLine.id == line_id, DocumentLine.returned_qty + qty <= DocumentLine.qty)
            .values(returned_qty=DocumentLine.returned_qty + qty).execution_options(synchronize_session=False)).rowcount
        if not taken:
            received, already = db.session.execute(select(DocumentLine.qty, DocumentLine.returned_qty)
                                                   .where(DocumentLine.id == line_id)).one()
            raise ApiError("RETURN_EXCEEDS_RECEIVED",
                           f"Receipt line {line_id}: {received} received, {already} returned already, "
                           f"{received - already} returnable; asked {qty}",
                           details={"receipt_line_id": line_id, "received": received, "returned": already,
                                    "returnable": received - already, "asked": qty})


def get_document(doc_id: int) -> Document:
    return get_or_404(Document, doc_id)


def document_lines(doc_id: int) -> list[DocumentLine]:
    return db.session.scalars(select(DocumentLine).where(DocumentLine.document_id == doc_id)
                              .order_by(DocumentLine.id)).all()


def po_with_lines(po: PurchaseOrder) -> dict:
    """The PO, its supplier's code and name, and its lines with each part's number and brand."""
    lines = po_lines(po.id)
    named = {pid: (no, brand) for pid, no, brand in db.session.execute(
        select(Part.id, Part.part_no, Part.brand).where(Part.id.in_({line.part_id for line in lines})))}
    supplier = db.session.get(Counterparty, po.supplier_id)
    return {**columns(po), "supplier_code": supplier.code, "supplier_name": supplier.name,
            "lines": [{**columns(line), "part_no": named[line.part_id][0], "brand": named[line.part_id][1]}
                      for line in lines]}


def document_with_lines(doc: Document) -> dict:
    return {**columns(doc), "lines": document_lines(doc.id)}

"""Sales deliveries to business customers (the receivable side), imported from a file.

Rows with the same number make one delivery. A bad row is reported and left out;
a number that already exists is refused (re-importing a file adds nothing): a file
whose every delivery exists is 409 ``ALREADY_IMPORTED``.
"""

from __future__ import annotations

import re

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation import parts, variance_sums
from backend.reconciliation.imports import (
    BATCH,
    Report,
    has_control,
    no_valid_rows,
    parse_date,
    parse_qty,
    parse_upload,
    quote,
    text,
)
from backend.reconciliation.models import Counterparty, Document, DocumentLine
from backend.reconciliation.money import checked_amount_cents, line_amount_cents, parse_price

MAX_QTY = 10**9  # as in the API (and inside the INTEGER column)
COLUMNS = ("customer_code", "number", "date", "part_no", "brand", "qty", "unit_price")


def _check_row(row: dict, customers: dict, known: dict) -> tuple[str, str | ValueError, str | None] | dict:
    """The clean row, or (column, reason, code); a ``Refused`` reason carries its own code."""
    code = text(row.get("customer_code"))
    if code not in customers:
        return "customer_code", f"unknown customer {quote(code)!r}", "UNKNOWN_CUSTOMER"
    if not text(row.get("number")):
        return "number", "empty", "MISSING_VALUE"
    if len(text(row.get("number"))) > 64:
        return "number", "longer than 64 characters", "TOO_LONG"
    if has_control(text(row.get("number"))):
        return "number", "contains control characters", "CONTROL_CHARACTERS"
    currency = text(row.get("currency")).upper()
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        return "currency", f"not a currency code: {currency[:20]!r}", "UNKNOWN_CURRENCY"
    try:
        day = parse_date(row.get("date"))
    except ValueError as exc:
        return "date", exc, None
    part_key = (text(row.get("part_no")), text(row.get("brand")))
    if part_key not in known:
        return "part_no", f"unknown part {quote(part_key[0])} / {quote(part_key[1])}", "UNKNOWN_PART"
    try:
        qty = parse_qty(row.get("qty"))
    except ValueError as exc:
        return "qty", exc, None
    if qty <= 0:
        return "qty", "quantity must be positive (returns are their own documents)", "TOO_SMALL"
    if qty > MAX_QTY:
        return "qty", f"more than {MAX_QTY}", "TOO_LARGE"
    try:
        price = parse_price(row.get("unit_price"))
        checked_amount_cents(qty, price)
    except ValueError as exc:
        return "unit_price", exc, None
    return {"customer_id": customers[code], "number": text(row["number"]), "date": day, "part_id": known[part_key],
            "qty": qty, "unit_price": price, "currency": currency}


def import_deliveries(filename: str, data: bytes) -> dict:
    report = Report()
    rows = parse_upload(filename, data, COLUMNS, ("currency",), report)  # before any query
    customers = parts.counterparty_ids("customer", {text(r.get("customer_code")) for _, r in rows})
    known = parts.part_ids({(text(r.get("part_no")), text(r.get("brand"))) for _, r in rows})
    numbers = sorted({text(r.get("number")) for _, r in rows})
    taken = set()
    for i in range(0, len(numbers), BATCH):
        taken.update(db.session.scalars(select(Document.number).where(Document.number.in_(numbers[i:i + BATCH]))))
    currencies = dict(db.session.execute(select(Counterparty.id, Counterparty.currency)
                                         .where(Counterparty.id.in_(sorted(customers.values())))).all())
    docs: dict[str, dict] = {}
    lines: list[tuple[str, dict]] = []
    existing = 0  # rows refused only because their delivery was imported before
    for number, row in rows:
        clean = _check_row(row, customers, known)
        if isinstance(clean, tuple):
            report.reject(number, *clean)
            continue
        if clean["number"] in taken:
            report.reject(number, "number", f"delivery {quote(clean['number'])} exists", code="DOCUMENT_EXISTS")
            existing += 1
            continue
        head = {"kind": "delivery", "number": clean["number"], "counterparty_id": clean["customer_id"],
                "doc_date": clean["date"], "currency": clean["currency"] or currencies[clean["customer_id"]],
                "pricing_policy": "manual"}
        first = docs.setdefault(clean["number"], head)
        if first != head:
            report.reject(number, "number", "customer, date or currency differs from the delivery's first row",
                          code="DIFFERS_FROM_FIRST_ROW")
            continue
        lines.append((clean["number"], clean))
    report.accepted = len(lines)
    if not lines and existing and existing == report.rejected_total:
        found = report.to_dict()
        raise ApiError("ALREADY_IMPORTED", "Already imported: every delivery of this file exists; nothing was added",
                       details={"documents": len({text(r.get("number")) for _, r in rows}), "report": found})
    if not lines:
        raise no_valid_rows(report)
    used = sorted({n for n, _ in lines})
    heads = [docs[n] for n in used]
    try:  # the numbers were free when read; an import racing this one may have taken one since
        with db.session.begin_nested():
            for i in range(0, len(heads), BATCH):  # bounded batches
                db.session.execute(insert(Document), heads[i:i + BATCH])
    except IntegrityError as exc:
        raise ApiError("DUPLICATE_NUMBER", "A delivery number of this file was imported at the same moment; "
                       "import the file again to see which") from exc
    ids: dict[str, int] = {}
    for i in range(0, len(used), BATCH):
        ids.update(db.session.execute(select(Document.number, Document.id)
                                      .where(Document.number.in_(used[i:i + BATCH]))).all())
    for i in range(0, len(lines), BATCH):
        rows = [
            {"document_id": ids[n], "counterparty_id": c["customer_id"], "doc_date": c["date"],
             "currency": docs[n]["currency"], "part_id": c["part_id"], "qty": c["qty"], "po_price": None,
             "unit_price": c["unit_price"], "price_diff": 0, "price_source": "manual",
             "amount_cents": line_amount_cents(c["qty"], c["unit_price"])} for n, c in lines[i:i + BATCH]]
        db.session.execute(insert(DocumentLine), rows)
        variance_sums.add_lines(rows)  # no PO price: adds nothing today, kept with every line writer
    return {"documents": len(used), "report": report.to_dict()}

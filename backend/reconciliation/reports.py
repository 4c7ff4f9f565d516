"""The price-variance report: a page of lines with the sums, or every line as CSV or XLSX.

The downloads are built here as bytes or a temporary file; the view sends them."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date

from backend.cells import text_cell
from backend.extensions import db
from backend.reconciliation import xlsx_stream
from backend.reconciliation.money import cents_text, price_text
from backend.reconciliation.repricing import variance_query, variance_summary

COLUMNS = ["supplier_code", "supplier", "document", "doc_date", "part_no", "brand", "qty", "po_price",
           "unit_price", "price_diff", "price_source", "amount", "po_amount", "diff_amount"]
# Text from outside (suppliers' names, numbers and codes), guarded in CSV (backend.cells).
TEXT_COLUMNS = {"supplier_code", "supplier", "document", "part_no", "brand"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _shape(row) -> dict:
    return {"line_id": row.id, "supplier_code": row.supplier_code, "supplier": row.supplier,
            "document": row.document, "doc_date": row.doc_date.isoformat(), "part_no": row.part_no,
            "brand": row.brand, "qty": row.qty, "po_price": price_text(row.po_price),
            "unit_price": price_text(row.unit_price), "price_diff": price_text(row.price_diff),
            "price_source": row.price_source, "amount": cents_text(row.amount_cents),
            "po_amount": cents_text(row.po_amount_cents),
            "diff_amount": cents_text(row.amount_cents - row.po_amount_cents)}


def variance_page(args: dict) -> dict:
    """A page of the lines, the total count and the sums by supplier, brand and part."""
    query = variance_query(args)
    page, per_page = args["page"], args["per_page"]
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    summary = variance_summary(args)  # the count and the sums, from the kept sums
    total = summary.pop("total")
    return {"items": [_shape(r) for r in rows], "page": page, "per_page": per_page, "total": total, **summary}


def _all_rows(args: dict):
    return (_shape(r) for r in db.session.execute(variance_query(args).execution_options(yield_per=5000)))


def variance_csv(args: dict) -> str:
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the BOM makes Excel read UTF-8
    out = csv.writer(buffer)
    out.writerow(COLUMNS)
    out.writerows([text_cell(row[c]) if c in TEXT_COLUMNS else row[c] for c in COLUMNS] for row in _all_rows(args))
    return buffer.getvalue()


PRICE_COLUMNS = {"po_price", "unit_price", "price_diff"}
MONEY_COLUMNS = {"amount", "po_amount", "diff_amount"}


def _xlsx_cell(column: str, value):
    """Prices and amounts as numbers with their format (from their exact decimal text),
    the date as a date; the rest as they are (text stays text: never a formula)."""
    if value is None:
        return None
    if column in PRICE_COLUMNS:
        return (value, xlsx_stream.PRICE)
    if column in MONEY_COLUMNS:
        return (value, xlsx_stream.MONEY)
    if column == "doc_date":
        return date.fromisoformat(value)
    return value


def variance_xlsx(args: dict):
    """A temporary file holding the workbook (deleted when closed, after it is sent),
    streamed row by row by ``xlsx_stream`` in constant memory."""
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the caller sends and closes it
    with xlsx_stream.SheetWriter(handle.name, "price variance", "Price variance", {"report": "price-variance"}) as w:
        w.row(COLUMNS, xlsx_stream.BOLD)
        for row in _all_rows(args):
            w.row([_xlsx_cell(c, row[c]) for c in COLUMNS])
    handle.seek(0)
    return handle

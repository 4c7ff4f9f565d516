"""The reconciliation service: what the views, the CLI and the jobs call.

A facade over the modules that hold the rules (``parts``, ``pricing``, ``receipts``,
``deliveries``, ``repricing``, ``reports``, ``runs``, ``sending``, ``statements``,
``workflow``, ``exports``, ``supplier_diff``), so callers need one import and never
reach past it. Nothing here reads the Flask request, and nothing commits: the request
or job boundary does (``backend.transactions``); only a run's steps, which commit as
they go, are units of work of their own (``runs``, ``sending``).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from backend.errors import ApiError
from backend.reconciliation import aging as aging_report
from backend.reconciliation import (
    batches,
    catalog,
    deliveries,
    exports,
    parts,
    pricing,
    receipts,
    reports,
    repricing,
    runs,
    sending,
    supplier_diff,
    workflow,
)
from backend.reconciliation import resolutions as diff_resolutions
from backend.reconciliation import statements as engine
from backend.reconciliation.money import cents_text, price_text
from backend.reconciliation.periods import parse_month, shop_date

# --- counterparties and parts ------------------------------------------------------

create_counterparty = parts.create_counterparty
update_counterparty = parts.update_counterparty
get_counterparty = parts.get_counterparty
list_counterparties = parts.list_counterparties
create_part = parts.create_part
list_parts = parts.list_parts

# --- price lists ----------------------------------------------------------------------

import_price_list = pricing.import_price_list
list_price_lists = pricing.list_price_lists
preview_price_list = catalog.preview_price_list
price_history = catalog.price_history
list_purchase_orders = catalog.list_purchase_orders
list_documents = catalog.list_documents
preview_convert = catalog.preview_convert


def latest_price(supplier_id: int, part_id: int, as_of: date | None) -> dict:
    """The latest list price of a part from a supplier as of a date (default: today in Shanghai)."""
    parts.get_counterparty(supplier_id, "supplier")
    as_of = as_of or shop_date()
    found = pricing.latest_list_prices(supplier_id, {part_id}, as_of).get(part_id)
    if found is None:
        raise ApiError("NOT_FOUND", f"No price list of this supplier prices part {part_id} on {as_of}")
    return {"supplier_id": supplier_id, "part_id": part_id, "as_of": as_of, "unit_price": price_text(found)}


# --- purchase orders, receipts, deliveries, re-pricing ---------------------------------


def create_purchase_order(args: dict) -> dict:
    return receipts.po_with_lines(receipts.create_po(args))


def purchase_order(po_id: int) -> dict:
    return receipts.po_with_lines(receipts.get_po(po_id))


def receive(po_id: int, policy: str, number: str, doc_date: date, lines: list[dict] | None) -> dict:
    """转单: PO lines to a goods receipt, in full (``lines`` None) or in part."""
    return receipts.document_with_lines(receipts.convert(po_id, policy, number, doc_date, lines))


def create_document(args: dict) -> dict:
    return receipts.document_with_lines(receipts.create_document(args))


def document(doc_id: int) -> dict:
    return receipts.document_with_lines(receipts.get_document(doc_id))


import_deliveries = deliveries.import_deliveries
reprice = repricing.reprice
variance_page = reports.variance_page
variance_csv = reports.variance_csv
variance_xlsx = reports.variance_xlsx

# --- statement runs -------------------------------------------------------------------

get_run = runs.get_run
open_run = runs.open_run
start_run = runs.start_generation
start_sending = runs.start_sending
check_sendable = runs.check_sendable
run_deliveries = runs.deliveries
unsent_deliveries = runs.unsent
generate_run = runs.generate
generate_period = runs.generate_period
send_run = runs.send
record_run_failure = runs.record_failure
run_statement_ids = sending.run_statements


def run_periods(side: str, cycle: str, month: str) -> list[engine.Step]:
    """The periods a run of this side, cycle and month generates, in order."""
    return engine.plan(side, cycle, *parse_month(month))


# --- statements ---------------------------------------------------------------------------

list_statements = workflow.list_statements
compare_supplier_statement = supplier_diff.diff_file


def statement(statement_id: int) -> dict:
    return workflow.describe(workflow.get_statement(statement_id))


def statement_lines(statement_id: int, version: int | None, page: int, per_page: int) -> dict:
    """A page of the frozen lines of a version (default: the current one), with its totals."""
    found = workflow.get_statement(statement_id)
    version = version or found.version
    rows = exports.line_rows(found, version, page, per_page)
    items = [{"document_line_id": line_id, "doc_date": day, "document": number, "part_no": part_no,
              "brand": brand, "qty": qty, "unit_price": price_text(price), "amount": cents_text(cents),
              "amount_cents": cents, "currency": currency}
             for day, number, part_no, brand, qty, price, cents, currency, line_id in rows]
    totals = engine.totals(found.id, version)
    return {"items": items, "page": page, "per_page": per_page, "total": sum(t["lines"] for t in totals),
            "version": version, "totals": totals}


def transition(statement_id: int, action: str, admin_id: int | None, notes: list[dict] | None,
               note: str) -> dict:
    return workflow.describe(workflow.transition(statement_id, action, admin_id, notes, note))


def regenerate(statement_id: int, admin_id: int | None) -> dict:
    """A draft takes in newly open lines and current prices as a new version; the diff."""
    return _priced(workflow.regenerate(statement_id, admin_id))


def version_diff(statement_id: int, from_version: int, to_version: int) -> dict:
    return _priced(engine.diff(workflow.get_statement(statement_id), from_version, to_version))


def _priced(result: dict) -> dict:
    """Prices as the fixed 6-decimal text of every price the API shows."""
    def clean(row: dict) -> dict:
        return {k: price_text(v) if "price" in k else v for k, v in row.items()}

    return {**result, **{k: [clean(r) for r in result[k]] for k in ("added", "removed", "changed")}}


def statement_events(statement_id: int) -> dict:
    workflow.get_statement(statement_id)
    return {"items": workflow.events(statement_id)}


def export_statement(statement_id: int, fmt: str, version: int | None) -> tuple[Path, str, str]:
    """The file of the current version (written, or reused if intact), its content type
    and its Content-Disposition. Only the current version is exported: ``version``, if
    given, must name it."""
    found = workflow.get_statement(statement_id)
    if version not in (None, found.version):
        raise ApiError("VALIDATION_ERROR", f"Only the current version ({found.version}) is exported; "
                       f"read version {version} through its lines", details={"field": "version"})
    row = exports.export(found, fmt, sending.export_dir() / "downloads")
    disposition = exports.content_disposition(found, parts.get_counterparty(found.counterparty_id), fmt)
    return Path(row.path), exports.CONTENT_TYPES[fmt], disposition


# --- the finance console: runs list, run totals and zip, resolved differences, aging ----

list_runs = batches.list_runs
run_totals = batches.run_totals
run_zip = batches.run_zip
resolve_difference = diff_resolutions.resolve
resolutions = diff_resolutions.resolutions
aging = aging_report.aging
aging_xlsx = aging_report.aging_xlsx

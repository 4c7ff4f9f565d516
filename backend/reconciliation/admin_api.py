"""Finance: reconciliation endpoints under /api/v1/admin (role ``finance``).

Master data, price lists, purchase orders, receipts and deliveries live here; the
statement runs and statements in ``statements_api``. Both register their routes on
the one blueprint of ``blueprint``; importing this module registers both (``blp`` is
what ``create_app`` registers).
"""

from __future__ import annotations

from flask import Response, current_app, send_file

from backend.apidoc import errors
from backend.errors import ApiError
from backend.reconciliation import (  # noqa: F401 - catalog_api, console_api, statements_api: their routes join ``blp``
    catalog_api,
    console_api,
    service,
    statements_api,
)
from backend.reconciliation import schemas as s
from backend.reconciliation.blueprint import blp, finance
from backend.reconciliation.reports import XLSX
from backend.transactions import run_in_transaction

# A route listing a 422 code of its own lists VALIDATION_ERROR too: its own 422 entry
# replaces the one ``blp.arguments`` would add.
IMPORT_ERRORS = ("IMPORT_UNREADABLE", "IMPORT_BAD_COLUMNS", "IMPORT_NO_VALID_ROWS", "PAYLOAD_TOO_LARGE",
                 "VALIDATION_ERROR")


@blp.post("/reconciliation/counterparties")
@finance
@errors("DUPLICATE_NUMBER", "MALFORMED_JSON")
@blp.arguments(s.CounterpartyArgs)
@blp.response(201, s.CounterpartySchema)
def create_counterparty(args):
    """A supplier or business customer with its billing cycle, cut-off, currency and e-mail."""
    return service.create_counterparty(args)


@blp.get("/reconciliation/counterparties")
@finance
@blp.arguments(s.CounterpartyListArgs, location="query")
@blp.response(200, s.CounterpartyPage)
def list_counterparties(args):
    return service.list_counterparties(args.get("kind"), args["page"], args["per_page"], args.get("q"))


@blp.get("/reconciliation/counterparties/<int:cp_id>")
@finance
@errors("COUNTERPARTY_NOT_FOUND")
@blp.response(200, s.CounterpartySchema)
def get_counterparty(cp_id):
    return service.get_counterparty(cp_id)


@blp.patch("/reconciliation/counterparties/<int:cp_id>")
@finance
@errors("COUNTERPARTY_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(s.CounterpartyUpdateArgs)
@blp.response(200, s.CounterpartySchema)
def update_counterparty(args, cp_id):
    return service.update_counterparty(cp_id, args)


@blp.post("/reconciliation/parts")
@finance
@errors("DUPLICATE_NUMBER", "MALFORMED_JSON")
@blp.arguments(s.PartArgs)
@blp.response(201, s.PartSchema)
def create_part(args):
    # A racing writer of the same new brand may lose as a deadlock victim (MariaDB): run again
    return run_in_transaction(lambda: service.create_part(args), attempts=5)


@blp.get("/reconciliation/parts")
@finance
@blp.arguments(s.PartListArgs, location="query")
@blp.response(200, s.PartPage)
def list_parts(args):
    return service.list_parts(args.get("q"), args["page"], args["per_page"])


@blp.post("/reconciliation/suppliers/<int:supplier_id>/price-lists")
@finance
@errors("COUNTERPARTY_NOT_FOUND", "WRONG_COUNTERPARTY_KIND", "CONFLICT", *IMPORT_ERRORS)
@blp.arguments(s.PriceListForm, location="form")
@blp.arguments(s.FileUpload, location="files")
@blp.response(201, s.PriceListImportSchema)
def import_price_list(form, files, supplier_id):
    """Import a CSV or XLSX price list (columns part_no, brand, unit_price; 型号/品牌/单价 work too).

    Good rows become a new version in force from ``effective_date``; the report lists
    each rejected row with its column and reason. No good row: 422, nothing saved."""
    upload = files["file"]
    price_list, report = service.import_price_list(supplier_id, upload.filename or "", upload.read(),
                                                   form["effective_date"], form.get("currency"))
    return {"price_list": price_list, "report": report.to_dict()}


@blp.get("/reconciliation/suppliers/<int:supplier_id>/price-lists")
@finance
@errors("COUNTERPARTY_NOT_FOUND", "WRONG_COUNTERPARTY_KIND")
@blp.response(200, s.PriceListSchema(many=True))
def list_price_lists(supplier_id):
    return service.list_price_lists(supplier_id)


@blp.get("/reconciliation/suppliers/<int:supplier_id>/prices/<int:part_id>")
@finance
@errors("COUNTERPARTY_NOT_FOUND", "WRONG_COUNTERPARTY_KIND", "NOT_FOUND", "VALIDATION_ERROR")
@blp.arguments(s.LatestPriceArgs, location="query")
@blp.response(200, s.LatestPriceSchema)
def latest_price(args, supplier_id, part_id):
    """The latest list price of a part from a supplier as of a date (default: today in Shanghai)."""
    return service.latest_price(supplier_id, part_id, args.get("as_of"))


@blp.post("/reconciliation/purchase-orders")
@finance
@errors("COUNTERPARTY_NOT_FOUND", "WRONG_COUNTERPARTY_KIND", "PART_NOT_FOUND", "DUPLICATE_NUMBER",
        "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(s.PurchaseOrderArgs)
@blp.response(201, s.PurchaseOrderSchema)
def create_po(args):
    return service.create_purchase_order(args)


@blp.get("/reconciliation/purchase-orders/<int:po_id>")
@finance
@errors("PURCHASE_ORDER_NOT_FOUND")
@blp.response(200, s.PurchaseOrderSchema)
def get_po(po_id):
    return service.purchase_order(po_id)


@blp.post("/reconciliation/purchase-orders/<int:po_id>/receipts")
@finance
@errors("PURCHASE_ORDER_NOT_FOUND", "NOT_FOUND", "QTY_EXCEEDS_OPEN", "DUPLICATE_NUMBER", "VALIDATION_ERROR",
        "MALFORMED_JSON")
@blp.arguments(s.ConvertArgs)
@blp.response(201, s.DocumentSchema)
def convert(args, po_id):
    """转单: PO lines to a goods receipt, in full (no ``lines``) or in part, priced by ``policy``.
    404 ``NOT_FOUND`` names a line the PO does not have."""
    return service.receive(po_id, args["policy"], args["number"], args["doc_date"], args.get("lines"))


@blp.post("/reconciliation/documents")
@finance
@errors("COUNTERPARTY_NOT_FOUND", "WRONG_COUNTERPARTY_KIND", "PART_NOT_FOUND", "DUPLICATE_NUMBER",
        "VALIDATION_ERROR", "MALFORMED_JSON", "RETURN_EXCEEDS_RECEIVED")
@blp.arguments(s.DocumentArgs)
@blp.response(201, s.DocumentSchema)
def create_document(args):
    """A receipt without a PO, a return (a negative receipt) or a delivery to a customer.

    A return line may name the receipt line it returns (``receipt_line_id``): all returns
    of a receipt line together never exceed its quantity (422 ``RETURN_EXCEEDS_RECEIVED``,
    ``details`` with ``received``, ``returned``, ``returnable`` and ``asked``; nothing is
    written); a line that is not a receipt line of this supplier is 422 ``VALIDATION_ERROR``."""
    return service.create_document(args)


@blp.get("/reconciliation/documents/<int:doc_id>")
@finance
@errors("NOT_FOUND")
@blp.response(200, s.DocumentSchema)
def get_document(doc_id):
    return service.document(doc_id)


@blp.post("/reconciliation/deliveries/import")
@finance
@errors("DUPLICATE_NUMBER", "ALREADY_IMPORTED", *IMPORT_ERRORS)
@blp.arguments(s.FileUpload, location="files")
@blp.response(201, s.DeliveryImportSchema)
def import_deliveries(files):
    """Deliveries from CSV/XLSX: customer_code, number, date, part_no, brand, qty, unit_price[, currency].
    A file whose every delivery was imported before is 409 ``ALREADY_IMPORTED`` (nothing added)."""
    upload = files["file"]
    return service.import_deliveries(upload.filename or "", upload.read())


@blp.post("/reconciliation/receipts/reprice")
@finance
@errors("INVALID_DATE_RANGE", "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(s.RepriceArgs)
@blp.response(200, s.RepriceResult)
def reprice(args):
    """Re-price open (or draft-statement) receipt lines from the latest price lists, in one UPDATE.
    ``date_from`` after ``date_to`` is 422 ``INVALID_DATE_RANGE``."""
    if args["date_from"] > args["date_to"]:
        raise ApiError("INVALID_DATE_RANGE", f"date_from {args['date_from']} is after date_to {args['date_to']}")
    return {"lines": service.reprice(args.get("supplier_id"), args["date_from"], args["date_to"])}


@blp.get("/reconciliation/reports/price-variance")
@finance
@blp.arguments(s.VarianceArgs, location="query")
@blp.response(200, s.VariancePage)
@blp.alt_response(200, schema=s.FILE, content_type="text/csv", success=True,
                  description="format=csv: every line")
@blp.alt_response(200, schema=s.FILE, content_type=XLSX, success=True, description="format=xlsx: every line")
def price_variance(args):
    """Receipt lines priced differently from their PO, with sums by supplier, brand and part;
    ``format=csv|xlsx`` downloads every line."""
    if args["format"] == "csv":
        return Response(service.variance_csv(args), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=price-variance.csv"})
    if args["format"] == "xlsx":
        return send_file(service.variance_xlsx(args), as_attachment=True, download_name="price-variance.xlsx",
                         mimetype=XLSX)
    # The body is built in the documented shape (VariancePage): unfiltered, ``by_part`` has a
    # row per part (20,000 in the bench), and marshmallow's per-field pass over them cost
    # more than the whole report's target; unsorted keys save a third of the encoding.
    return Response(current_app.json.dumps(service.variance_page(args), sort_keys=False),
                    mimetype="application/json")


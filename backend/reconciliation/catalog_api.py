"""Finance: what the console's price and purchase pages read besides ``admin_api``'s
routes: a price-list preview, a part's price history, purchase orders and documents
listed, and a conversion (转单) priced before it is saved. Registered on the one
finance blueprint (``blueprint.blp``); ``admin_api`` imports this module."""

from __future__ import annotations

from backend.apidoc import errors
from backend.reconciliation import catalog_schemas as cs
from backend.reconciliation import schemas as s
from backend.reconciliation import service
from backend.reconciliation.blueprint import blp, finance

IMPORT_ERRORS = ("IMPORT_UNREADABLE", "IMPORT_BAD_COLUMNS", "PAYLOAD_TOO_LARGE", "VALIDATION_ERROR")


@blp.post("/reconciliation/suppliers/<int:supplier_id>/price-lists/preview")
@finance
@errors("COUNTERPARTY_NOT_FOUND", "WRONG_COUNTERPARTY_KIND", *IMPORT_ERRORS)
@blp.arguments(s.PriceListForm, location="form")
@blp.arguments(s.FileUpload, location="files")
@blp.response(200, cs.PriceListPreviewSchema)
def preview_price_list(form, files, supplier_id):
    """The row-level report an import of this file would give (row, column, reason) and the
    version it would make. Saves nothing; a file with no good row is 200 with
    ``applicable`` false (the import itself would answer 422 IMPORT_NO_VALID_ROWS)."""
    upload = files["file"]
    return service.preview_price_list(supplier_id, upload.filename or "", upload.read(), form["effective_date"],
                                      form.get("currency"))


@blp.get("/reconciliation/parts/<int:part_id>/price-history")
@finance
@errors("PART_NOT_FOUND")
@blp.response(200, cs.PriceHistorySchema)
def price_history(part_id):
    """Every list price of one part across all suppliers, a series per supplier."""
    return service.price_history(part_id)


@blp.get("/reconciliation/purchase-orders")
@finance
@blp.arguments(cs.PurchaseOrderListArgs, location="query")
@blp.response(200, cs.PurchaseOrderPage)
def list_purchase_orders(args):
    """POs newest first; ``status`` open (nothing received), partial or received."""
    return service.list_purchase_orders(args)


@blp.post("/reconciliation/purchase-orders/<int:po_id>/receipts/preview")
@finance
@errors("PURCHASE_ORDER_NOT_FOUND", "NOT_FOUND", "QTY_EXCEEDS_OPEN", "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(cs.ConvertPreviewArgs)
@blp.response(200, cs.ConvertPreviewSchema)
def preview_convert(args, po_id):
    """What POST …/receipts would save for the same policy, date and lines, line by line,
    with each price difference; saves nothing."""
    return service.preview_convert(po_id, args["policy"], args["doc_date"], args.get("lines"))


@blp.get("/reconciliation/documents")
@finance
@blp.arguments(cs.DocumentListArgs, location="query")
@blp.response(200, cs.DocumentPage)
def list_documents(args):
    """Receipts, returns and deliveries, newest first, by kind, counterparty or PO."""
    return service.list_documents(args)

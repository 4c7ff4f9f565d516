"""Finance: reconciliation endpoints under /api/v1/admin (role ``finance``).

Master data, price lists, purchase orders, receipts and deliveries live here; the
statement runs and statements in ``statements_api`` (the same blueprint).
"""

from __future__ import annotations

from flask_smorest import Blueprint

from backend.auth.guards import admin_required
from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation import deliveries, parts, pricing, receipts, repricing
from backend.reconciliation import schemas as s
from backend.reconciliation.periods import shop_date
from backend.reconciliation.reports import variance_response

blp = Blueprint("admin_reconciliation", __name__, url_prefix="/api/v1/admin", description="Reconciliation (finance)")
finance = admin_required("finance")


@blp.post("/reconciliation/counterparties")
@finance
@blp.arguments(s.CounterpartyArgs)
@blp.response(201, s.CounterpartySchema)
def create_counterparty(args):
    """A supplier or business customer with its billing cycle, cut-off, currency and e-mail."""
    cp = parts.create_counterparty(args)
    db.session.commit()
    return cp


@blp.get("/reconciliation/counterparties")
@finance
@blp.arguments(s.CounterpartyListArgs, location="query")
@blp.response(200, s.CounterpartyPage)
def list_counterparties(args):
    return parts.list_counterparties(args.get("kind"), args["page"], args["per_page"])


@blp.get("/reconciliation/counterparties/<int:cp_id>")
@finance
@blp.response(200, s.CounterpartySchema)
def get_counterparty(cp_id):
    return parts.get_counterparty(cp_id)


@blp.patch("/reconciliation/counterparties/<int:cp_id>")
@finance
@blp.arguments(s.CounterpartyUpdateArgs)
@blp.response(200, s.CounterpartySchema)
def update_counterparty(args, cp_id):
    cp = parts.update_counterparty(cp_id, args)
    db.session.commit()
    return cp


@blp.post("/reconciliation/parts")
@finance
@blp.arguments(s.PartArgs)
@blp.response(201, s.PartSchema)
def create_part(args):
    part = parts.create_part(args)
    db.session.commit()
    return part


@blp.get("/reconciliation/parts")
@finance
@blp.arguments(s.PartListArgs, location="query")
@blp.response(200, s.PartPage)
def list_parts(args):
    return parts.list_parts(args.get("q"), args["page"], args["per_page"])


@blp.post("/reconciliation/suppliers/<int:supplier_id>/price-lists")
@finance
@blp.arguments(s.PriceListForm, location="form")
@blp.arguments(s.FileUpload, location="files")
def import_price_list(form, files, supplier_id):
    """Import a CSV or XLSX price list (columns part_no, brand, unit_price; 型号/品牌/单价 work too).

    Good rows become a new version in force from ``effective_date``; the report lists
    each rejected row with its column and reason. No good row: 422, nothing saved."""
    upload = files["file"]
    price_list, report = pricing.import_price_list(supplier_id, upload.filename or "", upload.read(),
                                                   form["effective_date"], form.get("currency"))
    db.session.commit()
    return {"price_list": s.PriceListSchema().dump(price_list), "report": report.to_dict()}, 201


@blp.get("/reconciliation/suppliers/<int:supplier_id>/price-lists")
@finance
@blp.response(200, s.PriceListSchema(many=True))
def list_price_lists(supplier_id):
    return pricing.list_price_lists(supplier_id)


@blp.get("/reconciliation/suppliers/<int:supplier_id>/prices/<int:part_id>")
@finance
@blp.arguments(s.LatestPriceArgs, location="query")
def latest_price(args, supplier_id, part_id):
    """The latest list price of a part from a supplier as of a date (default: today in Shanghai)."""
    parts.get_counterparty(supplier_id, "supplier")
    as_of = args.get("as_of") or shop_date()
    found = pricing.latest_list_prices(supplier_id, {part_id}, as_of).get(part_id)
    if found is None:
        raise ApiError("NOT_FOUND", f"No price list of this supplier prices part {part_id} on {as_of}")
    return {"supplier_id": supplier_id, "part_id": part_id, "as_of": as_of.isoformat(),
            "unit_price": s.Price().serialize("v", {"v": found})}


def columns(obj) -> dict:
    """A row's columns as a dict, for a response schema to shape along with extra keys."""
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


def _with_lines(obj, lines) -> dict:
    return {**columns(obj), "lines": lines}


def _po_out(po):
    return _with_lines(po, receipts.po_lines(po.id))


@blp.post("/reconciliation/purchase-orders")
@finance
@blp.arguments(s.PurchaseOrderArgs)
@blp.response(201, s.PurchaseOrderSchema)
def create_po(args):
    po = receipts.create_po(args)
    db.session.commit()
    return _po_out(po)


@blp.get("/reconciliation/purchase-orders/<int:po_id>")
@finance
@blp.response(200, s.PurchaseOrderSchema)
def get_po(po_id):
    return _po_out(receipts.get_po(po_id))


def _doc_out(doc):
    return _with_lines(doc, receipts.document_lines(doc.id))


@blp.post("/reconciliation/purchase-orders/<int:po_id>/receipts")
@finance
@blp.arguments(s.ConvertArgs)
@blp.response(201, s.DocumentSchema)
def convert(args, po_id):
    """转单: PO lines to a goods receipt, in full (no ``lines``) or in part, priced by ``policy``."""
    doc = receipts.convert(po_id, args["policy"], args["number"], args["doc_date"], args.get("lines"))
    db.session.commit()
    return _doc_out(doc)


@blp.post("/reconciliation/documents")
@finance
@blp.arguments(s.DocumentArgs)
@blp.response(201, s.DocumentSchema)
def create_document(args):
    """A receipt without a PO, a return (a negative receipt) or a delivery to a customer."""
    doc = receipts.create_document(args)
    db.session.commit()
    return _doc_out(doc)


@blp.get("/reconciliation/documents/<int:doc_id>")
@finance
@blp.response(200, s.DocumentSchema)
def get_document(doc_id):
    return _doc_out(receipts.get_document(doc_id))


@blp.post("/reconciliation/deliveries/import")
@finance
@blp.arguments(s.FileUpload, location="files")
def import_deliveries(files):
    """Deliveries from CSV/XLSX: customer_code, number, date, part_no, brand, qty, unit_price[, currency]."""
    upload = files["file"]
    result = deliveries.import_deliveries(upload.filename or "", upload.read())
    db.session.commit()
    return result, 201


@blp.post("/reconciliation/receipts/reprice")
@finance
@blp.arguments(s.RepriceArgs)
def reprice(args):
    """Re-price open (or draft-statement) receipt lines from the latest price lists, in one UPDATE."""
    count = repricing.reprice(args.get("supplier_id"), args["date_from"], args["date_to"])
    db.session.commit()
    return {"lines": count}


@blp.get("/reconciliation/reports/price-variance")
@finance
@blp.arguments(s.VarianceArgs, location="query")
def price_variance(args):
    """Receipt lines priced differently from their PO, with sums by supplier, brand and part;
    ``format=csv|xlsx`` downloads every line."""
    return variance_response(args)


from backend.reconciliation import statements_api  # noqa: E402,F401  (routes on this blueprint)

"""Schemas of the finance console's price and purchase endpoints (``catalog_api``)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.reconciliation.catalog import PO_STATES
from backend.reconciliation.models import DOC_KINDS
from backend.reconciliation.schemas import ConvertLine, ImportReport, PartSchema, plain
from backend.schemas import PageArgs, list_schema

_id = validate.Range(min=1, max=2**31 - 1)


class PriceListPreviewSchema(Schema):
    supplier_id = fields.Integer()
    version = fields.Integer(metadata={"description": "the version the import would make now"})
    effective_date = fields.Date()
    currency = fields.String()
    applicable = fields.Boolean(metadata={"description": "false: no good row, the import would be 422"})
    changed = fields.Integer(metadata={"description": "good rows whose price differs from the one in force"})
    report = fields.Nested(ImportReport)


class PricePoint(Schema):
    effective_date = fields.Date()
    version = fields.Integer()
    unit_price = fields.String(metadata={"description": "decimal text, 6 places"})


class PriceSeries(Schema):
    supplier_id = fields.Integer()
    supplier_code = fields.String()
    supplier_name = fields.String()
    currency = fields.String()
    points = fields.List(fields.Nested(PricePoint))


class PriceHistorySchema(Schema):
    part = fields.Nested(PartSchema)
    series = fields.List(fields.Nested(PriceSeries))


class _Dates(Schema):
    date_from = fields.Date()
    date_to = fields.Date()

    @validates_schema
    def _order(self, data, **kw):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ValidationError("date_from is after date_to", "date_to")


class PurchaseOrderListArgs(PageArgs, _Dates):
    supplier_id = fields.Integer(validate=_id)
    status = fields.String(validate=validate.OneOf(PO_STATES))
    number = fields.String(validate=[validate.Length(min=1, max=64), plain],
                           metadata={"description": "the start of the PO number"})


class PurchaseOrderRow(Schema):
    id = fields.Integer()
    number = fields.String()
    supplier_id = fields.Integer()
    supplier_code = fields.String()
    supplier_name = fields.String()
    order_date = fields.Date()
    currency = fields.String()
    lines = fields.Integer()
    qty = fields.Integer()
    received_qty = fields.Integer()
    status = fields.String(metadata={"description": "open, partial or received"})


class DocumentListArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(DOC_KINDS))
    counterparty_id = fields.Integer(validate=_id)
    po_id = fields.Integer(validate=_id)


class DocumentRow(Schema):
    id = fields.Integer()
    kind = fields.String()
    number = fields.String()
    counterparty_id = fields.Integer()
    counterparty_code = fields.String()
    counterparty_name = fields.String()
    po_id = fields.Integer(allow_none=True)
    doc_date = fields.Date()
    currency = fields.String()
    pricing_policy = fields.String()
    lines = fields.Integer()
    amount_cents = fields.Integer()
    amount = fields.String()


class ConvertPreviewArgs(Schema):
    policy = fields.String(required=True, validate=validate.OneOf(("po", "price_list", "latest_po")))
    doc_date = fields.Date(required=True)
    number = fields.String(validate=validate.Length(max=64), metadata={"description": "ignored: nothing is saved"})
    lines = fields.List(fields.Nested(ConvertLine), validate=validate.Length(min=1, max=5000))


class ConvertPreviewLine(Schema):
    po_line_id = fields.Integer()
    part_id = fields.Integer()
    part_no = fields.String()
    brand = fields.String()
    qty = fields.Integer()
    open_qty = fields.Integer()
    po_price = fields.String()
    unit_price = fields.String(metadata={"description": "the price convert would apply"})
    price_diff = fields.String(metadata={"description": "unit_price - po_price"})
    price_source = fields.String()
    amount_cents = fields.Integer()
    amount = fields.String()
    diff_amount = fields.String(metadata={"description": "amount - the amount at the PO price"})


class ConvertPreviewSchema(Schema):
    po_id = fields.Integer()
    policy = fields.String()
    doc_date = fields.Date()
    currency = fields.String()
    lines = fields.List(fields.Nested(ConvertPreviewLine))
    amount = fields.String()
    po_amount = fields.String()
    diff_amount = fields.String()


PurchaseOrderPage = list_schema(PurchaseOrderRow, "PurchaseOrderPage")
DocumentPage = list_schema(DocumentRow, "DocumentPage")

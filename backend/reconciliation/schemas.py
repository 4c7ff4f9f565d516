"""Request and response schemas of the finance endpoints: master data, prices, documents
and reports (statement runs and statements: ``statement_schemas``). They also make the
OpenAPI document; a response schema dumps only the fields it declares."""

from __future__ import annotations

import re

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from backend import import_refusals
from backend.reconciliation.models import CYCLES, KINDS
from backend.reconciliation.money import parse_price
from backend.schemas import PageArgs, ShopDay, Timestamp, list_schema

_qty = validate.Range(min=1, max=10**9)
# ids and versions are 32-bit INTEGER columns (document lines 64-bit): a larger number is a
# bad request, not a database error (500)
_id = validate.Range(min=1, max=2**31 - 1)
_big_id = validate.Range(min=1, max=2**63 - 1)
# A control character (C0, DEL, C1) in a name, code, number or address breaks file names,
# mail headers and XML: refused at the door. Free text (notes) may hold tabs and line breaks.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def plain(value: str) -> None:
    """A one-line text: no control characters."""
    if _CONTROL.search(value):
        raise ValidationError("must not contain control characters")


def free_text(value: str) -> None:
    """Free text: tabs and line breaks, but no other control characters."""
    if _CONTROL_IN_TEXT.search(value):
        raise ValidationError("must not contain control characters")


def _text(*checks):
    return [*checks, plain]


_code = _text(validate.Length(min=1, max=32))
_number = _text(validate.Length(min=1, max=64))
_name = _text(validate.Length(min=1, max=200))
_email = _text(validate.Length(max=500))
# qty_tolerance is a 32-bit INTEGER column
_tolerance = validate.Range(min=0, max=10**9)
# the documented cut-off when none is given: weekly Sunday (7), semi-monthly the 15th,
# monthly the month's last day (0)
DEFAULT_CUTOFF = {"weekly": 7, "semi_monthly": 15, "monthly": 0}


def _price_ok(value) -> None:
    try:
        parse_price(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


# A download (CSV, XLSX, PDF): documented by its content type and this schema.
FILE = {"type": "string", "format": "binary"}


class Price(fields.Decimal):
    """A unit price: a decimal string (or number) with at most 6 decimals, never a float."""

    def __init__(self, **kw):
        # What a client should send (the check itself is _price_ok's)
        kw["metadata"] = {"pattern": r"^[0-9]{1,12}(\.[0-9]{1,6})?$", **kw.get("metadata", {})}
        super().__init__(places=None, as_string=True, validate=_price_ok, **kw)


class CounterpartyArgs(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    code = fields.String(required=True, validate=_code)
    name = fields.String(required=True, validate=_name)
    billing_cycle = fields.String(required=True, validate=validate.OneOf(CYCLES))
    cutoff_day = fields.Integer(validate=validate.Range(min=0, max=31), strict=True,
                                metadata={"description": "default: weekly 7, semi_monthly 15, monthly 0"})
    currency = fields.String(load_default="CNY", validate=validate.Regexp(r"^[A-Z]{3}$"))
    email = fields.String(load_default="", validate=_email)
    qty_tolerance = fields.Integer(load_default=0, validate=_tolerance, strict=True)
    price_tolerance = Price(load_default="0")

    @post_load
    def _default_cutoff(self, data, **kw):
        data.setdefault("cutoff_day", DEFAULT_CUTOFF[data["billing_cycle"]])
        return data


class CounterpartyUpdateArgs(Schema):
    name = fields.String(validate=_name)
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"),
                             metadata={"description": "documents made from now on take it; saved ones keep theirs"})
    billing_cycle = fields.String(validate=validate.OneOf(CYCLES))
    cutoff_day = fields.Integer(validate=validate.Range(min=0, max=31), strict=True)
    email = fields.String(validate=_email)
    qty_tolerance = fields.Integer(validate=_tolerance, strict=True)
    price_tolerance = Price()


class CounterpartySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    code = fields.String()
    name = fields.String()
    billing_cycle = fields.String()
    cutoff_day = fields.Integer()
    currency = fields.String()
    email = fields.String()
    qty_tolerance = fields.Integer()
    price_tolerance = fields.Decimal(as_string=True)


class CounterpartyListArgs(PageArgs):
    kind = fields.String(validate=validate.OneOf(KINDS))
    q = fields.String(validate=_text(validate.Length(min=1, max=64)),
                      metadata={"description": "part of the name, or the start of the code"})


class PartArgs(Schema):
    part_no = fields.String(required=True, validate=_text(validate.Length(min=1, max=64)))
    brand = fields.String(required=True, validate=_text(validate.Length(min=1, max=64)))
    package = fields.String(load_default="", validate=_text(validate.Length(max=64)))
    description = fields.String(load_default="", validate=[validate.Length(max=500), free_text])


class PartSchema(Schema):
    """A part of the part master (``parts``): its brand may be "" (a shop product sold
    without one), so the answer does not carry the form's rules."""

    id = fields.Integer()
    part_no = fields.String()
    brand = fields.String()
    package = fields.String()
    description = fields.String()


class PartListArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=64))


class PriceListSchema(Schema):
    id = fields.Integer()
    supplier_id = fields.Integer()
    version = fields.Integer()
    effective_date = fields.Date()
    currency = fields.String()
    source = fields.String()
    rows = fields.Integer()
    created_at = Timestamp()


class PriceListForm(Schema):
    effective_date = fields.Date(required=True)
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"))


class FileUpload(Schema):
    file = Upload(required=True)


class LatestPriceArgs(Schema):
    as_of = fields.Date()


class LineRef(Schema):
    """A part by id, or by part number and brand."""

    part_id = fields.Integer(validate=_id, strict=True)
    part_no = fields.String(validate=_text(validate.Length(max=64)))
    brand = fields.String(validate=_text(validate.Length(max=64)))
    qty = fields.Integer(required=True, validate=_qty, strict=True)
    unit_price = Price(required=True)

    @validates_schema
    def _part(self, data, **kw):
        if data.get("receipt_line_id"):  # a return line: the receipt line names the part
            return
        if not data.get("part_id") and not (data.get("part_no") and data.get("brand")):
            raise ValidationError("give part_id, or part_no and brand", "part_id")


class DocumentLineArgs(LineRef):
    receipt_line_id = fields.Integer(validate=_id, strict=True, metadata={
        "description": "return lines: the receipt line returned (its part when no part is given). All returns "
                       "of a receipt line together never exceed its quantity (422 RETURN_EXCEEDS_RECEIVED)"})


class PurchaseOrderArgs(Schema):
    supplier_id = fields.Integer(validate=_id, required=True, strict=True)
    number = fields.String(required=True, validate=_number)
    order_date = fields.Date(required=True)
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"))
    lines = fields.List(fields.Nested(LineRef), required=True, validate=validate.Length(min=1, max=5000))


class ConvertLine(Schema):
    po_line_id = fields.Integer(validate=_id, required=True, strict=True)
    qty = fields.Integer(required=True, validate=_qty, strict=True)
    use_po_price = fields.Boolean(load_default=False, metadata={
        "description": "keep the PO price on this line (its difference under the policy not accepted)"})


class ConvertArgs(Schema):
    policy = fields.String(required=True, validate=validate.OneOf(("po", "price_list", "latest_po")))
    number = fields.String(required=True, validate=_number)
    doc_date = fields.Date(required=True)
    lines = fields.List(fields.Nested(ConvertLine), validate=validate.Length(min=1, max=5000))


class DocumentArgs(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("receipt", "return", "delivery")))
    counterparty_id = fields.Integer(validate=_id, required=True, strict=True)
    number = fields.String(required=True, validate=_number)
    doc_date = fields.Date(required=True)
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"))
    lines = fields.List(fields.Nested(DocumentLineArgs), required=True, validate=validate.Length(min=1, max=5000))


class DocumentLineSchema(Schema):
    id = fields.Integer()
    part_id = fields.Integer()
    po_line_id = fields.Integer(allow_none=True)
    qty = fields.Integer()
    po_price = fields.Decimal(as_string=True, allow_none=True)
    unit_price = fields.Decimal(as_string=True)
    price_diff = fields.Decimal(as_string=True)
    price_source = fields.String()
    amount_cents = fields.Integer()
    returned_qty = fields.Integer(metadata={"description": "receipt lines: the quantity returned so far"})
    return_of_line_id = fields.Integer(allow_none=True, metadata={"description": "return lines: the receipt line"})


class DocumentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    number = fields.String()
    counterparty_id = fields.Integer()
    po_id = fields.Integer(allow_none=True)
    doc_date = fields.Date()
    currency = fields.String()
    pricing_policy = fields.String()
    lines = fields.List(fields.Nested(DocumentLineSchema))


class PurchaseOrderLineSchema(Schema):
    id = fields.Integer()
    part_id = fields.Integer()
    part_no = fields.String()
    brand = fields.String()
    qty = fields.Integer()
    received_qty = fields.Integer()
    unit_price = fields.Decimal(as_string=True)


class PurchaseOrderSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    supplier_id = fields.Integer()
    supplier_code = fields.String()
    supplier_name = fields.String()
    order_date = fields.Date()
    currency = fields.String()
    lines = fields.List(fields.Nested(PurchaseOrderLineSchema))


class RepriceArgs(Schema):
    supplier_id = fields.Integer(validate=_id, strict=True)
    date_from = fields.Date(required=True)
    date_to = fields.Date(required=True, metadata={"description": "not before date_from (INVALID_DATE_RANGE)"})


class VarianceArgs(PageArgs):
    supplier_id = fields.Integer(validate=_id)
    brand = fields.String()
    part_id = fields.Integer(validate=_id)
    # Bounded (1900-9000): a range's month edges are computed around them (0001-01-01 was a 500)
    date_from = ShopDay()
    date_to = ShopDay()
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    parts_limit = fields.Integer(validate=validate.Range(min=1, max=1000), metadata={
        "description": "by_part: only the parts with the largest differences (by absolute amount), at most "
                       "this many; by_part_total counts them all. Without it, every part (a row each)."})


class RejectedRow(Schema):
    """A row an import refused (every file import: the catalog, price lists, deliveries,
    supplier statements)."""

    row = fields.Integer(metadata={"description": "the file's row number, the header being row 1"})
    column = fields.String()
    code = fields.String(validate=validate.OneOf(tuple(import_refusals.CODES)), metadata={
        "description": "why, for a program: stable (backend/import_refusals.py lists what each means)"})
    reason = fields.String(metadata={"description": "why, in English, quoting the bad value"})


class ImportReport(Schema):
    """What became of an uploaded file's rows."""

    rows = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.List(fields.Nested(RejectedRow), metadata={"description": "at most 200 rows listed"})
    rejected_total = fields.Integer(metadata={"description": "rejected rows, listed or not"})
    rejected_not_listed = fields.Integer(metadata={"description": "rejected rows beyond the 200 listed"})


class PriceListImportSchema(Schema):
    price_list = fields.Nested(PriceListSchema)
    report = fields.Nested(ImportReport)


class LatestPriceSchema(Schema):
    supplier_id = fields.Integer()
    part_id = fields.Integer()
    as_of = fields.Date()
    unit_price = fields.String(metadata={"description": "decimal text, 6 places"})


class DeliveryImportSchema(Schema):
    documents = fields.Integer()
    report = fields.Nested(ImportReport)


class RepriceResult(Schema):
    lines = fields.Integer(metadata={"description": "receipt lines re-priced"})


class VarianceLine(Schema):
    line_id = fields.Integer()
    supplier_code = fields.String()
    supplier = fields.String()
    document = fields.String()
    doc_date = fields.String()
    part_no = fields.String()
    brand = fields.String()
    qty = fields.Integer()
    po_price = fields.String(allow_none=True)
    unit_price = fields.String()
    price_diff = fields.String()
    price_source = fields.String()
    amount = fields.String()
    po_amount = fields.String()
    diff_amount = fields.String()


class VarianceSum(Schema):
    """One group of the sums; it names its key (supplier_code, brand, or part_no and brand)."""

    supplier_code = fields.String()
    brand = fields.String()
    part_no = fields.String()
    lines = fields.Integer()
    diff_amount = fields.String()


CounterpartyPage = list_schema(CounterpartySchema, "CounterpartyPage")
PartPage = list_schema(PartSchema, "PartPage")
VariancePage = list_schema(VarianceLine, "VariancePage", **{  # a field instance each: marshmallow binds it to its name
    name: fields.List(fields.Nested(VarianceSum)) for name in ("by_supplier", "by_brand", "by_part")},
    by_part_total=fields.Integer(metadata={"description": "parts with a difference (by_part may list fewer: "
                                                          "parts_limit)"}))

"""Request and response schemas of statement runs and statements (they also make the
OpenAPI document; a response schema dumps only the fields it declares)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.reconciliation.models import CYCLES, SIDES, STATEMENT_STATES
from backend.reconciliation.periods import MONTH_PATTERN
from backend.reconciliation.schemas import FILE, FileUpload, ImportReport, _big_id, _id, free_text
from backend.schemas import PageArgs, Timestamp, list_schema

__all__ = ["FILE", "FileUpload"]  # also the statement routes' download and upload shapes


class RunArgs(Schema):
    side = fields.String(required=True, validate=validate.OneOf(SIDES))
    cycle = fields.String(required=True, validate=validate.OneOf(CYCLES))
    month = fields.String(required=True, validate=validate.Regexp(MONTH_PATTERN))


class RunSchema(Schema):
    id = fields.Integer()
    side = fields.String()
    cycle = fields.String()
    month = fields.String()
    state = fields.String()
    progress_done = fields.Integer()
    progress_total = fields.Integer()
    statements = fields.Integer()
    lines = fields.Integer()
    error = fields.String()
    created_at = Timestamp()
    generated_at = Timestamp(allow_none=True)
    done_at = Timestamp(allow_none=True)
    job_id = fields.String()


class DeliveryLogSchema(Schema):
    id = fields.Integer()
    statement_id = fields.Integer()
    version = fields.Integer()
    counterparty_id = fields.Integer()
    recipient = fields.String()
    state = fields.String()
    attempts = fields.Integer()
    error = fields.String()
    sent_at = Timestamp(allow_none=True)


class StatementListArgs(PageArgs):
    side = fields.String(validate=validate.OneOf(SIDES))
    state = fields.String(validate=validate.OneOf(STATEMENT_STATES))
    counterparty_id = fields.Integer(validate=_id)
    run_id = fields.Integer(validate=_id)
    period_end = fields.Date()


class TotalSchema(Schema):
    currency = fields.String()
    lines = fields.Integer()
    amount_cents = fields.Integer()


class StatementSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    side = fields.String()
    state = fields.String()
    version = fields.Integer()
    counterparty = fields.Dict()
    period_start = fields.Date()
    period_end = fields.Date()
    run_id = fields.Integer(allow_none=True)
    totals = fields.List(fields.Nested(TotalSchema))
    created_at = Timestamp()
    updated_at = Timestamp()


class LineNote(Schema):
    document_line_id = fields.Integer(validate=_big_id, required=True, strict=True)
    note = fields.String(required=True, validate=[validate.Length(min=1, max=2000), free_text])


class TransitionArgs(Schema):
    action = fields.String(required=True, validate=validate.OneOf(
        ("send", "confirm", "dispute", "reopen", "settle", "void")))
    note = fields.String(load_default="", validate=[validate.Length(max=2000), free_text])
    notes = fields.List(fields.Nested(LineNote), validate=validate.Length(max=5000))


class StatementLinesArgs(PageArgs):
    version = fields.Integer(validate=_id)
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ExportArgs(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv", "pdf")))
    version = fields.Integer(validate=_id)


class DiffArgs(Schema):
    from_version = fields.Integer(validate=_id, required=True)
    to_version = fields.Integer(validate=_id, required=True)




class StatementLineSchema(Schema):
    document_line_id = fields.Integer()
    doc_date = fields.Date()
    document = fields.String()
    part_no = fields.String()
    brand = fields.String()
    qty = fields.Integer()
    unit_price = fields.String()
    amount = fields.String()
    amount_cents = fields.Integer()
    currency = fields.String()


class DiffLine(Schema):
    """An added or removed line."""

    document_line_id = fields.Integer()
    qty = fields.Integer()
    unit_price = fields.String()
    amount_cents = fields.Integer()


class ChangedLine(Schema):
    document_line_id = fields.Integer()
    old_qty = fields.Integer()
    new_qty = fields.Integer()
    old_unit_price = fields.String()
    new_unit_price = fields.String()
    old_amount_cents = fields.Integer()
    new_amount_cents = fields.Integer()


class DiffSchema(Schema):
    from_version = fields.Integer()
    to_version = fields.Integer()
    added = fields.List(fields.Nested(DiffLine))
    removed = fields.List(fields.Nested(DiffLine))
    changed = fields.List(fields.Nested(ChangedLine))


class EventSchema(Schema):
    action = fields.String()
    document_line_id = fields.Integer(allow_none=True)
    note = fields.String()
    admin_id = fields.Integer(allow_none=True)
    created_at = Timestamp()


class EventList(Schema):
    items = fields.List(fields.Nested(EventSchema))


class TheirLine(Schema):
    """A line of one side only: ``row`` (of their file) or ``document_line_id`` (ours)."""

    row = fields.Integer()
    document_line_id = fields.Integer()
    number = fields.String()
    part_no = fields.String()
    qty = fields.Integer()
    unit_price = fields.String()


class Mismatch(Schema):
    number = fields.String()
    part_no = fields.String()
    row = fields.Integer()
    document_line_id = fields.Integer()
    ours = fields.Raw(metadata={"description": "qty (integer) or unit price (decimal text)"})
    theirs = fields.Raw(metadata={"description": "qty (integer) or unit price (decimal text)"})


class Tolerance(Schema):
    qty = fields.Integer()
    price = fields.String()


class SupplierDiffSchema(Schema):
    statement_id = fields.Integer()
    number = fields.String()
    version = fields.Integer()
    tolerance = fields.Nested(Tolerance)
    only_theirs = fields.List(fields.Nested(TheirLine))
    only_ours = fields.List(fields.Nested(TheirLine))
    qty_mismatches = fields.List(fields.Nested(Mismatch))
    price_mismatches = fields.List(fields.Nested(Mismatch))
    matched = fields.Integer()
    report = fields.Nested(ImportReport)


StatementPage = list_schema(StatementSchema, "StatementPage")
StatementLinesPage = list_schema(StatementLineSchema, "StatementLinesPage", version=fields.Integer(),
                                 totals=fields.List(fields.Nested(TotalSchema)))

"""Request and response schemas of the finance console's own endpoints: the runs list,
a run's totals and zip, resolved differences and the aging report."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.reconciliation.models import CYCLES, RESOLUTION_KINDS, SIDES
from backend.reconciliation.periods import MONTH_PATTERN
from backend.reconciliation.schemas import _id, free_text
from backend.reconciliation.statement_schemas import RunSchema
from backend.schemas import PageArgs, ShopDay, Timestamp, list_schema

RUN_STATES = ("queued", "generating", "generated", "sending", "send_failed", "done", "failed")


class RunListArgs(PageArgs):
    side = fields.String(validate=validate.OneOf(SIDES))
    cycle = fields.String(validate=validate.OneOf(CYCLES))
    month = fields.String(validate=validate.Regexp(MONTH_PATTERN))
    state = fields.String(validate=validate.OneOf(RUN_STATES))


RunPage = list_schema(RunSchema, "StatementRunPage")


class RunCurrencyTotal(Schema):
    currency = fields.String()
    statements = fields.Integer()
    lines = fields.Integer()
    amount_cents = fields.Integer()


class RunStateCount(Schema):
    state = fields.String()
    statements = fields.Integer()


class RunTotals(Schema):
    run_id = fields.Integer()
    currencies = fields.List(fields.Nested(RunCurrencyTotal))
    states = fields.List(fields.Nested(RunStateCount))


class RunExportArgs(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv", "pdf")))


class ResolveArgs(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(RESOLUTION_KINDS))
    ref = fields.String(required=True, validate=[validate.Length(min=1, max=200), free_text],
                        metadata={"description": "document_line_id (only_ours, qty, price) or "
                                                 "number|part_no|row of their line (only_theirs)"})
    note = fields.String(required=True, validate=[validate.Length(min=1, max=2000), free_text])


class ResolutionSchema(Schema):
    id = fields.Integer()
    statement_id = fields.Integer()
    version = fields.Integer()
    kind = fields.String()
    ref = fields.String()
    note = fields.String()
    admin_id = fields.Integer(allow_none=True)
    created_at = Timestamp()


class ResolutionList(Schema):
    version = fields.Integer()
    items = fields.List(fields.Nested(ResolutionSchema))


class ResolutionListArgs(Schema):
    version = fields.Integer(validate=_id)


class AgingArgs(PageArgs):
    side = fields.String(required=True, validate=validate.OneOf(SIDES))
    as_of = ShopDay(metadata={"description": "a business day in Asia/Shanghai (default: today there)"})
    counterparty_id = fields.Integer(validate=_id)
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "xlsx")))


class AgingCounterparty(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class AgingRow(Schema):
    counterparty = fields.Nested(AgingCounterparty)
    currency = fields.String()
    b0_30 = fields.Integer(metadata={"description": "cents, 0-30 days past the period end"})
    b31_60 = fields.Integer()
    b61_90 = fields.Integer()
    b90_plus = fields.Integer()
    total = fields.Integer()
    statements = fields.Integer()


class AgingTotal(Schema):
    currency = fields.String()
    b0_30 = fields.Integer()
    b31_60 = fields.Integer()
    b61_90 = fields.Integer()
    b90_plus = fields.Integer()
    total = fields.Integer()
    statements = fields.Integer()


class AgingReport(Schema):
    side = fields.String()
    as_of = fields.Date()
    basis = fields.String(metadata={"description": "what the age counts from: period_end"})
    buckets = fields.List(fields.String())
    totals = fields.List(fields.Nested(AgingTotal))
    items = fields.List(fields.Nested(AgingRow))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()

"""Request and response shapes of risk control's admin endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.risk.models import REVIEW_STATUSES
from backend.risk.settings import LIMITS
from backend.schemas import PageArgs, Timestamp


def _bounded(name: str):
    low, high = LIMITS[name]  # checked by the service (INVALID_RISK_SETTINGS names the field and its range)
    return fields.Integer(strict=True, metadata={"minimum": low, "maximum": high})


class RiskSettingsSchema(Schema):
    second_account = fields.Boolean()
    bind_farm = fields.Boolean()
    bind_farm_binds = _bounded("bind_farm_binds")
    bind_farm_minutes = _bounded("bind_farm_minutes")
    refund_after_payout = fields.Boolean()
    refund_after_payout_count = _bounded("refund_after_payout_count")
    refund_after_payout_rate_bp = _bounded("refund_after_payout_rate_bp")
    refund_loop = fields.Boolean()
    refund_loop_orders = _bounded("refund_loop_orders")
    refund_loop_days = _bounded("refund_loop_days")
    conversion_outlier = fields.Boolean()
    conversion_factor = _bounded("conversion_factor")
    conversion_min_orders = _bounded("conversion_min_orders")
    window_days = _bounded("window_days")
    version = fields.Integer(dump_only=True)


class ReviewListArgs(PageArgs):
    status = fields.String(load_default="pending", validate=validate.OneOf(REVIEW_STATUSES))


class DecisionArgs(Schema):
    note = fields.String(validate=validate.Length(max=255), load_default=None)


class ReviewCommission(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    level = fields.Integer()
    amount_fen = fields.Integer()
    reversed_fen = fields.Integer()
    status = fields.String()


class ReviewSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    distributor_id = fields.Integer()
    status = fields.String()
    score = fields.Integer()
    signals = fields.List(fields.String())
    evidence = fields.Dict()
    order_paid_fen = fields.Integer()
    commission_fen = fields.Integer()
    commissions = fields.List(fields.Nested(ReviewCommission))
    decided_by = fields.Integer(allow_none=True)
    decided_at = Timestamp(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = Timestamp()


class ReviewList(Schema):
    items = fields.List(fields.Nested(ReviewSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class WatchSchema(Schema):
    user_id = fields.Integer()
    under_review = fields.Boolean()
    score = fields.Integer()
    signals = fields.List(fields.String())
    evidence = fields.Dict()


class WatchList(Schema):
    items = fields.List(fields.Nested(WatchSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()

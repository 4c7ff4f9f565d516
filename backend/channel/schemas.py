"""Channel health on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.channel.service import SORTS
from backend.channel.settings import FREEZE_COMMISSION, REVOKE_BINDINGS
from backend.schemas import PageArgs, Timestamp, list_schema

REASONS = "dormant, gmv_drop, refund_rate or low_conversion"


class ChannelListArgs(PageArgs):
    sort = fields.String(load_default="days_since_last_sale", validate=validate.OneOf(SORTS))
    direction = fields.String(load_default="desc", validate=validate.OneOf(["asc", "desc"]))


class HealthFigures(Schema):
    user_id = fields.Integer()
    nickname = fields.String()
    distributor_status = fields.String()
    frozen = fields.Boolean()
    last_sale_at = Timestamp(allow_none=True)
    days_since_last_sale = fields.Integer(allow_none=True, metadata={"description": "null: never sold"})
    gmv_30d_fen = fields.Integer(metadata={"description": "own paid GMV net of refunds, last 30 days"})
    gmv_prev_30d_fen = fields.Integer(metadata={"description": "the same, the 30 days before"})
    gmv_90d_fen = fields.Integer()
    paid_90d_fen = fields.Integer()
    refunded_90d_fen = fields.Integer()
    refund_rate_bp = fields.Integer(metadata={"description": "refunded / paid over 90 days, in bp"})
    shares_30d = fields.Integer()
    visits_30d = fields.Integer()
    share_orders_30d = fields.Integer()
    conversion_bp = fields.Integer(allow_none=True, metadata={"description": "share orders / visits; null: no visit"})
    team_level1 = fields.Integer()
    team_level2 = fields.Integer()
    team_buyers_30d = fields.Integer()
    computed_at = Timestamp(metadata={"description": "when the nightly pass computed these"})


class HealthRow(HealthFigures):
    reasons = fields.List(fields.String(), metadata={"description": REASONS})


HealthPage = list_schema(HealthRow, "ChannelHealthPage")


class ActionSchema(Schema):
    id = fields.Integer()
    action = fields.String(metadata={"description": "warn, freeze, unfreeze, revoke or restore"})
    reason = fields.String()
    operator_id = fields.Integer(allow_none=True)
    released_bindings = fields.Integer()
    created_at = Timestamp()


class DistributorHealth(Schema):
    user_id = fields.Integer()
    nickname = fields.String()
    distributor_status = fields.String()
    frozen = fields.Boolean()
    figures = fields.Nested(HealthFigures, allow_none=True, metadata={"description": "null: not yet computed"})
    reasons = fields.List(fields.String(), metadata={"description": REASONS})
    actions = fields.List(fields.Nested(ActionSchema), metadata={"description": "newest first"})


class ActionArgs(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))


class ChannelSettingsSchema(Schema):
    dormant_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3650))
    gmv_drop_pct = fields.Integer(strict=True, validate=validate.Range(min=1, max=100))
    refund_rate_bp = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000))
    min_conversion_bp = fields.Integer(strict=True, validate=validate.Range(min=0, max=10_000))
    min_visits = fields.Integer(strict=True, validate=validate.Range(min=1, max=10**6))
    freeze_commission = fields.String(validate=validate.OneOf(FREEZE_COMMISSION))
    revoke_bindings = fields.String(validate=validate.OneOf(REVOKE_BINDINGS))

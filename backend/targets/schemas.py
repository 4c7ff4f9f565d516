"""Targets on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.schemas import PageArgs, Timestamp, list_schema

_id = validate.Range(min=1, max=2**31 - 1)
_month = validate.Regexp(r"^\d{4}-\d{2}$", error="a month: YYYY-MM")


class Tier(Schema):
    attainment_bp = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000),
                                   metadata={"description": "reached when achieved × 10000 // target ≥ this"})
    bonus_bp = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=5_000),
                              metadata={"description": "rate on the whole month's achieved GMV (≤ 50 %)"})


class TierView(Tier):
    reached = fields.Boolean()


class NextTier(Tier):
    gmv_needed_fen = fields.Integer()


class PlanCreateArgs(Schema):
    level_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=_id,
                              metadata={"description": "a level's plan (exactly one of level_id, user_id)"})
    user_id = fields.Integer(strict=True, allow_none=True, load_default=None, validate=_id,
                             metadata={"description": "one distributor's plan; it wins over their level's"})
    period_key = fields.String(allow_none=True, load_default=None, validate=_month,
                               metadata={"description": "one month (YYYY-MM); null: every month"})
    target_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**13))
    tiers = fields.List(fields.Nested(Tier), required=True, validate=validate.Length(min=1, max=10))
    active = fields.Boolean(load_default=True)


class PlanUpdateArgs(Schema):
    target_fen = fields.Integer(strict=True, validate=validate.Range(min=1, max=10**13))
    tiers = fields.List(fields.Nested(Tier), validate=validate.Length(min=1, max=10))
    active = fields.Boolean()


class PlanSchema(Schema):
    id = fields.Integer()
    scope = fields.String(metadata={"description": "level | distributor"})
    level_id = fields.Integer(allow_none=True)
    user_id = fields.Integer(allow_none=True)
    period_key = fields.String(allow_none=True)
    target_fen = fields.Integer()
    tiers = fields.List(fields.Nested(Tier))
    active = fields.Boolean()
    created_at = Timestamp()
    updated_at = Timestamp()


PlanList = list_schema(PlanSchema, "TargetPlanList")


class PeriodArgs(Schema):
    period = fields.String(validate=_month, metadata={"description": "YYYY-MM; default: this month"})


class MyTargetsSchema(Schema):
    period_key = fields.String()
    plan_id = fields.Integer(allow_none=True, metadata={"description": "null: no target this month"})
    target_fen = fields.Integer()
    achieved_fen = fields.Integer(metadata={"description": "own paid GMV net of refunds this month"})
    attainment_bp = fields.Integer()
    bonus_bp = fields.Integer(metadata={"description": "the rate of the highest tier reached"})
    bonus_fen_so_far = fields.Integer(metadata={
        "description": "open month: what the close would pay now; closed: paid less what refunds took back"})
    reversed_fen = fields.Integer()
    closed = fields.Boolean()
    closes_at = Timestamp(allow_none=True, metadata={"description": "when the month closes (its end + the hold)"})
    tiers = fields.List(fields.Nested(TierView))
    next_tier = fields.Nested(NextTier, allow_none=True)


class BonusArgs(PageArgs):
    period = fields.String(validate=_month, metadata={"description": "YYYY-MM; default: the month that closed last"})


class BonusSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    nickname = fields.String()
    period_key = fields.String()
    plan_id = fields.Integer()
    target_fen = fields.Integer()
    achieved_fen = fields.Integer()
    attainment_bp = fields.Integer()
    bonus_bp = fields.Integer()
    bonus_fen = fields.Integer()
    reversed_fen = fields.Integer()
    payout_id = fields.Integer(allow_none=True)
    created_at = Timestamp()


BonusList = list_schema(BonusSchema, "TargetBonusList", closed=fields.Boolean(),
                        closed_bonus_fen=fields.Integer())


class CloseSchema(Schema):
    period_key = fields.String()
    distributors = fields.Integer()
    bonus_fen = fields.Integer()
    already_closed = fields.Boolean()


class PkBoardArgs(Schema):
    period = fields.String(validate=_month, metadata={"description": "YYYY-MM; default: this month"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))

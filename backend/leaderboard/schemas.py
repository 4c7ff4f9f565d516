"""Request and response shapes of the boards, the campaigns and their operator views."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.leaderboard.periods import METRICS, PERIODS
from backend.schemas import PageArgs, Timestamp, list_schema


class BoardArgs(Schema):
    period = fields.String(load_default="week", validate=validate.OneOf(PERIODS))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))
    key = fields.String(validate=validate.Length(max=16), metadata={
        "description": "a past period, e.g. 2026-11-22, 2026-W47, 2026-11; default: the current one"})


class RankUser(Schema):
    id = fields.Integer()
    nickname = fields.String()
    avatar_url = fields.String()


class RankItem(Schema):
    rank = fields.Integer()
    user = fields.Nested(RankUser)
    score = fields.Integer()


class MeSchema(Schema):
    rank = fields.Integer()
    score = fields.Integer()
    gap_to_above = fields.Integer(allow_none=True)
    around = fields.List(fields.Nested(RankItem))


class BoardSchema(Schema):
    metric = fields.String()
    period = fields.String()
    period_key = fields.String()
    items = fields.List(fields.Nested(RankItem))
    me = fields.Nested(MeSchema, allow_none=True)


# --- campaigns -----------------------------------------------------------------------

class PrizeTier(Schema):
    from_rank = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    to_rank = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**9))


class CampaignArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    starts_at = Timestamp(required=True)
    ends_at = Timestamp(required=True)
    prizes = fields.List(fields.Nested(PrizeTier), load_default=list, validate=validate.Length(max=20))


class StandingArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


class CampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    metric = fields.String()
    starts_at = Timestamp()
    ends_at = Timestamp()
    prizes = fields.List(fields.Nested(PrizeTier))
    status = fields.String(metadata={"description": "open or closed"})
    closed_at = Timestamp(allow_none=True)


class CampaignListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(["open", "closed"]))


class AdminCampaignSchema(CampaignSchema):
    created_at = Timestamp()


AdminCampaignPage = list_schema(AdminCampaignSchema, "AdminCampaignPage")


class AwardUser(Schema):
    id = fields.Integer()
    nickname = fields.String(allow_none=True)


class CampaignAward(Schema):
    rank = fields.Integer()
    user = fields.Nested(AwardUser)
    score = fields.Integer()
    amount_fen = fields.Integer(metadata={"description": "the prize credited (ledger entry prize_awarded)"})
    payout_id = fields.Integer(allow_none=True)
    payout_status = fields.String(allow_none=True)


class AdminCampaignDetail(AdminCampaignSchema):
    awards = fields.List(fields.Nested(CampaignAward), metadata={
        "description": "the prizes paid at the close, by rank (empty while open)"})
    paid_fen = fields.Integer(metadata={"description": "the sum of the prizes paid"})


class StandingItem(Schema):
    rank = fields.Integer()
    user = fields.Nested(RankUser, allow_none=True)
    score = fields.Integer()
    prize_fen = fields.Integer()


class CampaignStandingsSchema(CampaignSchema):
    items = fields.List(fields.Nested(StandingItem))
    me = fields.Nested(StandingItem, allow_none=True, metadata={"description": "the caller's row, if on the page"})


# --- operators -----------------------------------------------------------------------

class DriftArgs(Schema):
    metric = fields.String(validate=validate.OneOf(METRICS))
    period = fields.String(validate=validate.OneOf(PERIODS))


class DriftMember(Schema):
    user_id = fields.Integer()
    redis = fields.Integer(allow_none=True)
    database = fields.Integer(allow_none=True)


class DriftBoard(Schema):
    metric = fields.String()
    period = fields.String()
    period_key = fields.String()
    members = fields.List(fields.Nested(DriftMember))


class DriftReport(Schema):
    ok = fields.Boolean()
    boards = fields.List(fields.Nested(DriftBoard))


class RebuildQueued(Schema):
    job_id = fields.String()
    status = fields.String()


class RebuildStatus(Schema):
    job_id = fields.String()
    status = fields.String(metadata={"description": "RQ's job status: queued, started, finished, failed, …"})
    percent = fields.Integer()
    steps = fields.Integer()
    total_steps = fields.Integer(allow_none=True)
    boards = fields.Integer(allow_none=True, metadata={"description": "boards written, once finished"})

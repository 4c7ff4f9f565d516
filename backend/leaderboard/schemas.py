from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.leaderboard.periods import PERIODS


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

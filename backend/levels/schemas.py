"""Distributor levels on the wire."""

from __future__ import annotations

import re

from marshmallow import Schema, fields, pre_load, validate

from backend.errors import ApiError
from backend.schemas import Timestamp

_bp = validate.Range(min=0, max=10_000)
_fen = validate.Range(min=0, max=10**12)  # BIGINT columns (0027): up to ten billion yuan
# Words of a condition that would count people: recruits, invites, members, team size…
# Any such field is refused by name, with its own code, rather than silently dropped:
# paying for head count is what DESIGN.md §3 rules out (传销), not a missing feature.
HEADCOUNT = re.compile(r"invite|invitee|recruit|member|people|person|head|downline|subordinate|referral|"
                       r"team_size|team_count|fans|follower|bind", re.IGNORECASE)


class _RefusesHeadcount(Schema):
    @pre_load
    def _refuse_headcount(self, data, **kwargs):
        if isinstance(data, dict):
            refused = sorted(key for key in data if isinstance(key, str) and HEADCOUNT.search(key))
            if refused:
                raise ApiError("HEADCOUNT_FIELD_REFUSED",
                               "levels are earned on sales only (GMV, paying customers, team GMV); "
                               "a condition on people recruited is head-count pay", details={"fields": refused})
        return data


class LevelCreateArgs(_RefusesHeadcount):
    rank = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=1000),
                          metadata={"description": "higher is better; unique"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=32))
    level1_bp = fields.Integer(required=True, strict=True, validate=_bp)
    level2_bp = fields.Integer(required=True, strict=True, validate=_bp, metadata={
        "description": "with level1_bp at most the shop's cap_bp (LEVEL_RATES_OVER_CAP)"})
    window_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=366), load_default=30,
                                 metadata={"description": "the rolling window the conditions are measured over"})
    min_gmv_fen = fields.Integer(strict=True, validate=_fen, load_default=0,
                                 metadata={"description": "own paid GMV net of refunds (level-1 orders)"})
    min_customers = fields.Integer(strict=True, validate=validate.Range(min=0, max=10**9), load_default=0,
                                   metadata={"description": "distinct buyers with a paid order not fully refunded"})
    min_team_gmv_fen = fields.Integer(strict=True, validate=_fen, load_default=0,
                                      metadata={"description": "paid GMV net of refunds of level-1 and level-2 orders"})


class LevelUpdateArgs(_RefusesHeadcount):
    rank = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))
    name = fields.String(validate=validate.Length(min=1, max=32))
    level1_bp = fields.Integer(strict=True, validate=_bp)
    level2_bp = fields.Integer(strict=True, validate=_bp)
    window_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=366))
    min_gmv_fen = fields.Integer(strict=True, validate=_fen)
    min_customers = fields.Integer(strict=True, validate=validate.Range(min=0, max=10**9))
    min_team_gmv_fen = fields.Integer(strict=True, validate=_fen)


class LevelSchema(Schema):
    id = fields.Integer()
    rank = fields.Integer()
    name = fields.String()
    level1_bp = fields.Integer()
    level2_bp = fields.Integer()
    window_days = fields.Integer()
    min_gmv_fen = fields.Integer()
    min_customers = fields.Integer()
    min_team_gmv_fen = fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()


class LevelList(Schema):
    items = fields.List(fields.Nested(LevelSchema), metadata={"description": "by rank, lowest first"})


class LevelCondition(Schema):
    measure = fields.String(metadata={"description": "gmv_fen, customers or team_gmv_fen"})
    required = fields.Integer()
    current = fields.Integer()
    met = fields.Boolean()


class LevelProgress(Schema):
    level = fields.Nested(LevelSchema)
    window_days = fields.Integer()
    conditions = fields.List(fields.Nested(LevelCondition))


class MyLevelSchema(Schema):
    level = fields.Nested(LevelSchema, allow_none=True, metadata={"description": "null: no level, the shop's rates"})
    missed_periods = fields.Integer(metadata={"description": "closed months in a row below the level's conditions"})
    grace_periods = fields.Integer(metadata={"description": "missed months allowed before the downgrade"})
    next = fields.Nested(LevelProgress, allow_none=True, metadata={"description": "null at the top level"})


class LevelChangeSchema(Schema):
    id = fields.Integer()
    from_level = fields.String(allow_none=True)
    to_level = fields.String(allow_none=True)
    reason = fields.String(metadata={"description": "upgrade, downgrade, or grace (a missed month kept)"})
    gmv_fen = fields.Integer()
    customers = fields.Integer()
    team_gmv_fen = fields.Integer()
    window_days = fields.Integer()
    period = fields.String(allow_none=True, metadata={"description": "the month judged (YYYY-MM), period-end only"})
    created_at = Timestamp()


class UserLevelSchema(MyLevelSchema):
    history = fields.List(fields.Nested(LevelChangeSchema), metadata={"description": "newest first"})

"""Request and response shapes of distributors, binding, teams and the referral tree."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.auth.schemas import UserSchema
from backend.schemas import PageArgs, Timestamp, list_schema


class ApplyArgs(Schema):
    real_name = fields.String(validate=validate.Length(max=64))
    phone = fields.String(validate=validate.Length(max=32))


class ApplyResult(Schema):
    status = fields.String()


class BindArgs(Schema):
    invite_code = fields.String(required=True, validate=validate.Length(min=1, max=32))


class BindResult(Schema):
    bound = fields.Boolean()
    inviter_id = fields.Integer()


class TeamArgs(PageArgs):
    level = fields.Integer(load_default=1, validate=validate.OneOf([1, 2]))
    sort = fields.String(load_default="joined", validate=validate.OneOf(["joined", "contribution"]),
                         metadata={"description": "joined: newest first (bound_at desc); "
                                                  "contribution: commission_to_me_fen desc, then newest first"})
    q = fields.String(validate=validate.Length(max=64),
                      metadata={"description": "nickname contains, case-insensitive; % and _ match themselves"})
    cursor = fields.String(validate=validate.Length(max=200), metadata={
        "description": "the next_cursor of the previous page: the next page by index lookup however deep "
                       "(page is then only echoed)"})


class TeamVia(Schema):
    id = fields.Integer()
    nickname = fields.String()


class TeamMember(Schema):
    user_id = fields.Integer()
    nickname = fields.String()
    bound_at = Timestamp(allow_none=True)
    orders_count = fields.Integer()
    gmv_fen = fields.Integer()
    commission_to_me_fen = fields.Integer()
    level = fields.Integer(metadata={"description": "1 or 2"})
    via = fields.Nested(TeamVia, allow_none=True,
                        metadata={"description": "level 2: the level-1 member they came through; null on level 1"})


TeamPage = list_schema(TeamMember, "TeamPage", next_cursor=fields.String(
    allow_none=True, metadata={"description": "pass as cursor for the next page; null on the last page"}))


class MoveArgs(Schema):
    invite_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))


class TeamCount(Schema):
    count = fields.Integer()


class TreeSchema(Schema):
    user = fields.Nested(UserSchema)
    ancestors = fields.List(fields.Nested(UserSchema), metadata={"description": "nearest first"})
    level1 = fields.Nested(TeamCount)
    level2 = fields.Nested(TeamCount)
    depth = fields.Integer()
    root_id = fields.Integer(allow_none=True)

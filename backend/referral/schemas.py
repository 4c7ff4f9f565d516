from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.schemas import PageArgs, list_schema


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


class TeamMember(Schema):
    user_id = fields.Integer()
    nickname = fields.String()
    bound_at = fields.String(allow_none=True)
    orders_count = fields.Integer()
    gmv_fen = fields.Integer()
    commission_to_me_fen = fields.Integer()


TeamPage = list_schema(TeamMember, "TeamPage")


class MoveArgs(Schema):
    invite_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))

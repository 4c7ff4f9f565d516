from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.schemas import Timestamp


class UserSchema(Schema):
    id = fields.Integer()
    nickname = fields.String()
    avatar_url = fields.String()
    is_distributor = fields.Boolean()
    distributor_status = fields.String()
    invite_code = fields.String(allow_none=True)
    inviter_id = fields.Integer(allow_none=True)


class LoginArgs(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=128))
    invite_code = fields.String(validate=validate.Length(max=32), allow_none=True)
    device_id = fields.String(allow_none=True, validate=[validate.Length(min=1, max=64),
                                                         validate.Regexp(r"^[A-Za-z0-9._:-]+$")],
                              metadata={"description": "the mini-program's device id (risk control, docs/risk.md)"})


class LoginResult(Schema):
    token = fields.String()
    user = fields.Nested(UserSchema)
    bind_error = fields.String(allow_none=True)


class ProfileArgs(Schema):
    nickname = fields.String(validate=validate.Length(min=1, max=64))
    avatar_url = fields.String(validate=validate.Length(max=512))


class AdminLoginArgs(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


class AdminLoginResult(Schema):
    token = fields.String()
    role = fields.String()
    expires_at = Timestamp()


def user_view(user) -> dict:
    """A user as the API shows them (``UserSchema``); shared by every package's views."""
    return {
        "id": user.id, "nickname": user.nickname, "avatar_url": user.avatar_url,
        "is_distributor": user.is_distributor, "distributor_status": user.distributor_status,
        "invite_code": user.invite_code, "inviter_id": user.inviter_id,
    }

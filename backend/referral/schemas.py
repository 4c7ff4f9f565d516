"""Request and response shapes of distributors, binding, teams and the referral tree."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.auth.schemas import UserSchema
from backend.commission.schemas import WalletSchema
from backend.levels.schemas import UserLevelSchema
from backend.schemas import PageArgs, ShopDay, Timestamp, list_schema


def _not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Give a reason (not only spaces).")


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
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=255), _not_blank])


class TeamCount(Schema):
    count = fields.Integer()


class TreeSchema(Schema):
    user = fields.Nested(UserSchema)
    ancestors = fields.List(fields.Nested(UserSchema), metadata={"description": "nearest first"})
    level1 = fields.Nested(TeamCount)
    level2 = fields.Nested(TeamCount)
    depth = fields.Integer()
    root_id = fields.Integer(allow_none=True)


# --- the operators' user pages (referral.admin_users) ---------------------------------

class UserListArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=64), metadata={
        "description": "all digits: a user id or an invite code, exactly; otherwise an invite code "
                       "(any case) or the start of a nickname (as typed)"})
    distributor_status = fields.String(validate=validate.OneOf(["none", "pending", "approved", "disabled"]))
    joined_from = ShopDay(metadata={"description": "first day joined (Asia/Shanghai), inclusive"})
    joined_to = ShopDay(metadata={"description": "last day joined (Asia/Shanghai), inclusive"})
    inviter_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("joined_from") and data.get("joined_to") and data["joined_to"] < data["joined_from"]:
            raise ValidationError("joined_to is before joined_from", "joined_to")


class UserRef(Schema):
    id = fields.Integer()
    nickname = fields.String()


class UserListItem(Schema):
    id = fields.Integer()
    nickname = fields.String()
    avatar_url = fields.String()
    invite_code = fields.String(allow_none=True)
    distributor_status = fields.String(metadata={"description": "none, pending, approved or disabled"})
    inviter = fields.Nested(UserRef, allow_none=True)
    created_at = Timestamp()
    level1_count = fields.Integer()
    level2_count = fields.Integer()
    has_paid_order = fields.Boolean()


UserListPage = list_schema(UserListItem, "AdminUserPage", total_estimated=fields.Boolean(metadata={
    "description": "true when total is the database's row estimate (the unfiltered list of a large table)"}))


class UserDetailUser(UserListItem):
    real_name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    level1_bp_override = fields.Integer(allow_none=True)
    level2_bp_override = fields.Integer(allow_none=True)
    depth = fields.Integer()
    root_id = fields.Integer(allow_none=True)
    bound_at = Timestamp(allow_none=True)
    bind_source = fields.String(allow_none=True)
    distributor_rejection_reason = fields.String(allow_none=True, metadata={
        "description": "why the last application was rejected; cleared on approval"})


class AncestorRef(UserRef):
    level = fields.Integer(metadata={"description": "1: the inviter, 2: theirs, then the root at its depth"})


class UserDetail(Schema):
    user = fields.Nested(UserDetailUser)
    ancestors = fields.List(fields.Nested(AncestorRef), metadata={"description": "nearest first"})
    wallet = fields.Nested(WalletSchema)
    distributor_level = fields.Nested(UserLevelSchema, metadata={
        "description": "the distributor level, progress to the next, and every change with its figures"})


class OperatorRef(Schema):
    id = fields.Integer()
    username = fields.String()


class BindHistoryItem(Schema):
    id = fields.Integer()
    old_inviter = fields.Nested(UserRef, allow_none=True)
    new_inviter = fields.Nested(UserRef)
    source = fields.String(metadata={"description": "login, bind, order or admin"})
    reason = fields.String()
    operator = fields.Nested(OperatorRef, allow_none=True)
    created_at = Timestamp()


BindHistoryPage = list_schema(BindHistoryItem, "BindHistoryPage")


class RejectArgs(Schema):
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=255), _not_blank])


_bp = validate.Range(min=0, max=10000)


class RatesArgs(Schema):
    level1_bp = fields.Integer(required=True, allow_none=True, strict=True, validate=_bp,
                               metadata={"description": "0..10000, null: the global rate"})
    level2_bp = fields.Integer(required=True, allow_none=True, strict=True, validate=_bp,
                               metadata={"description": "0..10000, null: the global rate"})


class Rates(Schema):
    level1_bp_override = fields.Integer(allow_none=True)
    level2_bp_override = fields.Integer(allow_none=True)


class RatesResult(Rates):
    user_id = fields.Integer()
    before = fields.Nested(Rates)
    after = fields.Nested(Rates)

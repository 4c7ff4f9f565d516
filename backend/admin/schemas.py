"""Shapes of the cross-domain admin API: audit log, accounts, dashboard."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.admin.service import ROLES
from backend.schemas import PageArgs, Timestamp, list_schema


class AuditListArgs(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "part of the path, action, admin name or target id"})
    admin_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    action = fields.String(validate=validate.Length(min=1, max=128))
    target_type = fields.String(validate=validate.Length(min=1, max=32))
    target_id = fields.String(validate=validate.Length(min=1, max=64))
    from_ = Timestamp(data_key="from", metadata={"description": "created at or after (ISO 8601)"})
    to = Timestamp(metadata={"description": "created before (ISO 8601)"})

    @validates_schema
    def _range(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["to"] <= data["from_"]:
            raise ValidationError("to must be later than from", "to")


class AuditEntrySchema(Schema):
    id = fields.Integer()
    admin_id = fields.Integer()
    admin_username = fields.String()
    role = fields.String()
    action = fields.String(metadata={"description": "the endpoint, e.g. admin_commission.write_settings"})
    method = fields.String()
    path = fields.String()
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True, metadata={"description": "the changed fields before (when recorded)"})
    after = fields.Dict(allow_none=True, metadata={"description": "the changed fields after (when recorded)"})
    request_id = fields.String(allow_none=True)
    status_code = fields.Integer(allow_none=True)
    created_at = Timestamp()


AuditPage = list_schema(AuditEntrySchema, "AuditPage")


class AccountSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    active = fields.Boolean()
    created_at = Timestamp()
    last_login_at = Timestamp(allow_none=True)


AccountPage = list_schema(AccountSchema, "AdminAccountPage")


class AccountCreateArgs(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=10, max=256))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class AccountUpdateArgs(Schema):
    active = fields.Boolean()
    role = fields.String(validate=validate.OneOf(ROLES))


class PasswordArgs(Schema):
    password = fields.String(required=True, validate=validate.Length(min=10, max=256))


class AdminMeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()
    token_expires_at = Timestamp()


class FiguresSchema(Schema):
    gmv_fen = fields.Integer(metadata={"description": "paid amounts of the orders paid in the period"})
    paid_orders = fields.Integer()
    refunded_fen = fields.Integer(metadata={"description": "refunds that succeeded in the period"})
    commission_credited_fen = fields.Integer(metadata={"description": "commission recorded on paid orders"})
    new_users = fields.Integer()
    new_distributors = fields.Integer()
    group_join_rate = fields.Float(allow_none=True, metadata={"description": "joined / paid orders (group invites)"})


class PeriodFiguresSchema(FiguresSchema):
    from_ = fields.String(data_key="from", metadata={"description": "first Shanghai day, YYYY-MM-DD"})
    to = fields.String(metadata={"description": "last Shanghai day (today), YYYY-MM-DD"})


class PayoutAmountsSchema(Schema):
    pending = fields.Integer()
    failed = fields.Integer()
    in_transit = fields.Integer()


class PayoutCountsSchema(Schema):
    pending = fields.Integer()
    failed = fields.Integer()
    in_transit = fields.Integer(metadata={"description": "submitting, waiting for the user, processing"})
    amounts_fen = fields.Nested(PayoutAmountsSchema)


class TopUserSchema(Schema):
    id = fields.Integer()
    nickname = fields.String(allow_none=True)


class TopDistributorSchema(Schema):
    user = fields.Nested(TopUserSchema)
    commission_fen = fields.Integer()


class SeriesDaySchema(Schema):
    day = fields.String(metadata={"description": "Asia/Shanghai day, YYYY-MM-DD"})
    gmv_fen = fields.Integer()
    paid_orders = fields.Integer()
    commission_credited_fen = fields.Integer()
    new_distributors = fields.Integer()


class DashboardSchema(Schema):
    today = fields.Nested(FiguresSchema)
    last_30_days = fields.Nested(PeriodFiguresSchema)
    payouts = fields.Nested(PayoutCountsSchema)
    top_distributors = fields.List(fields.Nested(TopDistributorSchema))
    series = fields.List(fields.Nested(SeriesDaySchema))

"""Request and response shapes of the commission package (wallet, withdrawals, payouts, settings)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.commission.models import PAYOUT_STATUSES
from backend.commission.settings import BIND_MODES, DISTRIBUTION_MODES, PAYOUT_RAILS
from backend.commission.waiting import WAITING_CODES
from backend.schemas import PageArgs, Timestamp, list_schema

_bp = validate.Range(min=0, max=10000)


class BuyerSchema(Schema):
    id = fields.Integer()
    nickname = fields.String()


class ChainSchema(Schema):
    buyer_id = fields.Integer()
    level1_id = fields.Integer(allow_none=True)
    level2_id = fields.Integer(allow_none=True)
    source = fields.String(allow_none=True)


class CommissionSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    level = fields.Integer()
    amount_fen = fields.Integer()
    reversed_fen = fields.Integer()
    status = fields.String()
    buyer = fields.Nested(BuyerSchema)
    chain = fields.Nested(ChainSchema)
    rate_bp = fields.Integer(allow_none=True, metadata={
        "description": "the person's rate used; null when lines were priced by their product"})
    rate_source = fields.String(allow_none=True, metadata={
        "description": "which rate applied and why, as it was when paid: product, kol, level:{name}, default, "
                       "or product+… when some lines had their product's own; null before levels existed"})
    created_at = Timestamp()


CommissionPage = list_schema(CommissionSchema, "CommissionPage")


class WalletSchema(Schema):
    pending_fen = fields.Integer()
    available_fen = fields.Integer()
    withdrawn_fen = fields.Integer()
    total_earned_fen = fields.Integer()
    in_transit_fen = fields.Integer()


class WithdrawalArgs(Schema):
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**9))


class WithdrawalSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    amount_fen = fields.Integer()
    out_bill_no = fields.String(allow_none=True)
    package_info = fields.String()
    last_error = fields.String(allow_none=True)
    created_at = Timestamp()


class PayoutSchema(WithdrawalSchema):
    kind = fields.String()
    user_id = fields.Integer()
    commission_id = fields.Integer(allow_none=True)
    rail = fields.String()
    attempt = fields.Integer()
    finished_at = Timestamp(allow_none=True)


class PayoutListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(PAYOUT_STATUSES))
    user_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    kind = fields.String(validate=validate.OneOf(["commission", "withdrawal"]))


def _waiting() -> dict:
    return {
        "waiting_for": fields.String(metadata={"description": "a stable code: " + ", ".join(WAITING_CODES)}),
        "waiting_for_text": fields.String(metadata={"description": "the same in plain English, for an operator"}),
    }


AdminPayoutSchema = PayoutSchema.from_dict(_waiting(), name="AdminPayout")


def _total_is_estimate() -> fields.Boolean:
    return fields.Boolean(metadata={
        "description": "true when total is the database's row estimate (past 10,000 matching rows)"})


PayoutPage = list_schema(AdminPayoutSchema, "PayoutPage", total_is_estimate=_total_is_estimate())


class WithdrawalListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(PAYOUT_STATUSES))
    user_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))


class AdminWithdrawalSchema(Schema):
    id = fields.Integer()
    user = fields.Nested(BuyerSchema)
    amount_fen = fields.Integer()
    status = fields.String()
    rail = fields.String()
    attempt = fields.Integer()
    out_bill_no = fields.String(allow_none=True)
    created_at = Timestamp()
    finished_at = Timestamp(allow_none=True)
    waiting_for, waiting_for_text = _waiting().values()
    last_error = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True, metadata={"description": "why it failed (status failed)"})


AdminWithdrawalPage = list_schema(AdminWithdrawalSchema, "AdminWithdrawalPage", total_is_estimate=_total_is_estimate())


class SettingsSchema(Schema):
    mode = fields.String(validate=validate.OneOf(DISTRIBUTION_MODES))
    bind_mode = fields.String(validate=validate.OneOf(BIND_MODES))
    protection_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=3650))
    level1_bp = fields.Integer(strict=True, validate=_bp)
    level2_bp = fields.Integer(strict=True, validate=_bp)
    cap_bp = fields.Integer(strict=True, validate=_bp)
    self_purchase = fields.Boolean()
    hold_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=365))
    payout_rail = fields.String(validate=validate.OneOf(PAYOUT_RAILS))
    min_transfer_fen = fields.Integer(strict=True, validate=validate.Range(min=10, max=10**8))
    legacy_min_transfer_fen = fields.Integer(strict=True, validate=validate.Range(min=30, max=10**8))
    daily_transfer_limit_fen = fields.Integer(strict=True, validate=validate.Range(min=0, max=10**10))
    level_grace_periods = fields.Integer(strict=True, validate=validate.Range(min=0, max=24), metadata={
        "description": "保级: closed months a distributor may miss their level's conditions before the downgrade"})
    version = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**31 - 1), metadata={
        "description": "counts the saves. In a PUT (optional; or the If-Match header, the ETag of the "
                       "read): save only if the settings are still at this version, else 409 STALE_SETTINGS"})


class WalletDrift(Schema):
    stored = fields.Integer()
    ledger = fields.Integer()


class WalletCheckSchema(Schema):
    user_id = fields.Integer()
    ok = fields.Boolean()
    drift = fields.Dict(keys=fields.String(), values=fields.Nested(WalletDrift),
                        metadata={"description": "wallet column → stored and ledger-derived fen; empty when ok"})


class UserWithdrawalSchema(Schema):
    """One user's withdrawal, on the operators' user page (``commission.listing.withdrawal_view``)."""

    id = fields.Integer()
    status = fields.String()
    amount_fen = fields.Integer()
    rail = fields.String()
    out_bill_no = fields.String(allow_none=True)
    attempt = fields.Integer()
    failure_reason = fields.String(allow_none=True, metadata={"description": "why it failed; null unless failed"})
    last_error = fields.String(allow_none=True)
    created_at = Timestamp()
    updated_at = Timestamp()
    finished_at = Timestamp(allow_none=True)


UserWithdrawalPage = list_schema(UserWithdrawalSchema, "UserWithdrawalPage")


class CommissionListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(["pending", "available", "withdrawn", "reversed"]))

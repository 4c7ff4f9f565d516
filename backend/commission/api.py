"""A distributor's commissions, wallet and withdrawals."""

from __future__ import annotations

from flask import g

from backend import rate_limits
from backend.apidoc import Blueprint, errors
from backend.auth.guards import login_required
from backend.commission import listing, payouts, schemas, withdrawals
from backend.commission import service as commission
from backend.commission.jobs import run_payout
from backend.commission.models import Payout
from backend.errors import ApiError
from backend.extensions import db
from backend.schemas import PageArgs
from backend.transactions import commit_before_remote_call

blp = Blueprint("commission", __name__, url_prefix="/api/v1/me", description="Commissions, wallet, withdrawals")


@blp.get("/commissions")
@login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.CommissionPage)
def my_commissions(args):
    return listing.commissions_page(g.user.id, args["page"], args["per_page"])


@blp.get("/wallet")
@login_required
@blp.response(200, schemas.WalletSchema)
def my_wallet():
    return commission.wallet_view(g.user.id)


@blp.post("/withdrawals")
@rate_limits.limited("withdrawal", "withdrawal_ip")
@login_required
@errors("AMOUNT_TOO_SMALL", "DAILY_LIMIT_EXCEEDED", "INSUFFICIENT_BALANCE", "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(schemas.WithdrawalArgs)
@blp.response(201, schemas.WithdrawalSchema)
def withdraw(args):
    payout = withdrawals.create_withdrawal(g.user, args["amount_fen"])
    commit_before_remote_call()  # the withdrawal and its hold are on record before WeChat hears of them
    # Ask WeChat now so the answer carries package_info for the user to confirm;
    # if WeChat is slow the sweeper finishes it and GET shows the result.
    run_payout(payout.id)
    return payouts.payout_view(db.session.get(Payout, payout.id))


@blp.get("/withdrawals/<int:withdrawal_id>")
@login_required
@errors("WITHDRAWAL_NOT_FOUND")
@blp.response(200, schemas.WithdrawalSchema)
def get_withdrawal(withdrawal_id):
    payout = db.session.get(Payout, withdrawal_id)
    if payout is None or payout.user_id != g.user.id or payout.kind != "withdrawal":
        raise ApiError("WITHDRAWAL_NOT_FOUND", f"Withdrawal {withdrawal_id} does not exist")
    return payouts.payout_view(payout)

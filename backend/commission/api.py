"""A distributor's commissions, wallet and withdrawals."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from backend.apidoc import Blueprint, errors
from backend.auth.guards import login_required
from backend.auth.models import User
from backend.commission import payouts, schemas, withdrawals
from backend.commission import service as commission
from backend.commission.jobs import run_payout
from backend.commission.models import Commission, Payout
from backend.errors import ApiError
from backend.extensions import db
from backend.orders.models import Order
from backend.schemas import PageArgs, page_of
from backend.transactions import commit_before_remote_call

blp = Blueprint("commission", __name__, url_prefix="/api/v1/me", description="Commissions, wallet, withdrawals")


@blp.get("/commissions")
@login_required
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.CommissionPage)
def my_commissions(args):
    page, per_page = args["page"], args["per_page"]
    base = select(Commission).where(Commission.user_id == g.user.id)
    total = db.session.scalar(select(db.func.count()).select_from(base.subquery()))
    rows = db.session.execute(
        select(Commission, User.nickname, Order.level1_id, Order.level2_id, Order.chain_source)
        .join(User, User.id == Commission.buyer_id).join(Order, Order.id == Commission.order_id)
        .where(Commission.user_id == g.user.id)
        .order_by(Commission.created_at.desc(), Commission.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    items = [{
        "id": c.id, "order_id": c.order_id, "level": c.level, "amount_fen": c.amount_fen,
        "reversed_fen": c.reversed_fen, "status": c.status, "buyer": {"id": c.buyer_id, "nickname": nickname},
        "chain": {"buyer_id": c.buyer_id, "level1_id": l1, "level2_id": l2, "source": source},
        "created_at": c.created_at,
    } for c, nickname, l1, l2, source in rows]
    return page_of(items, page, per_page, total)


@blp.get("/wallet")
@login_required
@blp.response(200, schemas.WalletSchema)
def my_wallet():
    return commission.wallet_view(g.user.id)


@blp.post("/withdrawals")
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

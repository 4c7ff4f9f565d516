"""Pages of one person's commissions and withdrawals: the mini-program's /me lists and
the operators' user pages read the same rows the same way."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.auth.models import User
from backend.commission.models import Commission, Payout
from backend.extensions import db
from backend.orders.models import Order
from backend.schemas import page_of

COMMISSION_STATUSES = ("pending", "available", "withdrawn", "reversed")


def commissions_page(user_id: int, page: int, per_page: int, status: str | None = None) -> dict:
    """Newest first (ix_commissions_user_created), each with its buyer and order chain."""
    where = [Commission.user_id == user_id]
    if status is not None:
        where.append(Commission.status == status)
    total = db.session.scalar(select(func.count(Commission.id)).where(*where))
    rows = db.session.execute(
        select(Commission, User.nickname, Order.level1_id, Order.level2_id, Order.chain_source)
        .join(User, User.id == Commission.buyer_id).join(Order, Order.id == Commission.order_id)
        .where(*where)
        .order_by(Commission.created_at.desc(), Commission.id.desc())
        .limit(per_page).offset((page - 1) * per_page)).all()
    items = [{
        "id": c.id, "order_id": c.order_id, "level": c.level, "amount_fen": c.amount_fen,
        "reversed_fen": c.reversed_fen, "status": c.status, "buyer": {"id": c.buyer_id, "nickname": nickname},
        "chain": {"buyer_id": c.buyer_id, "level1_id": l1, "level2_id": l2, "source": source},
        "rate_bp": c.rate_bp, "rate_source": c.rate_source,
        "created_at": c.created_at,
    } for c, nickname, l1, l2, source in rows]
    return page_of(items, page, per_page, total)


def withdrawal_view(payout: Payout) -> dict:
    return {
        "id": payout.id, "status": payout.status, "amount_fen": payout.amount_fen, "rail": payout.rail,
        "out_bill_no": payout.out_bill_no, "attempt": payout.attempt,
        "failure_reason": payout.last_error if payout.status == "failed" else None,
        "last_error": payout.last_error, "created_at": payout.created_at, "updated_at": payout.updated_at,
        "finished_at": payout.finished_at,
    }


def withdrawals_page(user_id: int, page: int, per_page: int) -> dict:
    """The withdrawals a user asked for, newest first (ix_payouts_user_created)."""
    where = (Payout.user_id == user_id, Payout.kind == "withdrawal")
    total = db.session.scalar(select(func.count(Payout.id)).where(*where))
    rows = db.session.scalars(select(Payout).where(*where).order_by(Payout.created_at.desc(), Payout.id.desc())
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return page_of([withdrawal_view(p) for p in rows], page, per_page, total)

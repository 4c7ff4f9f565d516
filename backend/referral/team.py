"""Team pages: members of one level with their orders, GMV and commission to me."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.auth.models import User
from backend.commission.models import Commission
from backend.extensions import db
from backend.orders.models import Order
from backend.referral.service import team_query
from backend.schemas import page_of
from backend.timeutil import iso

PAID_STATUSES = ("paid", "shipped", "completed", "partially_refunded", "refunded")


def team_page(me_id: int, level: int, page: int, per_page: int) -> dict:
    stmt = team_query(me_id, level)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    members = db.session.scalars(
        stmt.order_by(User.bound_at.desc(), User.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    ids = [m.id for m in members]  # one page (≤ 100), not the tree
    orders = {}
    commissions = {}
    if ids:
        orders = {row.user_id: row for row in db.session.execute(
            select(Order.user_id, func.count().label("n"),
                   func.coalesce(func.sum(Order.paid_fen - Order.refunded_fen), 0).label("gmv"))
            .where(Order.user_id.in_(ids), Order.status.in_(PAID_STATUSES)).group_by(Order.user_id))}
        commissions = dict(db.session.execute(
            select(Commission.buyer_id, func.coalesce(func.sum(Commission.amount_fen - Commission.reversed_fen), 0))
            .where(Commission.user_id == me_id, Commission.buyer_id.in_(ids)).group_by(Commission.buyer_id)).all())
    items = [{
        "user_id": m.id, "nickname": m.nickname, "bound_at": iso(m.bound_at),
        "orders_count": int(orders[m.id].n) if m.id in orders else 0,
        "gmv_fen": int(orders[m.id].gmv) if m.id in orders else 0,
        "commission_to_me_fen": int(commissions.get(m.id, 0)),
    } for m in members]
    return page_of(items, page, per_page, total)

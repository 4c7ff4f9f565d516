"""Team pages: members of one level with their orders, GMV and commission to me.

Every query is one index range: level 1 is ``inviter_id = me``
(ix_users_inviter_bound), level 2 ``inviter2_id = me`` (ix_users_inviter2_bound; the
page then looks up each member's level-1 "via" by primary key). No id list of the
tree is ever loaded; only one page (≤ 100 ids) goes into IN (...) for the
per-member aggregates.
"""

from __future__ import annotations

from sqlalchemy import func, null, select
from sqlalchemy.orm import aliased

from backend.auth.models import User
from backend.commission.models import Commission
from backend.extensions import db
from backend.orders.models import Order
from backend.referral.service import in_team
from backend.schemas import page_of
from backend.timeutil import iso

PAID_STATUSES = ("paid", "shipped", "completed", "partially_refunded", "refunded")
SORTS = ("joined", "contribution")
LIKE_ESCAPE = "\\"

_COMMISSION_NET = func.coalesce(func.sum(Commission.amount_fen - Commission.reversed_fen), 0)


def _like_pattern(q: str) -> str:
    """``%q%`` with the LIKE wildcards (and the escape character) taken literally."""
    escaped = q.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def _members(me_id: int, level: int, q: str | None):
    """(select of member rows, the filter-only select for the count)."""
    if level == 1:
        stmt = select(User.id, User.nickname, User.bound_at, null().label("via_id"), null().label("via_nickname"))
    else:
        mid = aliased(User, name="via")
        stmt = (select(User.id, User.nickname, User.bound_at,
                       mid.id.label("via_id"), mid.nickname.label("via_nickname"))
                .join(mid, User.inviter_id == mid.id))
    stmt = stmt.where(in_team(me_id, level))
    count = select(func.count(User.id)).where(in_team(me_id, level))
    if q:
        match = User.nickname.ilike(_like_pattern(q), escape=LIKE_ESCAPE)
        stmt = stmt.where(match)
        count = count.where(match)
    return stmt, count


def team_page(me_id: int, level: int, page: int, per_page: int, sort: str = "joined", q: str | None = None) -> dict:
    if level not in (1, 2):
        raise ValueError(f"team level {level!r}: only 1 and 2 exist")
    if sort not in SORTS:
        raise ValueError(f"unknown team sort {sort!r}")
    stmt, count = _members(me_id, level, q)
    total = db.session.scalar(count)

    newest = (User.bound_at.desc(), User.id.desc())
    if sort == "contribution":
        # What each buyer brought me, grouped in SQL and outer-joined to the team,
        # so the page is ordered and cut by the database.
        mine = (select(Commission.buyer_id.label("buyer_id"), _COMMISSION_NET.label("fen"))
                .where(Commission.user_id == me_id).group_by(Commission.buyer_id).subquery("mine"))
        contributed = func.coalesce(mine.c.fen, 0)
        stmt = (stmt.add_columns(contributed.label("contributed"))
                .outerjoin(mine, mine.c.buyer_id == User.id)
                .order_by(contributed.desc(), *newest))
    else:
        stmt = stmt.order_by(*newest)
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()

    ids = [row.id for row in rows]  # one page (≤ 100), not the tree
    orders = {}
    commissions = {}
    if ids:
        orders = {row.user_id: row for row in db.session.execute(
            select(Order.user_id, func.count().label("n"),
                   func.coalesce(func.sum(Order.paid_fen - Order.refunded_fen), 0).label("gmv"))
            .where(Order.user_id.in_(ids), Order.status.in_(PAID_STATUSES)).group_by(Order.user_id))}
        if sort != "contribution":
            commissions = dict(db.session.execute(
                select(Commission.buyer_id, _COMMISSION_NET)
                .where(Commission.user_id == me_id, Commission.buyer_id.in_(ids)).group_by(Commission.buyer_id)).all())

    items = []
    for row in rows:
        to_me = row.contributed if sort == "contribution" else commissions.get(row.id, 0)
        via = {"id": row.via_id, "nickname": row.via_nickname} if level == 2 else None
        item = {
            "user_id": row.id, "nickname": row.nickname, "bound_at": iso(row.bound_at),
            "orders_count": int(orders[row.id].n) if row.id in orders else 0,
            "gmv_fen": int(orders[row.id].gmv) if row.id in orders else 0,
            "commission_to_me_fen": int(to_me or 0),
            "level": level, "via": via,
        }
        items.append(item)
    return page_of(items, page, per_page, total)

"""Team pages: members of one level with their orders, GMV and commission to me.

Every query is one index range: level 1 is ``inviter_id = me``
(ix_users_inviter_bound), level 2 ``inviter2_id = me`` (ix_users_inviter2_bound; the
page then looks up each member's level-1 "via" by primary key); the contribution
sort walks ix_team_contributions_rank (earner, net) backwards. No id list of the
tree is ever loaded; only one page (≤ 100 ids) goes into IN (...) for the
per-member figures.
"""

from __future__ import annotations

from sqlalchemy import and_, func, null, select
from sqlalchemy.orm import aliased

from backend.auth.models import User
from backend.extensions import db
from backend.orders.models import Order
from backend.referral.models import TeamContribution
from backend.referral.service import in_team, team_count
from backend.schemas import page_of
from backend.timeutil import iso

PAID_STATUSES = ("paid", "shipped", "completed", "partially_refunded", "refunded")
SORTS = ("joined", "contribution")
LIKE_ESCAPE = "\\"

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


def _contributors(stmt, me_id: int):
    """Members who brought me something, most first: one backward range of
    ix_team_contributions_rank, each row checked against the team filter by key."""
    return (stmt.add_columns(TeamContribution.net_fen.label("contributed"))
            .join(TeamContribution, and_(TeamContribution.buyer_id == User.id, TeamContribution.earner_id == me_id))
            .where(TeamContribution.net_fen > 0)
            .order_by(TeamContribution.net_fen.desc(), TeamContribution.buyer_id.desc()))


def _by_contribution(stmt, me_id: int, offset: int, per_page: int) -> list:
    """Contributors first (by what they brought), then everyone else newest first.
    The second list only starts once the first is used up, so only a page that
    reaches it pays for counting the first."""
    rows = db.session.execute(_contributors(stmt, me_id).limit(per_page).offset(offset)).all()
    if len(rows) == per_page:
        return rows
    brought = select(TeamContribution.buyer_id).where(
        TeamContribution.earner_id == me_id, TeamContribution.buyer_id == User.id, TeamContribution.net_fen > 0)
    skip = 0
    if offset:
        n_contributors = db.session.scalar(select(func.count()).select_from(
            _contributors(stmt, me_id).order_by(None).subquery()))
        skip = max(0, offset - n_contributors)
    rest = (stmt.add_columns(null().label("contributed")).where(~brought.exists())
            .order_by(User.bound_at.desc(), User.id.desc()).limit(per_page - len(rows)).offset(skip))
    return rows + db.session.execute(rest).all()


def team_page(me_id: int, level: int, page: int, per_page: int, sort: str = "joined", q: str | None = None) -> dict:
    if level not in (1, 2):
        raise ValueError(f"team level {level!r}: only 1 and 2 exist")
    if sort not in SORTS:
        raise ValueError(f"unknown team sort {sort!r}")
    stmt, count = _members(me_id, level, q)
    # a search counts its matches; the whole level is a counter kept by every bind
    total = db.session.scalar(count) if q else team_count(me_id, level)
    offset = (page - 1) * per_page
    if sort == "contribution":
        rows = _by_contribution(stmt, me_id, offset, per_page)
    else:
        rows = db.session.execute(stmt.order_by(User.bound_at.desc(), User.id.desc())
                                  .limit(per_page).offset(offset)).all()

    ids = [row.id for row in rows]  # one page (≤ 100), not the tree
    orders = {}
    brought = {}
    if ids:
        orders = {row.user_id: row for row in db.session.execute(
            select(Order.user_id, func.count().label("n"),
                   func.coalesce(func.sum(Order.paid_fen - Order.refunded_fen), 0).label("gmv"))
            .where(Order.user_id.in_(ids), Order.status.in_(PAID_STATUSES)).group_by(Order.user_id))}
        brought = dict(db.session.execute(select(TeamContribution.buyer_id, TeamContribution.net_fen).where(
            TeamContribution.earner_id == me_id, TeamContribution.buyer_id.in_(ids))).all())

    items = []
    for row in rows:
        via = {"id": row.via_id, "nickname": row.via_nickname} if level == 2 else None
        items.append({
            "user_id": row.id, "nickname": row.nickname, "bound_at": iso(row.bound_at),
            "orders_count": int(orders[row.id].n) if row.id in orders else 0,
            "gmv_fen": int(orders[row.id].gmv) if row.id in orders else 0,
            "commission_to_me_fen": int(brought.get(row.id, 0)),
            "level": level, "via": via,
        })
    return page_of(items, page, per_page, total)

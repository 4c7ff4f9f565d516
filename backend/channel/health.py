"""The nightly health pass: every approved distributor's figures, set-based.

The pass walks the users' id space in ranges of ``CHUNK_IDS`` ids; per range it runs
two statements in one transaction: a DELETE of the range's snapshot rows and one
INSERT … SELECT that computes every figure of the range's approved distributors from
grouped subqueries (orders by ``level1_id``/``level2_id``, share events by
``sharer_id``, ``team_sizes``). No statement per distributor; a distributor revoked
since the last pass loses their row. Readers see either the old or the new rows of a
range, never a half-written one.

Figures (windows end at the pass's ``now``; GMV is paid net of refunds, as levels count it):

* ``last_sale_at``: the last paid order where they are level 1;
* ``gmv_30d_fen``, ``gmv_prev_30d_fen`` (days 31–60), ``gmv_90d_fen``;
* ``paid_90d_fen``/``refunded_90d_fen``: the refund rate is their quotient;
* ``shares_30d``/``visits_30d``: share events of type ``share``/``visit`` whose share
  code is theirs (``share_events.sharer_id``, as analytics attributes them);
  ``share_orders_30d``: their level-1 orders paid in 30 days that carried a share code;
* ``team_level1``/``team_level2`` (``team_sizes``), ``team_buyers_30d``: distinct
  buyers of paid orders where they are level 1 or 2, in 30 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, literal, select, union_all

from backend.auth.models import User
from backend.channel.models import ChannelHealth
from backend.community.models import ShareEvent
from backend.extensions import db
from backend.orders.models import Order
from backend.referral.models import TeamSize
from backend.timeutil import utcnow
from backend.transactions import unit_of_work

CHUNK_IDS = 50_000  # user ids per transaction
COLUMNS = ("user_id", "last_sale_at", "gmv_30d_fen", "gmv_prev_30d_fen", "gmv_90d_fen", "paid_90d_fen",
           "refunded_90d_fen", "shares_30d", "visits_30d", "share_orders_30d", "team_level1", "team_level2",
           "team_buyers_30d", "computed_at")


def _sum_if(condition, value):
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def range_select(lo: int, hi: int, now: datetime):
    """The snapshot rows of the approved distributors with ``lo <= id <= hi``."""
    orders, users, events, teams = Order.__table__, User.__table__, ShareEvent.__table__, TeamSize.__table__
    s30, s60, s90 = (now - timedelta(days=d) for d in (30, 60, 90))
    net = orders.c.paid_fen - orders.c.refunded_fen
    paid_at = orders.c.paid_at
    sales = select(
        orders.c.level1_id.label("uid"),
        func.max(paid_at).label("last_sale_at"),
        _sum_if(paid_at >= s30, net).label("gmv30"),
        _sum_if(and_(paid_at >= s60, paid_at < s30), net).label("gmvprev"),
        _sum_if(paid_at >= s90, net).label("gmv90"),
        _sum_if(paid_at >= s90, orders.c.paid_fen).label("paid90"),
        _sum_if(paid_at >= s90, orders.c.refunded_fen).label("refunded90"),
        _sum_if(and_(paid_at >= s30, orders.c.share_code.is_not(None)), 1).label("share_orders"),
    ).where(orders.c.level1_id.between(lo, hi), paid_at.is_not(None), paid_at <= now) \
        .group_by(orders.c.level1_id).subquery("sales")
    shared = select(
        events.c.sharer_id.label("uid"),
        _sum_if(events.c.type == "share", 1).label("shares"),
        _sum_if(events.c.type == "visit", 1).label("visits"),
    ).where(events.c.sharer_id.between(lo, hi), events.c.created_at >= s30, events.c.created_at <= now) \
        .group_by(events.c.sharer_id).subquery("shared")
    recent = and_(paid_at >= s30, paid_at <= now)
    bought = union_all(
        select(orders.c.level1_id.label("uid"), orders.c.user_id.label("buyer"))
        .where(orders.c.level1_id.between(lo, hi), recent),
        select(orders.c.level2_id.label("uid"), orders.c.user_id.label("buyer"))
        .where(orders.c.level2_id.between(lo, hi), recent),
    ).subquery("bought")
    buyers = select(bought.c.uid, func.count(func.distinct(bought.c.buyer)).label("buyers")) \
        .group_by(bought.c.uid).subquery("buyers")
    zero = literal(0)
    return select(
        users.c.id, sales.c.last_sale_at,
        func.coalesce(sales.c.gmv30, zero), func.coalesce(sales.c.gmvprev, zero),
        func.coalesce(sales.c.gmv90, zero), func.coalesce(sales.c.paid90, zero),
        func.coalesce(sales.c.refunded90, zero), func.coalesce(shared.c.shares, zero),
        func.coalesce(shared.c.visits, zero), func.coalesce(sales.c.share_orders, zero),
        func.coalesce(teams.c.level1_count, zero), func.coalesce(teams.c.level2_count, zero),
        func.coalesce(buyers.c.buyers, zero), literal(now, ChannelHealth.__table__.c.computed_at.type),
    ).select_from(users) \
        .outerjoin(sales, sales.c.uid == users.c.id) \
        .outerjoin(shared, shared.c.uid == users.c.id) \
        .outerjoin(teams, teams.c.user_id == users.c.id) \
        .outerjoin(buyers, buyers.c.uid == users.c.id) \
        .where(users.c.id.between(lo, hi), users.c.distributor_status == "approved")


def refresh_range(lo: int, hi: int, now: datetime) -> None:
    """Rewrite the snapshot rows of ids ``lo..hi`` (two statements; the caller commits)."""
    table = ChannelHealth.__table__
    db.session.execute(delete(table).where(table.c.user_id.between(lo, hi)))
    db.session.execute(table.insert().from_select(list(COLUMNS), range_select(lo, hi, now)))


def run_pass(now: datetime | None = None, chunk: int = CHUNK_IDS, progress=None) -> dict:
    """The whole pass, one transaction per id range. ``progress(done_ids, total_ids)``
    is called after each range (the CLI's progress bar)."""
    now = now or utcnow()
    with unit_of_work("channel: health bounds"):
        top = db.session.scalar(select(func.max(User.__table__.c.id))) or 0
    stats = {"ranges": 0, "distributors": 0}
    lo = 1
    while lo <= top:
        hi = lo + chunk - 1
        with unit_of_work("channel: health range"):
            refresh_range(lo, hi, now)
        stats["ranges"] += 1
        if progress is not None:
            progress(min(hi, top), top)
        lo = hi + 1
    # counted once at the end: an INSERT … SELECT's row count is not reported by every driver
    with unit_of_work("channel: health count"):
        stats["distributors"] = db.session.scalar(select(func.count()).select_from(ChannelHealth.__table__))
    return stats

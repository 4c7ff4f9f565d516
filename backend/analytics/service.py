"""Fission analytics, computed by SQL aggregates over users, bind_history, orders,
commissions and share_events.

Periods: ``[from, to)`` in whole days of Asia/Shanghai, turned into UTC instants
before they reach the database (everything is stored in UTC). The per-day split is
a ``CASE`` over the UTC day boundaries, so it is the same SQL on SQLite,
PostgreSQL and MariaDB (no time-zone functions in the database).

Restricting to one tree (``root_id`` R): the tree is R and every user whose
``root_id`` is R (a root has ``root_id`` NULL and depth 0). What belongs to it:

* an event belongs to the tree of its ``sharer_id`` (the owner of the share code);
  a ``share`` event without a known code belongs to the tree of its sender;
* a bind belongs to the tree of its new inviter;
* an order belongs to the tree of its level-1 beneficiary (``orders.level1_id``,
  snapshotted at payment) — that is who brought it.

A *paid order* is an order with ``paid_at`` set (a later refund does not undo the
fact that it was paid). A user's *first paid order* is the paid order with no
earlier ``paid_at`` of the same user.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import and_, case, exists, func, literal_column, or_, select
from sqlalchemy.orm import aliased

from backend import read_cache
from backend.apidoc import get_or_404
from backend.auth.models import User
from backend.commission.models import Commission
from backend.community.models import ShareEvent
from backend.errors import ApiError
from backend.extensions import db
from backend.orders.models import Order
from backend.referral.models import BindHistory
from backend.timeutil import SHOP_TZ, shop_day_bounds, shop_today, utcnow

MAX_DAYS = 366
SHARE_BIND_SOURCES = ("login", "order", "bind")  # binds a share link made; operator moves ("admin") are not
TOP_SHARE = 0.2  # "top 20 % of distributors"
DEPTH_CACHE_SECONDS = 600
CLOSED_AFTER = timedelta(hours=1)  # a range is closed this long after its last day ended
CLOSED_CACHE_SECONDS = 26 * 3600


@dataclass(frozen=True)
class Window:
    """``[from, to)`` in Shanghai days, as UTC instants."""

    days: tuple[date, ...]
    bounds: tuple[datetime, ...]  # UTC start of each day, then the end: len(days) + 1

    @property
    def start(self) -> datetime:
        return self.bounds[0]

    @property
    def end(self) -> datetime:
        return self.bounds[-1]


def window(from_day: date, to_day: date) -> Window:
    count = (to_day - from_day).days
    if count < 1:
        raise ApiError("INVALID_DATE_RANGE", "`to` must be after `from` (the range is [from, to))")
    if count > MAX_DAYS:
        raise ApiError("INVALID_DATE_RANGE", f"At most {MAX_DAYS} days at once")
    if from_day.year < 1900 or to_day.year > 9000:  # bounds are computed in UTC: keep clear of date.min/max
        raise ApiError("INVALID_DATE_RANGE", "Days from 1900 to 9000 only")
    days = tuple(from_day + timedelta(days=i) for i in range(count + 1))
    bounds = tuple(datetime.combine(d, time(0), SHOP_TZ).astimezone(UTC) for d in days)
    return Window(days=days[:-1], bounds=bounds)


def check_root(root_id: int | None) -> None:
    if root_id is None:
        return
    user = get_or_404(User, root_id)
    if user.inviter_id is not None:
        raise ApiError("NOT_A_TREE_ROOT", f"User {root_id} is bound under someone (root {user.root_id})",
                       details={"root_id": user.root_id})


def _in_tree(column, root_id: int):
    """``column`` (a user id) is R or below R: an index lookup on users.root_id. An
    alias of its own, so the subquery never correlates with a ``users`` outside."""
    member = aliased(User)
    return column.in_(select(member.id).where(or_(member.id == root_id, member.root_id == root_id)))


def _during(column, win: Window):
    return and_(column >= win.start, column < win.end)


# --- the tree --------------------------------------------------------------------

def depth_distribution(root_id: int | None) -> list[dict]:
    """Users per depth (0 = a root), one GROUP BY; the whole user base without a root.

    Cached under what it depends on: a depth is set only by a new user (depth 0) or a
    bind, and every bind writes a ``bind_history`` row, so the newest user id and the
    newest bind id are its version (two primary-key lookups). Ids are handed out before
    commit, so a transaction committing after a later id could leave the cached figure
    one person behind; it is kept ten minutes at most for that."""
    version = db.session.execute(select(select(func.max(User.id)).scalar_subquery(),
                                        select(func.max(BindHistory.id)).scalar_subquery())).one()

    def compute() -> list[dict]:
        stmt = select(User.depth, func.count()).group_by(User.depth).order_by(User.depth)
        if root_id is not None:
            stmt = stmt.where(or_(User.id == root_id, User.root_id == root_id))
        return [{"depth": depth, "users": n} for depth, n in db.session.execute(stmt)]

    return read_cache.cached("analytics:depth", f"{root_id or 'all'}:{version[0]}:{version[1]}", compute,
                             seconds=DEPTH_CACHE_SECONDS)


# --- facts: (t, key) rows, counted in total and per day ----------------------------

@dataclass(frozen=True)
class Counted:
    total: int
    per_day: tuple[int, ...]


def _count(facts, win: Window, distinct: bool) -> Counted:
    """``facts`` selects ``t`` (a UTC instant inside the window) and ``key``; count
    the keys (distinct or not) over the whole range and per Shanghai day. The per-day
    figures of a distinct count need not add up to the total (one person, two days)."""
    sub = facts.subquery()
    agg = func.count(sub.c.key.distinct()) if distinct else func.count(sub.c.key)
    total = db.session.scalar(select(agg)) or 0
    bounds = win.bounds
    last = len(win.days) - 1  # day numbers are ours: inline, not parameters the database must type
    bucket = case(*((sub.c.t < bounds[i + 1], literal_column(str(i))) for i in range(last)),
                  else_=literal_column(str(last))) if last else literal_column("0")
    days = select(bucket.label("day"), sub.c.key.label("key")).subquery()
    agg = func.count(days.c.key.distinct()) if distinct else func.count(days.c.key)
    per_day = [0] * len(win.days)
    for day, n in db.session.execute(select(days.c.day, agg).group_by(days.c.day)):
        per_day[int(day)] = n
    return Counted(total, tuple(per_day))


def _event_tree(root_id: int | None, *, sender_fallback: bool):
    if root_id is None:
        return True
    owner = func.coalesce(ShareEvent.sharer_id, ShareEvent.user_id) if sender_fallback else ShareEvent.sharer_id
    return _in_tree(owner, root_id)


def shares(win: Window, root_id: int | None) -> Counted:
    """Share events in the range (anonymous ones included)."""
    facts = select(ShareEvent.created_at.label("t"), ShareEvent.id.label("key")).where(
        ShareEvent.type == "share", _during(ShareEvent.created_at, win),
        _event_tree(root_id, sender_fallback=True))
    return _count(facts, win, distinct=False)


def participants(win: Window, root_id: int | None) -> Counted:
    """Distinct users who sent a ``share`` event in the range. Only a signed-in
    sender is a known person: anonymous share events are not participants."""
    facts = select(ShareEvent.created_at.label("t"), ShareEvent.user_id.label("key")).where(
        ShareEvent.type == "share", ShareEvent.user_id.is_not(None), _during(ShareEvent.created_at, win),
        _event_tree(root_id, sender_fallback=True))
    return _count(facts, win, distinct=True)


def _share_visits(win: Window, root_id: int | None):
    return select(ShareEvent.created_at.label("t"), ShareEvent.user_id.label("key")).where(
        ShareEvent.type == "visit", ShareEvent.share_code.is_not(None), _during(ShareEvent.created_at, win),
        _event_tree(root_id, sender_fallback=False))


def visitors(win: Window, root_id: int | None) -> Counted:
    """Distinct signed-in users with a ``visit`` event carrying a share code."""
    return _count(_share_visits(win, root_id).where(ShareEvent.user_id.is_not(None)), win, distinct=True)


def anonymous_visits(win: Window, root_id: int | None) -> Counted:
    """``visit`` events with a share code sent without a token (people we cannot tell apart)."""
    facts = select(ShareEvent.created_at.label("t"), ShareEvent.id.label("key")).where(
        ShareEvent.type == "visit", ShareEvent.share_code.is_not(None), ShareEvent.user_id.is_(None),
        _during(ShareEvent.created_at, win), _event_tree(root_id, sender_fallback=False))
    return _count(facts, win, distinct=False)


def reflow(win: Window, root_id: int | None) -> Counted:
    """Distinct users who came back through a share link: a ``visit`` event with a
    share code, in the range, by a signed-in user who had a paid order
    (``paid_at``) strictly before that visit. Counted on the day of the visit."""
    earlier = aliased(Order)
    facts = _share_visits(win, root_id).where(
        ShareEvent.user_id.is_not(None),
        exists().where(earlier.user_id == ShareEvent.user_id, earlier.paid_at.is_not(None),
                       earlier.paid_at < ShareEvent.created_at))
    return _count(facts, win, distinct=True)


def binds(win: Window, root_id: int | None) -> Counted:
    """Distinct users bound by a share (``bind_history`` rows with source login,
    order or bind) in the range; a rebind of the same user counts once per day."""
    facts = select(BindHistory.created_at.label("t"), BindHistory.user_id.label("key")).where(
        BindHistory.source.in_(SHARE_BIND_SOURCES), _during(BindHistory.created_at, win))
    if root_id is not None:
        facts = facts.where(_in_tree(BindHistory.new_inviter_id, root_id))
    return _count(facts, win, distinct=True)


def _first_paid_orders(win: Window, root_id: int | None):
    """Orders paid in the range that are their buyer's first paid order."""
    order, earlier = aliased(Order), aliased(Order)
    stmt = select(order.paid_at.label("t"), order.user_id.label("key")).where(
        _during(order.paid_at, win),
        ~exists().where(earlier.user_id == order.user_id, earlier.paid_at.is_not(None),
                        earlier.paid_at < order.paid_at))
    if root_id is not None:
        stmt = stmt.where(_in_tree(order.level1_id, root_id))
    return stmt, order


def first_orders(win: Window, root_id: int | None) -> Counted:
    """The funnel's last stage: users with a share bind (as in ``binds``) in the
    range whose first paid order is in the range, at or after that bind. Counted on
    the day of the payment."""
    stmt, order = _first_paid_orders(win, root_id)
    bound = select(BindHistory.id).where(
        BindHistory.user_id == order.user_id, BindHistory.source.in_(SHARE_BIND_SOURCES),
        BindHistory.created_at >= win.start, BindHistory.created_at <= order.paid_at)
    if root_id is not None:
        bound = bound.where(_in_tree(BindHistory.new_inviter_id, root_id))
    return _count(stmt.where(bound.exists()), win, distinct=True)


def new_customers(win: Window, root_id: int | None) -> Counted:
    """New customers brought by shares: distinct users U whose first paid order P
    has ``paid_at`` in the range, and

    * P's chain came from a share link (``orders.chain_source = 'share'``: U was
      bound to nobody and paid through a share code), or
    * U's current binding was made by a share (``users.bind_source`` login, order
      or bind) with ``bound_at`` in the range and not after P was paid.

    Counted on the day of P's payment; with a tree, P's level-1 must be in it."""
    stmt, order = _first_paid_orders(win, root_id)
    stmt = stmt.join(User, User.id == order.user_id).where(or_(
        order.chain_source == "share",
        and_(User.bind_source.in_(SHARE_BIND_SOURCES), _during(User.bound_at, win),
             User.bound_at <= order.paid_at)))
    return _count(stmt, win, distinct=True)


def _paid_orders(win: Window, root_id: int | None):
    stmt = select(Order.paid_at.label("t"), Order.id.label("key")).where(_during(Order.paid_at, win))
    if root_id is not None:
        stmt = stmt.where(_in_tree(Order.level1_id, root_id))
    return stmt


def paid_orders(win: Window, root_id: int | None) -> Counted:
    return _count(_paid_orders(win, root_id), win, distinct=False)


def level2_orders(win: Window, root_id: int | None) -> Counted:
    """Paid orders of the range that paid a level-2 commission (a level-2
    ``commissions`` row exists; rows are written only for amounts above zero)."""
    level2 = select(Commission.id).where(Commission.order_id == Order.id, Commission.level == 2)
    return _count(_paid_orders(win, root_id).where(level2.exists()), win, distinct=False)


def top_distributors(win: Window, root_id: int | None) -> dict:
    """Distributors ranked by the paid orders of the range they brought as level 1
    (ties by id); the top 20 % is ``ceil(0.2 × N)`` of the N distributors with at
    least one such order. Returns their number and their orders; the share is taken
    of all paid orders of the range (``paid_orders``)."""
    per = (select(Order.level1_id.label("uid"), func.count().label("n"))
           .where(_during(Order.paid_at, win), Order.level1_id.is_not(None))
           .group_by(Order.level1_id))
    if root_id is not None:
        per = per.where(_in_tree(Order.level1_id, root_id))
    ranked = per.subquery()
    distributors = db.session.scalar(select(func.count()).select_from(ranked)) or 0
    top = math.ceil(distributors * TOP_SHARE)
    orders = 0
    if top:
        best = select(ranked.c.n).order_by(ranked.c.n.desc(), ranked.c.uid).limit(top).subquery()
        orders = db.session.scalar(select(func.coalesce(func.sum(best.c.n), 0))) or 0
    return {"distributors": distributors, "top_distributors": top, "top_orders": int(orders)}


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def closed(to_day: date, now: datetime | None = None) -> bool:
    """The range ended, and settled, a while ago: a payment committed just after midnight
    with ``paid_at`` just before it is in (the dashboard's and the funnel's rule)."""
    return shop_day_bounds(to_day)[0] + CLOSED_AFTER <= (now or utcnow())


def fission(from_day: date, to_day: date, root_id: int | None) -> dict:
    """Totals of the range and one entry per Shanghai day.

    A closed range is computed once a Shanghai day and kept in Redis (T+1): its facts
    are stamped when they happen, so nothing new lands in it, and what can still move
    (a customer rebound later, a late level-2 commission) is taken in the next day. A
    range that includes today is counted live."""
    win = window(from_day, to_day)
    check_root(root_id)
    if not closed(to_day):
        return _fission(win, from_day, to_day, root_id)
    today = shop_today()
    cached = read_cache.cached("analytics:fission", f"{from_day}:{to_day}:{root_id or 'all'}:{today}",
                               lambda: _jsonable(_fission(win, from_day, to_day, root_id)),
                               seconds=CLOSED_CACHE_SECONDS)
    return _from_json(cached)


def _jsonable(result: dict) -> dict:
    return {**result, "from": result["from"].isoformat(), "to": result["to"].isoformat(),
            "days": [{**day, "date": day["date"].isoformat()} for day in result["days"]]}


def _from_json(result: dict) -> dict:
    return {**result, "from": date.fromisoformat(result["from"]), "to": date.fromisoformat(result["to"]),
            "days": [{**day, "date": date.fromisoformat(day["date"])} for day in result["days"]]}


def _fission(win: Window, from_day: date, to_day: date, root_id: int | None) -> dict:
    counts = {
        "shares": shares(win, root_id),
        "visitors": visitors(win, root_id),
        "anonymous_visits": anonymous_visits(win, root_id),
        "binds": binds(win, root_id),
        "first_orders": first_orders(win, root_id),
        "participants": participants(win, root_id),
        "new_customers": new_customers(win, root_id),
        "reflow": reflow(win, root_id),
        "paid_orders": paid_orders(win, root_id),
        "level2_orders": level2_orders(win, root_id),
    }

    def figures(pick) -> dict:
        row = {name: pick(c) for name, c in counts.items()}
        row["k_factor"] = _ratio(row["new_customers"], row["participants"])
        row["level2_share"] = _ratio(row["level2_orders"], row["paid_orders"])
        return row

    totals = figures(lambda c: c.total)
    top = top_distributors(win, root_id)
    totals.update(top, top_share=_ratio(top["top_orders"], totals["paid_orders"]))
    days = [{"date": day, **figures(lambda c, i=i: c.per_day[i])} for i, day in enumerate(win.days)]
    return {"from": from_day, "to": to_day, "root_id": root_id, "totals": totals, "days": days}

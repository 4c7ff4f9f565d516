"""Distributor levels: the operators' definitions, the sales measured, and the decisions.

A level's conditions are measured on sales only, over its rolling window of days:

* ``gmv_fen``: the distributor's own paid GMV net of refunds (orders where they are
  level 1: ``paid_fen - refunded_fen``);
* ``customers``: distinct buyers of those orders with something left after refunds;
* ``team_gmv_fen``: the same net GMV of every order where they are level 1 or level 2.

Never a count of people recruited: that is head-count pay (DESIGN.md §3), and no
field for it is accepted (``HEADCOUNT_FIELD_REFUSED``).

Decisions (``evaluate``): the target is the highest-ranked level whose conditions are
all met. An upgrade applies at once. A downgrade (保级) only when a month closes
(Asia/Shanghai): a distributor below their level misses the period; after more than
``level_grace_periods`` missed periods in a row they go down to their target. A level
change changes future commissions only: each commission keeps its rate and
``rate_source``. Every change (and every missed period in grace) is a
``distributor_level_changes`` row with the figures it was decided on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, literal, select, union_all, update

from backend.admin import audit
from backend.auth.models import User
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.levels.models import DistributorLevel, LevelChange
from backend.orders.models import Order
from backend.timeutil import SHOP_TZ, as_utc, utcnow

LEVEL_FIELDS = ("rank", "name", "level1_bp", "level2_bp", "window_days", "min_gmv_fen", "min_customers",
                "min_team_gmv_fen")
CONDITIONS = (("gmv_fen", "min_gmv_fen"), ("customers", "min_customers"), ("team_gmv_fen", "min_team_gmv_fen"))


# --- the operators' definitions -------------------------------------------------------

def level_view(level: DistributorLevel) -> dict:
    return {"id": level.id, **{name: getattr(level, name) for name in LEVEL_FIELDS},
            "created_at": level.created_at, "updated_at": level.updated_at}


def all_levels() -> list[DistributorLevel]:
    return list(db.session.scalars(select(DistributorLevel).order_by(DistributorLevel.rank)))


def _check(values: dict, level_id: int | None = None) -> None:
    cap = get_settings().cap_bp
    if values["level1_bp"] + values["level2_bp"] > cap:
        raise ApiError("LEVEL_RATES_OVER_CAP",
                       f"level-1 and level-2 rates together ({values['level1_bp'] + values['level2_bp']} bp) "
                       f"exceed the shop's cap ({cap} bp)", details={"cap_bp": cap})
    for name in ("rank", "name"):
        clash = db.session.scalar(select(DistributorLevel.id).where(
            getattr(DistributorLevel, name) == values[name], DistributorLevel.id != (level_id or 0)))
        if clash is not None:
            raise ApiError("LEVEL_EXISTS", f"another level has the {name} {values[name]!r}",
                           details={"field": name, "level_id": clash})


def create_level(args: dict) -> DistributorLevel:
    values = {"window_days": 30, "min_gmv_fen": 0, "min_customers": 0, "min_team_gmv_fen": 0, **args}
    _check(values)
    level = DistributorLevel(**{name: values[name] for name in LEVEL_FIELDS})
    db.session.add(level)
    db.session.flush()
    audit.set_target("distributor_level", level.id)
    audit.record_change("distributor_level", level.id, {}, {name: values[name] for name in LEVEL_FIELDS})
    return level


def update_level(level_id: int, changes: dict) -> DistributorLevel:
    """Change a level's definition: its new rates apply to commissions from now on."""
    level = db.session.get(DistributorLevel, level_id, with_for_update=True)
    if level is None:
        raise ApiError("LEVEL_NOT_FOUND", f"Level {level_id} does not exist")
    before = {name: getattr(level, name) for name in LEVEL_FIELDS}
    after = {**before, **{k: v for k, v in changes.items() if k in LEVEL_FIELDS}}
    _check(after, level.id)
    for name, value in after.items():
        setattr(level, name, value)
    db.session.flush()
    audit.record_change("distributor_level", level.id, *audit.changed(before, after))
    return level


# --- measuring -------------------------------------------------------------------------

@dataclass(frozen=True)
class Figures:
    gmv_fen: int = 0
    customers: int = 0
    team_gmv_fen: int = 0

    def meets(self, level: DistributorLevel) -> bool:
        return all(getattr(self, have) >= getattr(level, need) for have, need in CONDITIONS)


def measure(since: datetime, user_ids: list[int] | None = None, until: datetime | None = None) -> dict[int, Figures]:
    """Figures per distributor over the orders paid since ``since`` (and before ``until``,
    when given: a month's targets), in one grouped statement (orders by level1_id and by
    level2_id: their indexes)."""
    orders = Order.__table__
    net = (orders.c.paid_fen - orders.c.refunded_fen).label("net")
    paid = and_(orders.c.paid_at.is_not(None), orders.c.paid_at >= since)
    if until is not None:
        paid = and_(paid, orders.c.paid_at < until)
    own = select(orders.c.level1_id.label("uid"), net, orders.c.user_id.label("buyer"), literal(1).label("own")) \
        .where(paid, orders.c.level1_id.is_not(None))
    second = select(orders.c.level2_id.label("uid"), net, orders.c.user_id.label("buyer"), literal(0).label("own")) \
        .where(paid, orders.c.level2_id.is_not(None))
    if user_ids is not None:
        own = own.where(orders.c.level1_id.in_(user_ids))
        second = second.where(orders.c.level2_id.in_(user_ids))
    rows = union_all(own, second).subquery("sales")
    stmt = select(
        rows.c.uid,
        func.coalesce(func.sum(case((rows.c.own == 1, rows.c.net), else_=0)), 0),
        func.count(func.distinct(case((and_(rows.c.own == 1, rows.c.net > 0), rows.c.buyer)))),
        func.coalesce(func.sum(rows.c.net), 0),
    ).group_by(rows.c.uid)
    return {uid: Figures(int(gmv), int(customers), int(team)) for uid, gmv, customers, team in db.session.execute(stmt)}


def figures_by_window(levels: list[DistributorLevel], now: datetime,
                      user_ids: list[int] | None = None) -> dict[int, dict[int, Figures]]:
    """{window_days: {user_id: Figures}}: one statement per distinct window of the levels."""
    return {days: measure(now - timedelta(days=days), user_ids) for days in sorted({lv.window_days for lv in levels})}


def target_level(levels_by_rank_desc: list[DistributorLevel], user_id: int,
                 figures: dict[int, dict[int, Figures]]) -> DistributorLevel | None:
    for level in levels_by_rank_desc:
        if figures[level.window_days].get(user_id, Figures()).meets(level):
            return level
    return None


def closed_period(now: datetime) -> str:
    """The month (Asia/Shanghai) that closed last: the one a period-end pass judges."""
    local = as_utc(now).astimezone(SHOP_TZ)
    previous = local.replace(day=1) - timedelta(days=1)
    return previous.strftime("%Y-%m")


# --- deciding --------------------------------------------------------------------------

def evaluate(user_ids: list[int] | None = None, *, now: datetime | None = None, period_end: bool = False,
             figures: dict[int, dict[int, Figures]] | None = None) -> dict:
    """Evaluate distributors (``user_ids``, or every approved distributor with sales in a
    window or a level now). Upgrades apply at once; with ``period_end`` the month that
    closed last (``closed_period``) is judged: a distributor below their level misses it
    (once per month, however often the pass runs) and after more than the grace setting
    goes down. Returns counts of what changed."""
    now = now or utcnow()
    levels = sorted(all_levels(), key=lambda lv: lv.rank, reverse=True)
    stats = {"evaluated": 0, "upgrades": 0, "downgrades": 0, "grace": 0}
    if not levels:
        return stats
    by_id = {lv.id: lv for lv in levels}
    # The nightly pass measures everyone once and hands its chunks the figures; a level
    # added since then brings a window they lack, measured here for these people.
    figures = dict(figures or {})
    lacking = [lv for lv in levels if lv.window_days not in figures]
    if lacking:
        figures.update(figures_by_window(lacking, now, user_ids))
    users = User.__table__
    candidates = select(users.c.id, users.c.level_id, users.c.level_missed_periods, users.c.level_checked_period) \
        .where(users.c.distributor_status == "approved").order_by(users.c.id)
    if user_ids is not None:
        ids = sorted(set(user_ids))
        if not ids:
            return stats
        # the range beside the list: a prepared statement's generic plan for a long IN
        # list scanned the users table (0.2 s a chunk at a million users); with the
        # range it stays on the primary key
        candidates = candidates.where(users.c.id.between(ids[0], ids[-1]), users.c.id.in_(ids))
    else:
        candidates = candidates.where(users.c.id.in_(_candidates(levels, now)))
    judge = _Judge(levels, by_id, figures, closed_period(now), get_settings().level_grace_periods, period_end, now)
    # Read without locks, decide; then lock, in id order, only the rows that change and
    # decide again on what the lock shows (the credit job's evaluation and the nightly
    # pass queue on the same people instead of both writing a change). Locking every
    # candidate wrote a row lock into each of them: most of a steady night at a million
    # users. SQLite ignores FOR UPDATE.
    rows = db.session.execute(candidates).all()
    stats["evaluated"] = len(rows)
    moving = [row[0] for row in rows if judge.decide(*row) is not None]
    user_updates, changes = [], []
    if moving:
        for row in db.session.execute(candidates.where(users.c.id.in_(moving)).with_for_update()):
            decided = judge.decide(*row)
            if decided is None:
                continue
            update_row, change, outcome = decided
            user_updates.append(update_row)
            if change is not None:
                changes.append(change)
            if outcome is not None:
                stats[outcome] += 1
    if user_updates:
        db.session.execute(_UPDATE_USER, user_updates)
    if changes:
        db.session.execute(LevelChange.__table__.insert(), changes)
    return stats


class _Judge:
    """One distributor's decision: (the users row update, the level change or None, the
    count it adds to or None), or None when nothing is to be written."""

    def __init__(self, levels, by_id, figures, period, grace, period_end, now):
        self.levels, self.by_id, self.figures = levels, by_id, figures
        self.period, self.grace, self.period_end, self.now = period, grace, period_end, now

    def decide(self, uid: int, level_id: int | None, missed: int, checked: str | None):
        levels, figures, period, now = self.levels, self.figures, self.period, self.now
        current = self.by_id.get(level_id)
        target = target_level(levels, uid, figures)
        current_rank = current.rank if current else -1
        target_rank = target.rank if target else -1
        if target_rank > current_rank:
            # Judged again only when the month after this one closes: an upgrade is not
            # taken back before its first period end.
            window = (target or current or levels[-1]).window_days
            return (dict(uid=uid, level_id=target.id, missed=0, checked=period),
                    _change(uid, current, target, "upgrade", figures[window].get(uid, Figures()), window, None, now),
                    "upgrades")
        if not self.period_end or checked == period:
            return None
        if target_rank >= current_rank:
            if current is None and not missed:
                return None  # no level to keep: nothing to judge, nothing to write
            return dict(uid=uid, level_id=level_id, missed=0, checked=period), None, None
        if missed + 1 > self.grace:
            return (dict(uid=uid, level_id=target.id if target else None, missed=0, checked=period),
                    _change(uid, current, target, "downgrade", _measured(figures, current, uid),
                            current.window_days, period, now), "downgrades")
        return (dict(uid=uid, level_id=level_id, missed=missed + 1, checked=period),
                _change(uid, current, current, "grace", _measured(figures, current, uid), current.window_days,
                        period, now), "grace")


def _candidates(levels: list[DistributorLevel], now: datetime):
    """Whoever may change level: a level now, or a paid order in the widest window (a
    subquery, not a list of ids: a million users would not fit in one IN)."""
    orders, users = Order.__table__, User.__table__
    since = now - timedelta(days=max(lv.window_days for lv in levels))
    return union_all(
        select(users.c.id).where(users.c.level_id.is_not(None)),
        select(orders.c.level1_id).where(orders.c.paid_at >= since, orders.c.level1_id.is_not(None)),
        select(orders.c.level2_id).where(orders.c.paid_at >= since, orders.c.level2_id.is_not(None)),
    )


def candidate_ids(now: datetime | None = None) -> list[int]:
    """Every approved distributor the nightly pass looks at, in id order: one statement
    for the whole pass (asked once per chunk, the union over the window's orders cost
    the pass a scan per chunk: hours at a million users)."""
    levels = all_levels()
    if not levels:
        return []
    users = User.__table__
    return list(db.session.scalars(
        select(users.c.id).where(users.c.distributor_status == "approved",
                                 users.c.id.in_(_candidates(levels, now or utcnow())))
        .order_by(users.c.id)))


def _measured(figures, level: DistributorLevel, uid: int) -> Figures:
    return figures[level.window_days].get(uid, Figures())


def _change(uid, before, after, reason, measured: Figures, window_days: int, period, now) -> dict:
    return dict(user_id=uid, from_level_id=before.id if before else None, to_level_id=after.id if after else None,
                reason=reason, gmv_fen=measured.gmv_fen, customers=measured.customers,
                team_gmv_fen=measured.team_gmv_fen, window_days=window_days, period=period, created_at=now)


_UPDATE_USER = update(User.__table__).where(User.__table__.c.id == bindparam("uid")).values(
    level_id=bindparam("level_id"), level_missed_periods=bindparam("missed"),
    level_checked_period=bindparam("checked"))


# --- reading ---------------------------------------------------------------------------

def history(user_id: int, limit: int = 50) -> list[dict]:
    names = {lv.id: lv.name for lv in all_levels()}
    rows = db.session.scalars(select(LevelChange).where(LevelChange.user_id == user_id)
                              .order_by(LevelChange.id.desc()).limit(limit))
    return [{"id": c.id, "from_level": names.get(c.from_level_id), "to_level": names.get(c.to_level_id),
             "reason": c.reason, "gmv_fen": c.gmv_fen, "customers": c.customers, "team_gmv_fen": c.team_gmv_fen,
             "window_days": c.window_days, "period": c.period, "created_at": c.created_at} for c in rows]


def level_of(user: User) -> dict:
    """A distributor's level with progress to the next one (``GET /me/level``, the admin detail)."""
    levels = all_levels()
    current = next((lv for lv in levels if lv.id == user.level_id), None)
    higher = [lv for lv in levels if current is None or lv.rank > current.rank]
    following = higher[0] if higher else None
    now = utcnow()
    window = (following or current).window_days if (following or current) else None
    measured = measure(now - timedelta(days=window), [user.id]).get(user.id, Figures()) if window else Figures()
    progress = None
    if following is not None:
        progress = {"level": level_view(following), "window_days": window,
                    "conditions": [{"measure": have, "required": getattr(following, need),
                                    "current": getattr(measured, have),
                                    "met": getattr(measured, have) >= getattr(following, need)}
                                   for have, need in CONDITIONS]}
    return {"level": level_view(current) if current else None, "missed_periods": user.level_missed_periods or 0,
            "grace_periods": get_settings().level_grace_periods, "next": progress}

"""The dashboard's figures, without a scan of the orders table.

* A closed Asia/Shanghai day's figures live in ``shop_daily_stats`` (and each
  distributor's commission of that day in ``shop_daily_commissions``). ``roll_up_day``
  recomputes one day from index range scans (``orders.paid_at``, ``refunds.succeeded_at``,
  the ledger's ``(kind, created_at)``, ``users.created_at`` / ``distributor_since``) and
  replaces its rows: running it twice gives the same figures. The sweeper rolls up the
  missing days of the last 30 and rolls the last two closed days once more after they
  settled (``roll_up_due``); ``flask fission dashboard-rollup`` does it on demand.
* Today (and a day not rolled up yet) is its running row, which the sweeper advances a
  slice at a time (``running_day``), plus the minutes since, counted live with the
  same range scans (``shop_figures``).
* Payouts by status read the ``(status, id, amount_fen)`` index alone; the group join
  rate comes from the community funnel's rollups.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select, text

from backend import read_cache
from backend.admin import running_day
from backend.admin.models import ShopDailyCommission, ShopDailyStats
from backend.admin.shop_figures import FIGURES, commission_by_user, figures
from backend.auth.models import User
from backend.commission.models import Payout
from backend.community import funnel
from backend.extensions import db
from backend.timeutil import as_utc, shop_day_bounds, shop_today, utcnow

DAYS = 30
TOP = 10
CANDIDATES = 200  # the closed days' leaders kept for the top 10
# A day is rolled up this long after it ends (a payment committed just after midnight
# with paid_at just before it is still counted), and rolled again once this much later.
SETTLE = timedelta(hours=1)
RESETTLE = timedelta(hours=3)
PAYOUT_STATES = {"pending": ("pending",), "failed": ("failed",),
                 "in_transit": ("submitting", "wait_user_confirm", "processing")}


def roll_up_day(day: date, now: datetime | None = None) -> dict:
    """Recompute one Shanghai day's rows (idempotent: the day's rows are replaced)."""
    start, end = shop_day_bounds(day)
    values = figures(start, end)
    db.session.execute(delete(ShopDailyCommission).where(ShopDailyCommission.day == day))
    db.session.execute(delete(ShopDailyStats).where(ShopDailyStats.day == day))
    db.session.add(ShopDailyStats(day=day, rolled_at=now or utcnow(), **values))
    rows = [{"day": day, "user_id": uid, "commission_fen": int(fen)}
            for uid, fen in db.session.execute(commission_by_user(start, end)) if fen]
    if rows:
        db.session.execute(ShopDailyCommission.__table__.insert(), rows)
    db.session.flush()
    return values


def _closed(day: date, now: datetime, after: timedelta = SETTLE) -> bool:
    return shop_day_bounds(day)[1] + after <= now


def roll_up_due(now: datetime | None = None) -> list[date]:
    """The sweeper's step: roll up the closed days of the last 30 that have no row, and
    the last two closed days again if they were rolled before they fully settled."""
    now = as_utc(now or utcnow())
    today = shop_today(now)
    days = [today - timedelta(days=n) for n in range(1, DAYS + 1)]
    rolled = dict(db.session.execute(select(ShopDailyStats.day, ShopDailyStats.rolled_at).where(
        ShopDailyStats.day >= days[-1], ShopDailyStats.day < today)).all())
    due = []
    for n, day in enumerate(days):
        if not _closed(day, now):
            continue
        settled_again = shop_day_bounds(day)[1] + RESETTLE
        if day not in rolled or n < 2 and settled_again <= now and as_utc(rolled[day]) < settled_again:
            due.append(day)
    for day in due:
        roll_up_day(day, now)
    return due


def _stored(first: date, today: date) -> dict[date, dict]:
    rows = db.session.scalars(select(ShopDailyStats).where(ShopDailyStats.day >= first, ShopDailyStats.day < today))
    return {row.day: {name: getattr(row, name) for name in FIGURES} for row in rows}


def _series(now: datetime) -> list[dict]:
    """The last 30 Shanghai days, oldest first; today and any day not rolled up yet are
    counted live (reading never writes: the sweeper fills the missing days)."""
    today = shop_today(now)
    first = today - timedelta(days=DAYS - 1)
    stored = _stored(first, today)
    series = []
    for n in range(DAYS):
        day = first + timedelta(days=n)
        values = stored.get(day) or running_day.day_figures(day, now)
        series.append({"day": day.isoformat(), **values})
    return series


def _cached(name: str, day: date, compute):
    """Figures of closed days only, cached under the day and the rollup's latest
    ``rolled_at`` (a new roll-up is a new key)."""
    version = db.session.scalar(select(func.max(ShopDailyStats.rolled_at)).where(
        ShopDailyStats.day >= day - timedelta(days=DAYS), ShopDailyStats.day < day))
    stamp = as_utc(version).isoformat() if version else "none"
    return read_cache.cached(f"dashboard:{name}", f"{day.isoformat()}:{stamp}", compute)


def _join_counts(from_day: date, to_day: date) -> list[int]:
    totals = funnel.report(from_day, to_day, "day")["totals"]
    return [totals["joined"], totals["paid_orders"] or 0]


def _join_rate(today: date, first: date | None = None) -> float | None:
    """Joined / paid orders of the group-invite funnel: today live, plus the closed days
    from ``first`` (cached)."""
    joined, paid = _join_counts(today, today + timedelta(days=1))
    if first is not None and first < today:
        earlier = _cached("join", today, lambda: _join_counts(first, today))
        joined, paid = joined + earlier[0], paid + earlier[1]
    return round(joined / paid, 4) if paid else None


def _payouts() -> dict:
    found = {status: (int(n), int(fen or 0)) for status, n, fen in db.session.execute(
        select(Payout.status, func.count(), func.sum(Payout.amount_fen))
        .where(Payout.status.in_([s for states in PAYOUT_STATES.values() for s in states]))
        .group_by(Payout.status))}
    counts, amounts = {}, {}
    for name, states in PAYOUT_STATES.items():
        counts[name] = sum(found.get(s, (0, 0))[0] for s in states)
        amounts[name] = sum(found.get(s, (0, 0))[1] for s in states)
    return {**counts, "amounts_fen": amounts}


def _top_distributors(now: datetime) -> list[dict]:
    today = shop_today(now)
    first = today - timedelta(days=DAYS - 1)
    # The closed days' leaders (cached for the day), then today's (its running leaders and the
    # minutes since). A distributor outside the closed days' top CANDIDATES counts with today's alone.
    totals = {int(uid): int(fen) for uid, fen in _cached("top", today, lambda: [
        [uid, int(fen)] for uid, fen in db.session.execute(
            select(ShopDailyCommission.user_id, func.sum(ShopDailyCommission.commission_fen).label("fen"))
            .where(ShopDailyCommission.day >= first, ShopDailyCommission.day < today)
            .group_by(ShopDailyCommission.user_id).order_by(text("fen DESC")).limit(CANDIDATES))])}
    for uid, fen in running_day.leaders(today, now, CANDIDATES).items():
        totals[uid] = int(totals.get(uid, 0)) + fen
    top = sorted(((int(fen), uid) for uid, fen in totals.items() if fen), key=lambda t: (-t[0], t[1]))[:TOP]
    names = dict(db.session.execute(select(User.id, User.nickname).where(User.id.in_([u for _, u in top]))).all())
    return [{"user": {"id": uid, "nickname": names.get(uid)}, "commission_fen": fen} for fen, uid in top]


def dashboard(now: datetime | None = None) -> dict:
    now = as_utc(now or utcnow())
    today = shop_today(now)
    series = _series(now)
    totals = {name: sum(day[name] for day in series) for name in FIGURES}
    first = today - timedelta(days=DAYS - 1)
    return {
        "today": {**{name: series[-1][name] for name in FIGURES}, "group_join_rate": _join_rate(today)},
        "last_30_days": {**totals, "group_join_rate": _join_rate(today, first),
                         "from_": first.isoformat(), "to": today.isoformat()},
        "payouts": _payouts(),
        "top_distributors": _top_distributors(now),
        "series": [{k: day[k] for k in ("day", "gmv_fen", "paid_orders", "commission_credited_fen",
                                         "new_distributors")} for day in series],
    }

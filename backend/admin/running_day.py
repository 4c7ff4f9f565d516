"""The current Asia/Shanghai day so far, kept by the sweeper a slice at a time.

A busy shop pays a hundred thousand orders before the afternoon: counting today from
midnight on every dashboard read is a range scan of all of them. Instead the sweeper
advances ``shop_running_days.through`` on each pass, adding the figures of
``[through, now - LAG)`` (and each distributor's commission of that slice) to the day's
row. A reader adds only ``[through, now)``, a minute or two of rows, counted live.

``LAG`` keeps the slice clear of transactions still open: a row stamped just before the
slice's end but committed after the sweep read it would be missed. Transactions on the
paid path are kept well under a second; the lag is a minute. The whole day is recomputed
from the orders and the ledger once it is over (``dashboard.roll_up_day``), which
supersedes this row, so a slice's error, if any, does not outlive the day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select

from backend import counters
from backend.admin import shop_figures
from backend.admin.models import ShopRunningCommission, ShopRunningDay
from backend.extensions import db
from backend.timeutil import as_utc, shop_day_bounds, shop_today, utcnow

LAG = timedelta(seconds=60)
KEEP_DAYS = 2  # today and yesterday (read live until yesterday is rolled up whole)


def advance(now: datetime | None = None) -> bool:
    """The sweeper's step: add the next slice of today to its running row. False when
    there is nothing new to add. The row is locked while it is advanced, so two sweepers
    never add a slice twice."""
    now = as_utc(now or utcnow())
    today = shop_today(now)
    start, _ = shop_day_bounds(today)
    row = db.session.get(ShopRunningDay, today, with_for_update=True)
    frm = as_utc(row.through) if row is not None else start
    to = now - LAG
    if to <= frm:
        return False
    values = shop_figures.figures(frm, to)
    if row is None:
        db.session.add(ShopRunningDay(day=today, through=to, **values))
    else:
        for name, value in values.items():
            setattr(row, name, getattr(row, name) + value)
        row.through = to
    counters.add(ShopRunningCommission.__table__, ("day", "user_id"), [
        {"day": today, "user_id": uid, "commission_fen": int(fen)}
        for uid, fen in db.session.execute(shop_figures.commission_by_user(frm, to)) if fen])
    old = today - timedelta(days=KEEP_DAYS)
    db.session.execute(delete(ShopRunningCommission).where(ShopRunningCommission.day <= old))
    db.session.execute(delete(ShopRunningDay).where(ShopRunningDay.day <= old))
    db.session.flush()
    return True


def _since(day: date, now: datetime) -> tuple[ShopRunningDay | None, datetime, datetime]:
    """The day's running row, and the range still to count live: ``[through, end)``."""
    start, end = shop_day_bounds(day)
    row = db.session.get(ShopRunningDay, day)
    return row, (as_utc(row.through) if row is not None else start), min(end, now)


def day_figures(day: date, now: datetime) -> dict:
    """The day's figures up to ``now``: the running row plus the minutes since it."""
    row, frm, to = _since(day, now)
    stored = {name: getattr(row, name) for name in shop_figures.FIGURES} if row is not None else {}
    return shop_figures.add(stored, shop_figures.figures(frm, to) if to > frm else {})


def paid_orders(day: date, now: datetime) -> int:
    row, frm, to = _since(day, now)
    return (row.paid_orders if row is not None else 0) + (shop_figures.paid_orders(frm, to) if to > frm else 0)


def leaders(day: date, now: datetime, limit: int) -> dict[int, int]:
    """The day's ``limit`` best earners so far (user id -> commission fen): the running
    row's leaders by index, plus everyone's commission of the minutes since. Someone just
    outside the running leaders counts with the live minutes alone (the dashboard's top
    ten is read from a wider field than it shows)."""
    row, frm, to = _since(day, now)
    totals = {int(uid): int(fen) for uid, fen in db.session.execute(
        select(ShopRunningCommission.user_id, ShopRunningCommission.commission_fen)
        .where(ShopRunningCommission.day == day)
        .order_by(ShopRunningCommission.commission_fen.desc()).limit(limit))} if row is not None else {}
    if to > frm:
        for uid, fen in db.session.execute(shop_figures.commission_by_user(frm, to)):
            totals[int(uid)] = totals.get(int(uid), 0) + int(fen or 0)
    return totals

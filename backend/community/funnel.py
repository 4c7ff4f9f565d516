"""The group-invite funnel: paid orders → shown → opened → joined (+ contact added).

Everything is keyed by the Asia/Shanghai day the order was paid (a cohort: an order
paid at 23:50 whose buyer joins at 00:10 counts on the day of payment). Invite figures
come from the ``funnel_daily`` rollup. Paid orders come from the orders table: each
finished day is counted once into ``funnel_paid_daily`` (by ``orders.paid_at``, so one
index range a day; per distributor, per product and for the whole shop) and the current
day is counted live: by day, as the dashboard's running day plus the minutes since
(``backend/admin/running_day``), by distributor or product from the orders of the day.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import Date, func, literal, select
from sqlalchemy.exc import IntegrityError

from backend.admin import running_day
from backend.auth.models import User
from backend.catalog.models import Product
from backend.cells import text_cell
from backend.community.models import CommunityGroup, FunnelDaily, FunnelPaidDaily, FunnelPaidDay
from backend.community.rollups import COUNTERS
from backend.errors import ApiError
from backend.extensions import db
from backend.orders.models import Order, OrderItem
from backend.timeutil import shop_day_bounds, utcnow

BY = ("day", "distributor", "product", "group")
MAX_DAYS = 366
# A day's paid orders are frozen this long after the day ends: a payment committed a
# little after midnight with paid_at just before it is still counted.
SETTLE = timedelta(hours=1)
SHOP = "shop"  # funnel_paid_daily's whole-shop row of a day (dim_id 0)
PAID_DIMS = ("distributor", "product", SHOP)
COLUMNS = ("paid_orders", *COUNTERS[:-1], "join_rate", "show_rate", "open_rate", "join_rate_of_shown",
           "avg_join_seconds")


def check_range(from_day: date, to_day: date) -> None:
    # the days' bounds are computed in UTC: keep clear of date.min / date.max (OverflowError, a 500)
    if from_day.year < 1900 or to_day.year > 9000 or to_day <= from_day or (to_day - from_day).days > MAX_DAYS:
        raise ApiError("INVALID_DATE_RANGE", f"need from < to, at most {MAX_DAYS} days apart")


# ---- paid orders ----------------------------------------------------------------------

def _paid_by(day: date, dim: str):
    """SELECT dim_id, count(*) of the orders paid on ``day``; the product of an order is
    its first line's (as on its invite); the shop is one row (dim_id 0)."""
    start, end = shop_day_bounds(day)
    if dim == SHOP:
        return select(literal(0), func.count()).where(Order.paid_at >= start, Order.paid_at < end)
    first_product = (select(OrderItem.product_id).where(OrderItem.order_id == Order.id)
                     .order_by(OrderItem.id).limit(1).correlate(Order).scalar_subquery())
    value = Order.level1_id if dim == "distributor" else first_product
    inner = select(value.label("dim_id")).where(Order.paid_at >= start, Order.paid_at < end).subquery()
    return select(func.coalesce(inner.c.dim_id, 0), func.count()).group_by(inner.c.dim_id)


def roll_up_paid_day(day: date) -> bool:
    """Freeze one finished day's paid orders; False if it was done already."""
    try:
        with db.session.begin_nested():
            db.session.add(FunnelPaidDay(day=day, rolled_at=utcnow()))
    except IntegrityError:
        return False
    for dim in PAID_DIMS:
        counted = _paid_by(day, dim).subquery()
        columns = list(counted.c)
        db.session.execute(FunnelPaidDaily.__table__.insert().from_select(
            ["day", "dim", "dim_id", "paid_orders"],
            select(literal(day, Date), literal(dim), columns[0], columns[1])))
    return True


def ensure_paid_rollups(from_day: date, to_day: date) -> list[date]:
    """Freeze the finished days of the range that are not yet; returns the days still
    open (counted live)."""
    now = utcnow()
    days = [from_day + timedelta(days=n) for n in range((to_day - from_day).days)]
    done = set(db.session.scalars(select(FunnelPaidDay.day).where(FunnelPaidDay.day >= from_day,
                                                                   FunnelPaidDay.day < to_day)))
    live = []
    for day in days:
        if day in done:
            continue
        if shop_day_bounds(day)[1] + SETTLE <= now:
            roll_up_paid_day(day)
        else:
            live.append(day)
    return live


def _paid(from_day: date, to_day: date, by: str) -> dict:
    live_days = ensure_paid_rollups(from_day, to_day)
    # By day: the shop's one row a day (a month is 30 rows, not a row per distributor a day).
    dim = SHOP if by == "day" else by
    key = FunnelPaidDaily.day if by == "day" else FunnelPaidDaily.dim_id
    paid: dict = dict(db.session.execute(
        select(key, func.sum(FunnelPaidDaily.paid_orders)).where(
            FunnelPaidDaily.day >= from_day, FunnelPaidDaily.day < to_day, FunnelPaidDaily.dim == dim)
        .group_by(key)).all())
    for day in live_days:
        if dim == SHOP:  # today's running row and the minutes since, not a count from midnight
            paid[day] = paid.get(day, 0) + running_day.paid_orders(day, utcnow())
            continue
        for dim_id, count in db.session.execute(_paid_by(day, dim)).all():
            k = day if by == "day" else dim_id
            paid[k] = paid.get(k, 0) + count
    return {k: int(v) for k, v in paid.items()}


# ---- the report -------------------------------------------------------------------------

def _figures(row: dict) -> dict:
    def ratio(a, b):
        return round(a / b, 4) if b else None

    paid, shown = row.get("paid_orders"), row["shown"]
    return {**row, "join_rate": ratio(row["joined"], paid), "show_rate": ratio(shown, paid),
            "open_rate": ratio(row["opened"], shown), "join_rate_of_shown": ratio(row["joined"], shown),
            "avg_join_seconds": round(row["join_seconds"] / row["joined"], 1) if row["joined"] else None}


def _labels(by: str, ids: list[int]) -> dict:
    ids = [i for i in ids if i]
    if not ids or by == "day":
        return {}
    model, column = {"distributor": (User, User.nickname), "product": (Product, Product.title),
                     "group": (CommunityGroup, CommunityGroup.name)}[by]
    return dict(db.session.execute(select(model.id, column).where(model.id.in_(ids))).all())


def report(from_day: date, to_day: date, by: str = "day") -> dict:
    """The funnel over ``[from, to)`` (Shanghai days), totals and one row per ``by`` value.
    By group there is no paid-orders figure (an order has no group until it is shown)."""
    check_range(from_day, to_day)
    dim = "group" if by in ("day", "group") else by
    key = FunnelDaily.day if by == "day" else FunnelDaily.dim_id
    sums = [func.sum(getattr(FunnelDaily, name)) for name in COUNTERS]
    found = {row[0]: dict(zip(COUNTERS, map(int, row[1:]), strict=True)) for row in db.session.execute(
        select(key, *sums).where(FunnelDaily.day >= from_day, FunnelDaily.day < to_day, FunnelDaily.dim == dim)
        .group_by(key)).all()}
    paid = _paid(from_day, to_day, by) if by != "group" else {}
    if by == "day":
        keys = [from_day + timedelta(days=n) for n in range((to_day - from_day).days)]
    else:
        keys = sorted(set(found) | set(paid))
    zero = dict.fromkeys(COUNTERS, 0)
    labels = _labels(by, keys)
    rows = []
    for k in keys:
        row = {"paid_orders": paid.get(k, 0) if by != "group" else None, **found.get(k, zero)}
        rows.append({"key": k.isoformat() if by == "day" else k, "label": labels.get(k), **_figures(row)})
    totals = {name: sum(found.get(k, zero)[name] for k in found) for name in COUNTERS}
    totals["paid_orders"] = sum(paid.values()) if by != "group" else None
    return {"from": from_day, "to": to_day, "by": by, "totals": _figures(totals), "rows": rows}


def to_csv(result: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([result["by"], "label", *COLUMNS])
    for row in result["rows"]:
        writer.writerow([row["key"], text_cell(row["label"]), *("" if row[c] is None else row[c] for c in COLUMNS)])
    totals = result["totals"]
    writer.writerow(["total", "", *("" if totals[c] is None else totals[c] for c in COLUMNS)])
    return out.getvalue()

"""Periods of a board, cut in the shop's time zone (Asia/Shanghai).

A board is (metric, period kind, period key): ``day`` → ``2026-11-26``, ``week`` →
``2026-W48`` (ISO week), ``month`` → ``2026-11``, ``all`` → ``all``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from backend.timeutil import SHOP_TZ, as_utc

METRICS = ("commission", "gmv", "orders", "customers")
PERIODS = ("day", "week", "month", "all")

# How long a board lives after its period ends: long enough for late refunds,
# campaign closing and archiving; then Redis lets it go (the database keeps all).
RETENTION = {"day": timedelta(days=3), "week": timedelta(days=14), "month": timedelta(days=62)}


def period_key(kind: str, at: datetime) -> str:
    local = as_utc(at).astimezone(SHOP_TZ).date()
    if kind == "day":
        return local.isoformat()
    if kind == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{local.year}-{local.month:02d}"
    if kind == "all":
        return "all"
    raise ValueError(f"unknown period {kind}")


def period_bounds(kind: str, key: str) -> tuple[datetime, datetime] | None:
    """[start, end) of a period in UTC-aware datetimes; None for ``all``."""
    if kind == "all":
        return None
    if kind == "day":
        start = date.fromisoformat(key)
        end = start + timedelta(days=1)
    elif kind == "week":
        year, week = key.split("-W")
        start = date.fromisocalendar(int(year), int(week), 1)
        end = start + timedelta(days=7)
    elif kind == "month":
        year, month = (int(x) for x in key.split("-"))
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
    else:
        raise ValueError(f"unknown period {kind}")
    as_dt = lambda d: datetime(d.year, d.month, d.day, tzinfo=SHOP_TZ)  # noqa: E731
    return as_dt(start), as_dt(end)


def valid_key(kind: str, key: str) -> bool:
    try:
        bounds = period_bounds(kind, key)
        return kind == "all" and key == "all" or bounds is not None and period_key(kind, bounds[0]) == key
    except (ValueError, OverflowError):  # not a key, or a period at either end of the calendar
        return False


def expires_at(kind: str, key: str) -> datetime | None:
    bounds = period_bounds(kind, key)
    return None if bounds is None else bounds[1] + RETENTION[kind]


def keys_at(at: datetime) -> list[tuple[str, str]]:
    """The (period kind, key) of every board an event at ``at`` counts on."""
    return [(kind, period_key(kind, at)) for kind in PERIODS]


def live_keys(kind: str, now: datetime) -> list[str]:
    """Keys of the periods of ``kind`` whose boards Redis still keeps at ``now``
    (the current one and those within their retention)."""
    if kind == "all":
        return ["all"]
    keys = []
    key = period_key(kind, now)
    while True:
        start, _ = period_bounds(kind, key)
        if expires_at(kind, key) <= now:
            return keys
        keys.append(key)
        key = period_key(kind, start - timedelta(seconds=1))


def day_keys(day: date) -> list[tuple[str, str]]:
    """(kind, key) of the day, week and month boards a Shanghai calendar day falls in."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=SHOP_TZ)
    return [(kind, period_key(kind, noon)) for kind in PERIODS if kind != "all"]

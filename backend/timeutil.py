"""Times: stored in UTC, returned as ISO 8601 with offset, periods cut in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHOP_TZ = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    value = as_utc(value)
    return value.isoformat() if value else None


def shop_today(now: datetime | None = None) -> date:
    """The Asia/Shanghai day of ``now``."""
    return as_utc(now or utcnow()).astimezone(SHOP_TZ).date()


def shop_day_bounds(day: date) -> tuple[datetime, datetime]:
    """A Shanghai day as UTC instants ``[start, end)`` (SQLite compares the stored UTC text)."""
    start = datetime.combine(day, time(0), SHOP_TZ).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(0), SHOP_TZ).astimezone(UTC)

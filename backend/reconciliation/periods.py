"""Billing periods (账期), in Asia/Shanghai business days.

A run for a month makes the statements of every period that ENDS in that month:
weekly customers get the four or five weeks whose cut-off weekday falls in it, a
semi-monthly one two halves, a monthly one the period ending on its cut-off day.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

from backend.timeutil import SHOP_TZ


def shop_date(moment: datetime | None = None) -> date:
    """The business day of a moment in the shop's time zone."""
    moment = moment or datetime.now(SHOP_TZ)
    return moment.astimezone(SHOP_TZ).date()


# The months a run can be for: 1970-01 to 9998-12. A period reaches into the months
# around it and its days become UTC times, so the calendar's first and last years fell
# off its ends ("0000-01" was a 500 once); no shop has statements outside these years.
MONTH_PATTERN = r"^(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])-(0[1-9]|1[0-2])$"


def parse_month(text: str) -> tuple[int, int]:
    if not isinstance(text, str) or not re.match(MONTH_PATTERN, text):
        raise ValueError("month must be YYYY-MM, from 1970-01 to 9998-12")
    year, month = (int(part) for part in text.split("-"))
    return year, month


def _month_end(year: int, month: int, cutoff: int) -> date:
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(cutoff, last) if cutoff > 0 else last)


def _previous_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def periods_ending_in(cycle: str, cutoff: int, year: int, month: int) -> list[tuple[date, date]]:
    """(first day, last day) of each period of this cycle and cut-off ending in the month."""
    last = calendar.monthrange(year, month)[1]
    if cycle == "weekly":
        weekday = cutoff if 1 <= cutoff <= 7 else 7
        ends = [date(year, month, d) for d in range(1, last + 1) if date(year, month, d).isoweekday() == weekday]
        return [(end - timedelta(days=6), end) for end in ends]
    if cycle == "semi_monthly":
        half = cutoff if 1 <= cutoff <= 27 else 15
        return [(date(year, month, 1), date(year, month, half)), (date(year, month, half + 1), date(year, month, last))]
    if cycle == "monthly":
        end = _month_end(year, month, cutoff)
        start = _month_end(*_previous_month(year, month), cutoff) + timedelta(days=1)
        return [(start, end)]
    raise ValueError(f"unknown billing cycle {cycle}")

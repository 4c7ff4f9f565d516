"""Line amounts: qty × unit price, rounded half-up to the cent once, at the line.

The same rule exists twice, in Python (documents written one by one) and in SQL
(set-based re-pricing), and the tests hold them to each other on every database.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlalchemy import BigInteger
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backend.import_refusals import Refused

MICRO = Decimal("0.000001")
CENT = Decimal("0.01")
MAX_PRICE = Decimal("999999999999.999999")


MAX_LINE_CENTS = 10**15  # ten trillion a line: far inside BIGINT, and sums of many lines stay inside too


def line_amount_cents(qty: int, unit_price: Decimal) -> int:
    """Half-up means half away from zero, so a return is the mirror of its receipt."""
    return int((Decimal(qty) * unit_price * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def checked_amount_cents(qty: int, unit_price: Decimal) -> int:
    """line_amount_cents, refusing (ValueError) an amount too large to store and add up."""
    cents = line_amount_cents(qty, unit_price)
    if abs(cents) > MAX_LINE_CENTS:
        raise Refused("TOO_LARGE", f"qty × unit price is more than {MAX_LINE_CENTS // 100} a line")
    return cents


def parse_price(text) -> Decimal:
    """A price as written in a file or request: at most 6 decimals, not negative."""
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise Refused("NOT_A_NUMBER", "not a number") from exc
    if not value.is_finite():
        raise Refused("NOT_A_NUMBER", "not a number")
    if value < 0:
        raise Refused("NEGATIVE_PRICE", "negative price")
    if value > MAX_PRICE:
        raise Refused("TOO_LARGE", "price too large")
    if value != value.quantize(MICRO):
        raise Refused("TOO_MANY_DECIMALS", "more than 6 decimals")
    return value.quantize(MICRO)


def cents_text(cents: int) -> str:
    """1234 -> '12.34' (no float on the way). Integers by integer arithmetic (the variance
    report formats a sum per part, 20,000 of them unfiltered in the bench)."""
    if isinstance(cents, int):
        whole, part = divmod(abs(cents), 100)
        return f"{'-' if cents < 0 else ''}{whole}.{part:02d}"
    return str((Decimal(cents) / 100).quantize(CENT))


def price_text(value: Decimal | None) -> str | None:
    return None if value is None else str(Decimal(value).quantize(MICRO))


class amount_cents_sql(FunctionElement):
    """SQL for line_amount_cents(qty, unit_price)."""

    type = BigInteger()
    inherit_cache = True
    name = "amount_cents_sql"


@compiles(amount_cents_sql)
def _exact_decimal(element, compiler, **kw):
    # PostgreSQL: ROUND(numeric) rounds half away from zero, exactly.
    qty, price = list(element.clauses)
    return f"CAST(ROUND({compiler.process(qty, **kw)} * {compiler.process(price, **kw)} * 100) AS BIGINT)"


@compiles(amount_cents_sql, "mysql")
def _mysql(element, compiler, **kw):
    # MySQL/MariaDB: DECIMAL arithmetic and ROUND are exact, half away from zero.
    qty, price = list(element.clauses)
    return f"CAST(ROUND({compiler.process(qty, **kw)} * {compiler.process(price, **kw)} * 100) AS SIGNED)"


@compiles(amount_cents_sql, "sqlite")
def _sqlite(element, compiler, **kw):
    # SQLite keeps NUMERIC as a double: 0.015 * 100 is 1.4999…, so go to integer
    # micro-units first (exact for any 6-decimal price) and round with integer division.
    qty = compiler.process(list(element.clauses)[0], **kw)
    price = compiler.process(list(element.clauses)[1], **kw)
    return (f"(({qty}) * CAST(ROUND(({price}) * 1000000) AS INTEGER)"
            f" + CASE WHEN ({qty}) < 0 THEN -5000 ELSE 5000 END) / 10000")

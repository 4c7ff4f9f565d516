"""Quantity price breaks (阶梯价) as pure arithmetic: which break prices a line, what
the line costs, which breaks and quantities are acceptable.

The unit of a shop unit price is the micro-yuan (1/1,000,000 CNY = 1/10,000 fen),
kept as an integer: a 0.0009 USD part (about 0.65 fen) is 6,500 micro-yuan, exactly,
on every database. It is the scale of the reconciliation module's Numeric(18, 6)
prices, so a supplier price and a shop price compare without rounding. A line total
is ``quantity × unit price`` rounded once, half-up, to the fen; an order's total is
the sum of its lines. Never a float (docs/catalog.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from backend.errors import ApiError
from backend.import_refusals import Refused

MICRO_PER_FEN = 10_000
MICRO = Decimal("0.000001")
MAX_UNIT_PRICE_MICRO = (2**31 - 1) * MICRO_PER_FEN  # a unit may cost what an order may total


@dataclass(frozen=True, order=True)
class PriceBreak:
    min_qty: int  # from this quantity on (inclusive) …
    unit_price_micro: int  # … each unit costs this, in micro-yuan


def line_total_fen(quantity: int, unit_price_micro: int) -> int:
    """quantity × unit price, rounded half-up to the fen once (integer arithmetic: exact)."""
    return (quantity * unit_price_micro + MICRO_PER_FEN // 2) // MICRO_PER_FEN


def rounded_fen(unit_price_micro: int) -> int:
    """A unit price rounded half-up to the fen: what ``price_fen`` and ``unit_price_fen`` show."""
    return line_total_fen(1, unit_price_micro)


def break_for(breaks: list[PriceBreak], quantity: int) -> PriceBreak:
    """The break whose range holds ``quantity``: the last one starting at or below it.
    ``breaks`` are in ascending ``min_qty`` (``check_breaks``); a quantity below the
    first break is priced at the first (``check_quantity`` refuses it before)."""
    chosen = breaks[0]
    for candidate in breaks[1:]:
        if candidate.min_qty > quantity:
            break
        chosen = candidate
    return chosen


def check_breaks(breaks: list[PriceBreak], moq: int, order_multiple: int) -> list[PriceBreak]:
    """The breaks in order, or ValueError naming what is wrong.

    Rules: at least one break; the first starts at the MOQ (below it nothing can be
    ordered); each later one starts at a larger quantity that can be ordered (a multiple
    of the order multiple); a unit price never rises with the quantity (a break that
    costs more per unit for buying more is a typo far more often than a price).
    """
    if moq < 1 or order_multiple < 1:
        raise Refused("TOO_SMALL", "moq and order_multiple are at least 1")
    if moq % order_multiple:
        raise Refused("NOT_A_MULTIPLE", f"the moq {moq} is not a multiple of the order multiple {order_multiple}")
    if not breaks:
        raise Refused("BAD_PRICE_BREAKS", "a product needs at least one price break")
    if breaks[0].min_qty != moq:
        raise Refused("FIRST_BREAK_NOT_MOQ",
                      f"the first price break starts at {breaks[0].min_qty}, not at the moq {moq}")
    for before, after in zip(breaks, breaks[1:], strict=False):
        if after.min_qty <= before.min_qty:
            raise Refused("BREAKS_GO_DOWN",
                          f"price break quantities must increase ({before.min_qty} then {after.min_qty})")
        if after.unit_price_micro > before.unit_price_micro:
            raise Refused("PRICE_RISES", f"the unit price rises from {before.min_qty} to {after.min_qty}")
    for item in breaks:
        if item.min_qty % order_multiple:
            raise Refused("NOT_A_MULTIPLE", f"the price break at {item.min_qty} is not a multiple of {order_multiple}")
        if not 0 <= item.unit_price_micro <= MAX_UNIT_PRICE_MICRO:
            raise Refused("TOO_LARGE", f"the unit price of the break at {item.min_qty} is out of range")
    return breaks


def check_quantity(product_id: int, quantity: int, moq: int, order_multiple: int) -> None:
    """Refuse a quantity below the MOQ (``BELOW_MOQ``) or not a whole number of
    order multiples (``NOT_A_MULTIPLE``: a reel is not cut)."""
    if quantity < moq:
        raise ApiError("BELOW_MOQ", f"Product {product_id} is sold from {moq} units",
                       details={"product_id": product_id, "quantity": quantity, "moq": moq})
    if quantity % order_multiple:
        lower = quantity - quantity % order_multiple
        raise ApiError("NOT_A_MULTIPLE", f"Product {product_id} is sold in multiples of {order_multiple}",
                       details={"product_id": product_id, "quantity": quantity, "order_multiple": order_multiple,
                                "nearest": [q for q in (lower, lower + order_multiple) if q >= moq]})


def parse_unit_price(text: str) -> int:
    """A unit price written in yuan as a decimal string ("0.0065") → micro-yuan.
    More than six decimals is refused, not rounded: the price would not be the one given."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise Refused("NOT_A_NUMBER", f"not a decimal number: {text!r}") from exc
    if not value.is_finite() or value < 0:
        raise Refused("NOT_A_NUMBER" if not value.is_finite() else "NEGATIVE_PRICE", f"not a price: {text!r}")
    if value * 1_000_000 > MAX_UNIT_PRICE_MICRO:
        raise Refused("TOO_LARGE", f"too large: {text!r}")
    if value != value.quantize(MICRO):
        raise Refused("TOO_MANY_DECIMALS", f"at most six decimals: {text!r}")
    return int(value * 1_000_000)


def price_text(unit_price_micro: int) -> str:
    """micro-yuan → the yuan decimal string with six places the API writes ("0.006500")."""
    return str((Decimal(unit_price_micro) * MICRO).quantize(MICRO, rounding=ROUND_HALF_UP))

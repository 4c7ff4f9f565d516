"""The commission arithmetic, as pure functions (property-tested in tests/).

Amounts are integer fen, rates integer basis points (1% = 100 bp). Each line is
rounded down to the fen; the total of a level is the sum of its lines; the sum of
all levels never exceeds the cap (a share of what was paid).
"""

from __future__ import annotations

from dataclasses import dataclass

BP = 10_000


@dataclass(frozen=True)
class Line:
    amount_fen: int  # what the buyer paid for the line, after discounts, without shipping
    quantity: int
    level1_bp: int | None = None  # per-product override
    level2_bp: int | None = None
    level1_fixed_fen: int | None = None  # per-product fixed amount per unit
    level2_fixed_fen: int | None = None


@dataclass(frozen=True)
class Rates:
    level1_bp: int
    level2_bp: int
    cap_bp: int


def line_commission(line: Line, level: int, default_bp: int) -> tuple[int, int | None]:
    """(fen, rate_bp used) for one line at one level; a fixed amount wins over a rate."""
    fixed = line.level1_fixed_fen if level == 1 else line.level2_fixed_fen
    if fixed is not None:
        return min(fixed * line.quantity, line.amount_fen), None
    override = line.level1_bp if level == 1 else line.level2_bp
    bp = default_bp if override is None else override
    return line.amount_fen * bp // BP, bp


def rate_source(lines: list[Line], level: int, person_source: str | None) -> str | None:
    """Why a level's commission has its amount, for the commission row: ``product`` when
    every line is priced by its product (own rate or fixed amount), the person's source
    (``kol``, ``level:{name}``, ``default``) when none is, ``product+{source}`` when mixed."""
    if person_source is None:
        return None
    priced = [(line.level1_fixed_fen, line.level1_bp) if level == 1 else (line.level2_fixed_fen, line.level2_bp)
              for line in lines]
    by_product = sum(1 for fixed, bp in priced if fixed is not None or bp is not None)
    if by_product == 0:
        return person_source
    return "product" if by_product == len(priced) else f"product+{person_source}"


def split(lines: list[Line], rates: Rates, levels: tuple[int, ...] = (1, 2)) -> dict[int, int]:
    """Commission per level for an order. Levels absent from ``levels`` earn nothing.

    The cap is applied to the order: if the levels together would exceed
    ``cap_bp`` of the paid amount, level 2 is cut first, then level 1 — the
    direct referrer keeps the larger claim.
    """
    paid = sum(line.amount_fen for line in lines)
    result: dict[int, int] = {}
    for level in levels:
        default_bp = rates.level1_bp if level == 1 else rates.level2_bp
        result[level] = sum(line_commission(line, level, default_bp)[0] for line in lines)
    cap = paid * rates.cap_bp // BP
    overflow = sum(result.values()) - cap
    for level in sorted(result, reverse=True):
        if overflow <= 0:
            break
        cut = min(overflow, result[level])
        result[level] -= cut
        overflow -= cut
    return result


def clawback(commission_fen: int, already_reversed_fen: int, refunded_total_fen: int, paid_fen: int) -> int:
    """How much more of a commission to reverse after refunds totalling
    ``refunded_total_fen`` of an order that paid ``paid_fen``.

    Computed on the cumulative refund, so a sequence of partial refunds reverses
    exactly the whole commission once the order is fully refunded, never more.
    """
    if paid_fen <= 0:
        return 0
    refunded_total_fen = min(refunded_total_fen, paid_fen)
    if refunded_total_fen == paid_fen:
        target = commission_fen
    else:
        target = commission_fen * refunded_total_fen // paid_fen
    return max(0, target - already_reversed_fen)

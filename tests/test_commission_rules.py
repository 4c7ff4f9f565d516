"""The commission arithmetic (backend/commission/rules.py), by property and by hand.

Pure functions: no app, no database. Amounts are fen, rates basis points.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from backend.commission.rules import BP, Line, Rates, clawback, line_commission, split

bp = st.integers(min_value=0, max_value=BP)
maybe_bp = st.none() | bp
maybe_fixed = st.none() | st.integers(min_value=0, max_value=50_000)


@st.composite
def lines(draw, fixed: bool = True):
    quantity = draw(st.integers(min_value=1, max_value=50))
    unit = draw(st.integers(min_value=0, max_value=2_000_000))
    return Line(
        amount_fen=unit * quantity, quantity=quantity,
        level1_bp=draw(maybe_bp), level2_bp=draw(maybe_bp),
        level1_fixed_fen=draw(maybe_fixed) if fixed else None,
        level2_fixed_fen=draw(maybe_fixed) if fixed else None,
    )


orders = st.lists(lines(), min_size=1, max_size=8)
rates = st.builds(Rates, level1_bp=bp, level2_bp=bp, cap_bp=bp)


def uncapped(order: list[Line], rates: Rates, level: int) -> int:
    """What a level earns before the cap, computed independently: each line's share
    rounded down to the fen, or its fixed amount per unit (never more than the line)."""
    total = 0
    for line in order:
        fixed = line.level1_fixed_fen if level == 1 else line.level2_fixed_fen
        if fixed is not None:
            total += min(fixed * line.quantity, line.amount_fen)
            continue
        override = line.level1_bp if level == 1 else line.level2_bp
        rate = (rates.level1_bp if level == 1 else rates.level2_bp) if override is None else override
        total += int(Fraction(line.amount_fen * rate, BP))  # floor: amounts are non-negative
    return total


def cap_of(order: list[Line], rates: Rates) -> int:
    return sum(line.amount_fen for line in order) * rates.cap_bp // BP


# --- split -----------------------------------------------------------------------------

@given(orders, rates)
def test_split_never_exceeds_the_cap_and_is_never_negative(order, rates):
    result = split(order, rates)
    assert set(result) == {1, 2}
    assert all(amount >= 0 for amount in result.values())
    assert sum(result.values()) <= cap_of(order, rates)


@given(orders, rates)
def test_split_under_the_cap_pays_each_level_its_rounded_down_lines(order, rates):
    raw = {level: uncapped(order, rates, level) for level in (1, 2)}
    result = split(order, rates)
    if raw[1] + raw[2] <= cap_of(order, rates):
        assert result == raw
    else:
        # over the cap: exactly the cap is paid, level 2 is cut first
        assert sum(result.values()) == cap_of(order, rates)
        assert result[1] == min(raw[1], cap_of(order, rates))
        assert result[2] == cap_of(order, rates) - result[1]


@given(st.lists(lines(fixed=False), min_size=1, max_size=8), rates)
def test_rate_commission_never_rounds_up(order, rates):
    result = split(order, rates)
    for level in (1, 2):
        default = rates.level1_bp if level == 1 else rates.level2_bp
        overrides = [line.level1_bp if level == 1 else line.level2_bp for line in order]
        exact = sum(Fraction(line.amount_fen * (default if o is None else o), BP)
                    for line, o in zip(order, overrides, strict=True))
        assert result[level] <= exact


@given(orders, rates)
def test_a_level_left_out_earns_nothing_and_takes_the_whole_cap_alone(order, rates):
    result = split(order, rates, levels=(1,))
    assert set(result) == {1}
    assert result[1] == min(uncapped(order, rates, 1), cap_of(order, rates))


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=1_000_000),
       st.integers(min_value=0, max_value=2_000_000), bp)
def test_a_fixed_amount_per_unit_wins_over_any_rate(quantity, unit, fixed, rate):
    line = Line(amount_fen=unit * quantity, quantity=quantity, level1_bp=rate, level1_fixed_fen=fixed)
    assert line_commission(line, 1, default_bp=rate) == (min(fixed * quantity, unit * quantity), None)


def test_hand_computed_examples():
    rates = Rates(level1_bp=1000, level2_bp=500, cap_bp=3000)
    # the core-loop order: 2 × 99.99 yuan; 10% of 19,998 = 1,999.8 → 1,999; 5% → 999.9 → 999
    assert split([Line(amount_fen=19_998, quantity=2)], rates) == {1: 1_999, 2: 999}
    # rounding is per line: two lines of 9,999 give 999 + 999, not floor(1,999.8)
    assert split([Line(9_999, 1), Line(9_999, 1)], rates) == {1: 1_998, 2: 998}
    # a product override at level 1 only
    assert split([Line(10_000, 1, level1_bp=2000)], rates) == {1: 2_000, 2: 500}
    # 25% + 10% of 10,000 is over the 30% cap: level 2 gives up 500
    assert split([Line(10_000, 1)], Rates(2500, 1000, 3000)) == {1: 2_500, 2: 500}
    # level 1 alone over the cap: level 1 is cut to the cap, level 2 gets nothing
    assert split([Line(10_000, 1)], Rates(4000, 500, 3000)) == {1: 3_000, 2: 0}
    # fixed 5 yuan per unit × 3 at level 1, rate at level 2
    assert split([Line(30_000, 3, level1_fixed_fen=500)], rates) == {1: 1_500, 2: 1_500}
    # a fixed amount larger than the line is limited to the line, then to the cap
    assert split([Line(1_000, 1, level1_fixed_fen=5_000)], rates) == {1: 300, 2: 0}
    # nothing paid, nothing earned
    assert split([Line(0, 1)], rates) == {1: 0, 2: 0}
    # only level 1 in the chain
    assert split([Line(19_998, 2)], rates, levels=(1,)) == {1: 1_999}


# --- clawback --------------------------------------------------------------------------

@st.composite
def refund_story(draw):
    """An order, its commission, and partial refunds that add up to what was paid."""
    paid = draw(st.integers(min_value=1, max_value=10_000_000))
    commission = draw(st.integers(min_value=0, max_value=paid))
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=paid), max_size=10, unique=True)) + [paid])
    cuts = sorted(set(cuts))
    refunds = [b - a for a, b in zip([0, *cuts], cuts, strict=False)]
    return paid, commission, refunds


@given(refund_story())
def test_partial_refunds_reverse_exactly_the_commission_never_more(story):
    paid, commission, refunds = story
    reversed_fen, refunded = 0, 0
    for refund in refunds:
        refunded += refund
        step = clawback(commission, reversed_fen, refunded, paid)
        assert step >= 0  # monotone: a refund never gives commission back
        reversed_fen += step
        assert reversed_fen <= commission
        # after each refund the reversal is the refunded share, rounded down
        expected = commission if refunded == paid else commission * refunded // paid
        assert reversed_fen == expected
        # asking again for the same refunded total reverses nothing more
        assert clawback(commission, reversed_fen, refunded, paid) == 0
    assert refunded == paid
    assert reversed_fen == commission


@given(st.integers(min_value=1, max_value=10_000_000), st.data())
def test_clawback_is_monotone_in_the_refunded_total(paid, data):
    commission = data.draw(st.integers(min_value=0, max_value=paid))
    r1 = data.draw(st.integers(min_value=0, max_value=paid))
    r2 = data.draw(st.integers(min_value=r1, max_value=paid + 1_000))  # more than paid is clamped
    first = clawback(commission, 0, r1, paid)
    assert 0 <= first <= clawback(commission, 0, r2, paid) <= commission
    assert clawback(commission, first, r2, paid) == clawback(commission, 0, r2, paid) - first


@given(st.integers(min_value=0, max_value=1_000), st.integers(min_value=-10, max_value=0))
def test_clawback_of_an_unpaid_order_is_nothing(commission, paid):
    assert clawback(commission, 0, 100, paid) == 0


def test_clawback_hand_computed_examples():
    # 999 of commission on 19,998 paid: half refunded → 499 back; the rest → the other 500
    assert clawback(999, 0, 9_999, 19_998) == 499
    assert clawback(999, 499, 19_998, 19_998) == 500
    # three refunds of one third each
    assert [clawback(100, 0, 1, 3), clawback(100, 33, 2, 3), clawback(100, 66, 3, 3)] == [33, 33, 34]
    # a refund above the paid amount never reverses more than the commission
    assert clawback(500, 0, 50_000, 10_000) == 500
    # already fully reversed: nothing more
    assert clawback(500, 500, 10_000, 10_000) == 0

"""Price breaks: a line is priced at the break of its quantity, exactly at every edge,
with prices below a fen; the line total rounds once, half-up, to the fen."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.catalog.keys import brand_key, mpn_key
from backend.catalog.price_breaks import (
    PriceBreak,
    break_for,
    check_breaks,
    check_quantity,
    line_total_fen,
    parse_unit_price,
    price_text,
    rounded_fen,
)
from backend.errors import ApiError

# a 0.0009 USD-class resistor: 0.65 fen each, 0.62 fen from 1,000, 0.5815 fen from 10,000
BREAKS = [PriceBreak(1, parse_unit_price("0.0065")), PriceBreak(1000, parse_unit_price("0.0062")),
          PriceBreak(10_000, parse_unit_price("0.005815"))]


@pytest.mark.parametrize(("quantity", "unit", "total_fen"), [
    (1, "0.006500", 1),  # 0.65 fen -> 1
    (999, "0.006500", 649),  # 649.35 fen -> 649
    (1000, "0.006200", 620),  # the break's first unit
    (1001, "0.006200", 621),  # 620.62 -> 621
    (9999, "0.006200", 6199),  # 6199.38 -> 6199
    (10_000, "0.005815", 5815),
    (10_001, "0.005815", 5816),  # 5815.5815 -> 5816
])
def test_a_line_is_priced_at_the_break_of_its_quantity(quantity, unit, total_fen):
    chosen = break_for(BREAKS, quantity)
    assert price_text(chosen.unit_price_micro) == unit
    assert line_total_fen(quantity, chosen.unit_price_micro) == total_fen


def test_half_a_fen_rounds_up_once_at_the_line():
    half = parse_unit_price("0.005")  # half a fen a unit
    assert line_total_fen(1, half) == 1
    assert line_total_fen(3, half) == 2  # 1.5 fen -> 2, not 3 × round(0.5)
    assert rounded_fen(parse_unit_price("0.0149")) == 1 and rounded_fen(parse_unit_price("0.015")) == 2


@given(st.integers(min_value=1, max_value=10**7), st.integers(min_value=0, max_value=10**9))
def test_line_total_is_the_exact_product_rounded_half_up(quantity, micro):
    exact = Decimal(quantity) * Decimal(micro) * Decimal("0.000001") * 100
    assert line_total_fen(quantity, micro) == int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(("text", "why"), [("0.0000001", "six decimals"), ("-1", "not a price"),
                                           ("abc", "not a decimal"), ("NaN", "not a price"),
                                           ("Infinity", "not a price"), ("1e40", "too large")])
def test_a_unit_price_that_is_not_exact_or_not_a_price_is_refused(text, why):
    with pytest.raises(ValueError, match=why):
        parse_unit_price(text)


@pytest.mark.parametrize(("breaks", "moq", "multiple", "why"), [
    ([], 1, 1, "at least one"),
    ([PriceBreak(10, 100)], 1, 1, "not at the moq"),
    ([PriceBreak(1, 100), PriceBreak(1, 90)], 1, 1, "must increase"),
    ([PriceBreak(1, 100), PriceBreak(100, 120)], 1, 1, "rises"),
    ([PriceBreak(4000, 100), PriceBreak(6000, 90)], 4000, 4000, "not a multiple"),
    ([PriceBreak(10, 100)], 10, 4, "moq 10 is not a multiple"),
])
def test_breaks_that_cannot_be_right_are_refused(breaks, moq, multiple, why):
    with pytest.raises(ValueError, match=why):
        check_breaks(breaks, moq, multiple)


def test_moq_and_multiples_are_refused_with_their_codes():
    check_quantity(7, 8000, 4000, 4000)  # two reels
    with pytest.raises(ApiError) as below:
        check_quantity(7, 3999, 4000, 4000)
    assert (below.value.code, below.value.status, below.value.details["moq"]) == ("BELOW_MOQ", 422, 4000)
    with pytest.raises(ApiError) as odd:
        check_quantity(7, 5000, 4000, 4000)
    assert (odd.value.code, odd.value.status, odd.value.details["nearest"]) == ("NOT_A_MULTIPLE", 422, [4000, 8000])


def test_part_keys_meet_however_the_text_was_written():
    assert mpn_key(" grm188r71h104ka93d ") == mpn_key("GRM188R71H104KA93D") == "GRM188R71H104KA93D"
    assert mpn_key("ＲＣ0603FR-07 10KL") == "RC0603FR-0710KL"  # full-width letters, a stray space; dash kept
    assert brand_key("Feng Hua") == brand_key("FENGHUA") == brand_key("feng-hua") == "fenghua"
    assert brand_key("风华") == "风华"

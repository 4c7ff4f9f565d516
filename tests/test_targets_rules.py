"""The bonus arithmetic (hypothesis): more sales never pay less, a tier is reached at
exactly its attainment, and clawbacks over any sequence of refunds sum to the pro-rata
share, reaching the whole bonus exactly when everything is refunded, never more."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from backend.targets import rules

tiers = st.lists(st.tuples(st.integers(1, 30_000), st.integers(0, 5_000)), min_size=1, max_size=5).map(
    lambda pairs: [{"attainment_bp": a, "bonus_bp": b}
                   for a, b in zip(sorted({a for a, _ in pairs}), sorted({b for _, b in pairs}), strict=False)])


@given(tiers, st.integers(1, 10**9), st.integers(0, 10**9), st.integers(0, 10**6))
def test_more_sales_never_pay_less(tier_list, target, achieved, more):
    assert rules.outcome(achieved + more, target, tier_list).bonus_fen >= rules.outcome(achieved, target,
                                                                                         tier_list).bonus_fen


@given(tiers, st.integers(1, 10**7))
def test_a_tier_is_reached_at_exactly_its_attainment(tier_list, target):
    for tier in tier_list:
        needed = -(-target * tier["attainment_bp"] // 10_000)
        assert rules.outcome(needed, target, tier_list).bonus_bp >= tier["bonus_bp"]
        if needed > 0:
            assert rules.outcome(needed - 1, target, tier_list).attainment_bp < tier["attainment_bp"]


@given(st.integers(0, 10**7), st.integers(1, 10**8), st.lists(st.integers(1, 10**7), max_size=8))
def test_clawbacks_sum_to_the_pro_rata_share_and_never_more(bonus, achieved, refunds):
    reversed_fen = refunded = 0
    for amount in refunds:
        refunded = min(refunded + amount, achieved)
        step = rules.clawback(bonus, reversed_fen, refunded, achieved)
        assert step >= 0
        reversed_fen += step
        assert reversed_fen <= bonus
    assert reversed_fen == (bonus if refunded == achieved else bonus * refunded // achieved)

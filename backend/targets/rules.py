"""The bonus of a month, as arithmetic (no database): what the close pays and what
``/me/targets`` projects agree because both call this.

The highest tier reached sets the bonus rate, and the rate applies to the whole
month's achieved GMV (reach 120 % with tiers 100 % → 1 %, 120 % → 2 %: 2 % of all of
it). Attainment is ``achieved × 10000 // target`` basis points, so a tier at 10000 is
reached by exactly the target. The bonus rounds once, half-up, to the fen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    attainment_bp: int
    bonus_bp: int
    bonus_fen: int
    next_tier: dict | None  # the next tier not reached, with the GMV still needed


def attainment_bp(achieved_fen: int, target_fen: int) -> int:
    return max(achieved_fen, 0) * 10_000 // target_fen


def outcome(achieved_fen: int, target_fen: int, tiers: list[dict]) -> Outcome:
    reached_bp = attainment_bp(achieved_fen, target_fen)
    rate, upcoming = 0, None
    for tier in sorted(tiers, key=lambda t: t["attainment_bp"]):
        if reached_bp >= tier["attainment_bp"]:
            rate = tier["bonus_bp"]
        elif upcoming is None:
            # The smallest GMV whose attainment reaches the tier: ceil(target × bp / 10000).
            needed = -(-target_fen * tier["attainment_bp"] // 10_000)
            upcoming = {**tier, "gmv_needed_fen": needed - max(achieved_fen, 0)}
    bonus = (max(achieved_fen, 0) * rate + 5_000) // 10_000
    return Outcome(reached_bp, rate, bonus, upcoming)


def clawback(bonus_fen: int, reversed_fen: int, refunded_after_fen: int, achieved_fen: int) -> int:
    """How much more of a closed bonus to take back once refunds after the close total
    ``refunded_after_fen`` of the ``achieved_fen`` it was paid on: pro rata, computed on
    the cumulative refund like commission (the whole bonus once all of it is refunded,
    never more)."""
    if achieved_fen <= 0 or bonus_fen <= 0:
        return 0
    refunded = min(refunded_after_fen, achieved_fen)
    due = bonus_fen if refunded == achieved_fen else bonus_fen * refunded // achieved_fen
    return max(due - reversed_fen, 0)

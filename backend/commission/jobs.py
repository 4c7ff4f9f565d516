"""RQ jobs of the commission package. They take ids and are idempotent."""

from __future__ import annotations

from backend.commission import payouts
from backend.queue import enqueue_once, job


@job
def run_payout(payout_id: int) -> str | None:
    return payouts.advance(payout_id)


def enqueue_payouts(payout_ids: list[int]) -> int:
    """Call after the commit that wrote the payouts. Returns how many were queued."""
    return sum(enqueue_once(run_payout, pid, job_id=f"payout-{pid}", queue="payouts") for pid in payout_ids)

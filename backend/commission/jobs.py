"""RQ jobs of the commission package. They take ids (or nothing) and are idempotent.

The hot path is batched: a paid order enqueues one collapsing "credit" job that
credits every pending payout in one transaction (several workers share the rows
with SKIP LOCKED). Transfers, which call WeChat, run one job per payout.
"""

from __future__ import annotations

from backend.commission import payouts
from backend.queue import enqueue_once, get_queue, job


@job
def run_payout(payout_id: int) -> str | None:
    return payouts.advance(payout_id)


@job
def credit_pending_payouts() -> int:
    batch = payouts.credit_pending()
    enqueue_transfers(batch.to_transfer)
    if batch.credited:
        enqueue_messages(batch.credited)
    if batch.more:
        enqueue_credit()
    return len(batch.credited)


@job
def send_earned_messages(payout_ids: list[int]) -> int:
    return payouts.send_earned_messages(payout_ids)


def enqueue_credit() -> bool:
    """Call after the commit that wrote pending payouts."""
    return enqueue_once(credit_pending_payouts, job_id="payouts-credit", queue="payouts")


def enqueue_transfers(payout_ids: list[int]) -> int:
    return sum(enqueue_once(run_payout, pid, job_id=f"payout-{pid}", queue="payouts") for pid in payout_ids)


def enqueue_messages(payout_ids: list[int]) -> None:
    try:
        get_queue("default").enqueue(send_earned_messages, payout_ids, result_ttl=0, failure_ttl=86400)
    except Exception:  # a lost courtesy message is not worth failing the credit for
        pass

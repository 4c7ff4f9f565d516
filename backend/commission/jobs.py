"""RQ jobs of the commission package. They take ids (or nothing) and are idempotent.

The hot path is batched: a paid order enqueues one collapsing "credit" job that
credits pending payouts up to 500 per transaction (several workers share the rows
with SKIP LOCKED). Transfers, which call WeChat, run one job per payout.
"""

from __future__ import annotations

import logging
import time

from backend.commission import messages, payouts
from backend.leaderboard.jobs import apply_credit
from backend.queue import enqueue_once, get_queue, job

log = logging.getLogger(__name__)


@job
def run_payout(payout_id: int) -> str | None:
    return payouts.advance(payout_id)


# One credit job keeps going while orders keep coming: under load it takes what
# arrived in the meantime every few milliseconds instead of paying RQ's per-job
# cost for every order. It gives the worker back after a short run.
CREDIT_RUN_SECONDS = 1.0
CREDIT_IDLE_POLLS = 3
CREDIT_POLL_SECONDS = 0.02


@job
def credit_pending_payouts() -> int:
    deadline = time.monotonic() + CREDIT_RUN_SECONDS
    credited, idle = 0, 0
    while True:
        batch = payouts.credit_pending()
        enqueue_transfers(batch.to_transfer)
        if batch.released:
            apply_credit(batch.released)
        if batch.credited:
            enqueue_messages(batch.credited)
            credited += len(batch.credited)
            idle = 0
        else:
            idle += 1
        if time.monotonic() >= deadline:
            if batch.more or batch.credited:
                enqueue_credit()  # more may be waiting: another run picks it up
            return credited
        if not batch.more:
            if idle >= CREDIT_IDLE_POLLS:
                return credited
            time.sleep(CREDIT_POLL_SECONDS)


@job
def send_earned_messages(payout_ids: list[int]) -> int:
    return messages.send_earned_messages(payout_ids)


def enqueue_credit() -> bool:
    """Call after the commit that wrote pending payouts."""
    return enqueue_once(credit_pending_payouts, job_id="payouts-credit", queue="payouts")


def enqueue_transfers(payout_ids: list[int]) -> int:
    return sum(enqueue_once(run_payout, pid, job_id=f"payout-{pid}", queue="payouts") for pid in payout_ids)


def enqueue_messages(payout_ids: list[int]) -> None:
    try:
        get_queue("default").enqueue(send_earned_messages, payout_ids, result_ttl=0, failure_ttl=86400)
    except Exception as exc:  # a lost courtesy message is not worth failing the credit for
        log.warning("earned messages for %d payouts not queued: %s", len(payout_ids), exc.__class__.__name__)

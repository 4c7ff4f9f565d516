"""RQ jobs of the commission package. They take ids (or nothing) and are idempotent.

The hot path is batched: a paid order enqueues one collapsing "credit" job whose
loop (one at a time, under a Redis lock) credits pending payouts up to 500 per
transaction (``credit.credit_batch``); SKIP LOCKED keeps it off rows another
transaction holds. Transfers, which call WeChat, run one job per payout; "you
earned" messages one collapsing job. Enqueuing them is ``outbox.py``'s job.
"""

from __future__ import annotations

import logging
import time

from backend.commission import messages, payouts
from backend.commission.credit import credit_batch
from backend.commission.outbox import (  # noqa: F401 - enqueued by name from here (orders, sweeper, admin)
    credit_lock,
    enqueue_credit,
    enqueue_messages,
    enqueue_transfers,
    messages_key,
)
from backend.extensions import redis_client
from backend.queue import job

log = logging.getLogger(__name__)


@job
def run_payout(payout_id: int) -> str | None:
    return payouts.advance(payout_id)


# One credit job keeps going while orders keep coming: under load it takes what
# arrived in the meantime instead of paying RQ's per-job cost for every order, and
# it gives the worker back after a short run. A batch costs about the same whether
# it holds 2 payouts or 40 (one transaction, a fixed number of statements), so the
# loop takes one at most every CREDIT_BATCH_SECONDS: at 200 orders/s that makes
# batches of ~40 payouts for a wait of at most 0.1 s, a tenth of the 1 s budget.
CREDIT_RUN_SECONDS = 1.0
CREDIT_BATCH_SECONDS = 0.1
# With nothing found, it looks again sooner and stops after a few empty looks.
CREDIT_IDLE_POLLS = 3
CREDIT_POLL_SECONDS = 0.02


@job
def credit_pending_payouts() -> int:
    lock = credit_lock()
    if not lock.acquire(blocking=False):
        return 0  # another loop runs; it looks once more after letting go (below)
    try:
        credited, more = _credit_loop()
    finally:
        _release(lock)
    # A job that found the lock held (just above) may have been the one meant for
    # payouts committed before that moment: this pass, after the release, takes them.
    if more:
        enqueue_credit()  # at the front of the queue, ahead of the transfer jobs this run enqueued
    else:
        credited += len(credit_batch().credited)
    return credited


def _credit_loop() -> tuple[int, bool]:
    """(payouts credited, whether more may be waiting) for one run. Each batch is a
    unit of work of its own (``credit.credit_batch``)."""
    deadline = time.monotonic() + CREDIT_RUN_SECONDS
    credited, idle = 0, 0
    while True:
        started = time.monotonic()
        batch = credit_batch()
        credited += len(batch.credited)
        idle = 0 if batch.credited else idle + 1
        if time.monotonic() >= deadline:
            return credited, batch.more or bool(batch.credited)
        if idle >= CREDIT_IDLE_POLLS:
            return credited, False
        if not batch.more:
            pause = CREDIT_BATCH_SECONDS if batch.credited else CREDIT_POLL_SECONDS
            time.sleep(max(0.0, started + pause - time.monotonic()))


def _release(lock) -> None:
    try:
        lock.release()
    except Exception as exc:  # expired or Redis gone: the lock lapses by itself
        log.warning("credit loop lock not released: %s", exc.__class__.__name__)


@job
def send_earned_messages() -> int:
    """Sends the messages of the payouts queued by ``enqueue_messages``, many per job."""
    key = messages_key()
    sent = 0
    while ids := [int(x) for x in redis_client().spop(key, MESSAGES_PER_PASS) or []]:
        sent += messages.send_earned_messages(ids)
    return sent


MESSAGES_PER_PASS = 500

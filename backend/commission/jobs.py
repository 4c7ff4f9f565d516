"""RQ jobs of the commission package. They take ids (or nothing) and are idempotent.

The hot path is batched: a paid order enqueues one collapsing "credit" job whose
loop (one at a time, under a Redis lock) credits pending payouts up to 500 per
transaction; SKIP LOCKED keeps it off rows another transaction holds. Transfers,
which call WeChat, run one job per payout; "you earned" messages one collapsing job.
"""

from __future__ import annotations

import logging
import time

from flask import current_app

from backend.commission import messages, payouts
from backend.extensions import db, redis_client
from backend.leaderboard.jobs import apply_events
from backend.leaderboard.service import credit_events
from backend.queue import enqueue_once, job

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
# One loop at a time: two would halve each other's batches. Longer than a run, so
# it only expires when its worker died; then the next credit job takes over.
CREDIT_LOCK_SECONDS = 10


@job
def credit_pending_payouts() -> int:
    lock = redis_client().lock(_credit_lock_key(), timeout=CREDIT_LOCK_SECONDS)
    if not lock.acquire(blocking=False):
        return 0  # another loop runs; it looks once more after letting go (below)
    try:
        credited, more = _credit_loop()
    finally:
        _release(lock)
    # A job that found the lock held (just above) may have been the one meant for
    # payouts committed before that moment: this pass, after the release, takes them.
    if more:
        enqueue_credit()
    else:
        credited += len(_credit_batch().credited)
    return credited


def _credit_loop() -> tuple[int, bool]:
    """(payouts credited, whether more may be waiting) for one run."""
    deadline = time.monotonic() + CREDIT_RUN_SECONDS
    credited, idle = 0, 0
    while True:
        started = time.monotonic()
        batch = _credit_batch()
        credited += len(batch.credited)
        idle = 0 if batch.credited else idle + 1
        if time.monotonic() >= deadline:
            return credited, batch.more or bool(batch.credited)
        if idle >= CREDIT_IDLE_POLLS:
            return credited, False
        if not batch.more:
            pause = CREDIT_BATCH_SECONDS if batch.credited else CREDIT_POLL_SECONDS
            time.sleep(max(0.0, started + pause - time.monotonic()))


def _credit_batch() -> payouts.CreditBatch:
    batch = payouts.credit_pending()
    # Read before the commit, under the batch's row locks: each commission counts on
    # the boards as it was when released. A refund after this commit finds it
    # released and takes its own share off the boards (leaderboard.service).
    events = credit_events(batch.released)
    db.session.commit()
    enqueue_transfers(batch.to_transfer)
    apply_events(events)
    if batch.credited:
        enqueue_messages(batch.credited)
    return batch


def _credit_lock_key() -> str:
    return f"{current_app.config['FISSION'].queue_prefix}:credit-loop"


def _release(lock) -> None:
    try:
        lock.release()
    except Exception as exc:  # expired or Redis gone: the lock lapses by itself
        log.warning("credit loop lock not released: %s", exc.__class__.__name__)


@job
def send_earned_messages() -> int:
    """Sends the messages of the payouts queued by ``enqueue_messages``, many per job."""
    key = _messages_key()
    sent = 0
    while ids := [int(x) for x in redis_client().spop(key, MESSAGES_PER_PASS) or []]:
        sent += messages.send_earned_messages(ids)
    return sent


MESSAGES_PER_PASS = 500


def _messages_key() -> str:
    return f"{current_app.config['FISSION'].queue_prefix}:earned-msg-todo"


def enqueue_credit() -> bool:
    """Call after the commit that wrote pending payouts.

    While a credit loop holds its lock nothing is enqueued: that loop looks at the
    database again after letting go, which is after this commit. (Enqueuing anyway
    would have the other worker start a job that ends at once, for every order.)"""
    try:
        if redis_client().exists(_credit_lock_key()):
            return True
    except Exception:
        pass  # enqueue_once reports Redis trouble
    return enqueue_once(credit_pending_payouts, job_id="payouts-credit", queue="payouts")


def enqueue_transfers(payout_ids: list[int]) -> int:
    return sum(enqueue_once(run_payout, pid, job_id=f"payout-{pid}", queue="payouts") for pid in payout_ids)


def enqueue_messages(payout_ids: list[int]) -> None:
    """Queue "you earned" messages: ids into one Redis set, and one collapsing job
    that empties it (a job per credit batch cost more than the messages)."""
    try:
        redis_client().sadd(_messages_key(), *payout_ids)
    except Exception as exc:  # a lost courtesy message is not worth failing the credit for
        log.warning("earned messages for %d payouts not queued: %s", len(payout_ids), exc.__class__.__name__)
        return
    enqueue_once(send_earned_messages, job_id="earned-messages", queue="default")

"""The payout outbox's way out: the jobs that move pending payouts on, and the
signal by which others learn that commissions reached the wallets.

The ``payouts`` table is the outbox (a paid order writes ``pending`` payouts in its
own transaction); this module enqueues the work that empties it. It imports no job
module: jobs are named by their dotted path, so whoever decides that payouts wait
(orders, the sweeper, a campaign that pays its prizes, the leaderboard package)
can import this without importing the jobs and what they import.

* one collapsing credit job for all pending payouts (``enqueue_credit``), skipped
  while a credit loop holds its Redis lock (``credit_lock``);
* one ``run_payout`` job per payout that calls WeChat (``enqueue_transfers``);
* "you earned" messages: ids into a Redis set, one collapsing job to send them.
"""

from __future__ import annotations

import logging

from blinker import Namespace
from flask import current_app

from backend.extensions import redis_client
from backend.queue import enqueue_once
from backend.transactions import after_commit

log = logging.getLogger(__name__)

CREDIT_JOB = "backend.commission.jobs.credit_pending_payouts"
TRANSFER_JOB = "backend.commission.jobs.run_payout"
MESSAGES_JOB = "backend.commission.jobs.send_earned_messages"
# The work's name for ``enqueue_once``: its waiting marker is ``{prefix}:waiting:payouts-credit``.
CREDIT_JOB_ID = "payouts-credit"
# One loop at a time: two would halve each other's batches. Longer than a run, so
# it only expires when its worker died; then the next credit job takes over.
CREDIT_LOCK_SECONDS = 10

_signals = Namespace()
# Sent inside the credit batch's transaction, under its row locks, with the ids of
# the commissions it released (``commission_ids=[...]``). A receiver reads what it
# needs now and registers its side effects with ``after_commit`` (the boards do).
commissions_released = _signals.signal("commissions-released")


def credit_lock_key() -> str:
    return f"{current_app.config['FISSION'].queue_prefix}:credit-loop"


def credit_lock():
    """The credit loop's lock (not yet acquired)."""
    return redis_client().lock(credit_lock_key(), timeout=CREDIT_LOCK_SECONDS)


def enqueue_credit() -> bool:
    """Call after the commit that wrote pending payouts (or register it with
    ``enqueue_credit_after_commit``).

    While a credit loop holds its lock nothing is enqueued: that loop looks at the
    database again after letting go, which is after this commit. (Enqueuing anyway
    would have the other worker start a job that ends at once, for every order.)"""
    try:
        if redis_client().exists(credit_lock_key()):
            return True
    except Exception:  # noqa: S110 - enqueue_once below reports the Redis trouble
        pass
    # At the front of the payouts queue: at most one credit job waits (enqueue_once) and a
    # run lasts about a second, while behind a queue of transfer jobs (the sweeper
    # re-enqueues hundreds after a Redis loss, each a WeChat call) it waited a minute
    # and no commission was credited meanwhile (bench/chaos.py).
    return enqueue_once(CREDIT_JOB, job_id=CREDIT_JOB_ID, queue="payouts", at_front=True)


def enqueue_credit_after_commit() -> None:
    """The credit job, once the transaction that wrote pending payouts commits."""
    after_commit(enqueue_credit)


def enqueue_transfers(payout_ids: list[int]) -> int:
    return sum(enqueue_once(TRANSFER_JOB, pid, job_id=f"payout-{pid}", queue="payouts") for pid in payout_ids)


def enqueue_transfers_after_commit(payout_ids: list[int]) -> None:
    """One ``run_payout`` job per payout, once the transaction that made them ``submitting`` commits."""
    after_commit(enqueue_transfers, payout_ids)


def messages_key() -> str:
    return f"{current_app.config['FISSION'].queue_prefix}:earned-msg-todo"


def enqueue_messages(payout_ids: list[int]) -> None:
    """Queue "you earned" messages: ids into one Redis set, and one collapsing job
    that empties it (a job per credit batch cost more than the messages)."""
    try:
        redis_client().sadd(messages_key(), *payout_ids)
    except Exception as exc:  # a lost courtesy message is not worth failing the credit for
        log.warning("earned messages for %d payouts not queued: %s", len(payout_ids), exc.__class__.__name__)
        return
    enqueue_once(MESSAGES_JOB, job_id="earned-messages", queue="default")

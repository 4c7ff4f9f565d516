"""Board updates, run after the commit that made them true.

The credit batch tells ``commission.outbox.commissions_released`` which commissions
it released; ``on_commissions_released`` (connected in the package's ``__init__``)
reads their events then, under the batch's row locks, and applies them once the
batch commits. The commission package never imports this one: the boards follow
the money, not the other way round.
"""

from __future__ import annotations

import logging

from flask import current_app

from backend.auth import profiles
from backend.commission.outbox import enqueue_credit_after_commit
from backend.extensions import redis_client
from backend.leaderboard import boards, campaigns, service
from backend.queue import enqueue_once, job
from backend.transactions import after_commit

log = logging.getLogger(__name__)


def on_commissions_released(sender, commission_ids: list[int]) -> None:
    """Inside the credit batch's transaction: each commission counts on the boards as
    it was when released (a refund after the commit takes its own share off). The
    events reach Redis once the batch commits."""
    events = service.credit_events(commission_ids)
    if events:
        _warm_profiles(events)
        after_commit(apply_events, events)


def apply_credit(commission_ids: list[int]) -> int:
    """The boards' share of commissions already in the wallets (a replay applies nothing twice)."""
    events = service.credit_events(commission_ids)
    _warm_profiles(events)
    return apply_events(events)


def _warm_profiles(events: list) -> None:
    """Whoever is on a board is read by name soon. Done with the database session at
    hand, before the commit: the after-commit board update may not use it. (Names are
    no part of the transaction: a batch that rolls back leaves a harmless cache.)"""
    try:
        profiles.warm(e.user_id for e in events)
    except Exception as exc:  # a cache: the board read loads the names it misses
        log.warning("profiles of %d board events not cached: %s", len(events), exc)


def apply_events(events: list) -> int:
    """Called after the commit that made the events true; Redis only. A Redis failure
    is logged and left to the drift check / rebuild: the database holds the truth."""
    if not events:
        return 0
    prefix = current_app.config["FISSION"].queue_prefix
    try:
        return boards.apply(redis_client(), prefix, events)
    except Exception as exc:
        log.warning("leaderboard update of %d events failed: %s", len(events), exc)
        return 0


@job
def apply_refund(refund_id: int, order_id: int, amount_fen: int, undo: bool = False) -> int:
    prefix = current_app.config["FISSION"].queue_prefix
    return boards.apply(redis_client(), prefix, service.refund_events(refund_id, order_id, amount_fen, undo))


def enqueue_refund(refund_id: int, order_id: int, amount_fen: int, undo: bool = False) -> bool:
    kind = "undo" if undo else "refund"
    return enqueue_once(apply_refund, refund_id, order_id, amount_fen, undo, job_id=f"board-{kind}-{refund_id}")


def enqueue_refund_after_commit(refund_id: int, order_id: int, amount_fen: int, undo: bool = False) -> None:
    """The refund's board job, once the transaction that recorded the refund commits."""
    after_commit(enqueue_refund, refund_id, order_id, amount_fen, undo)


@job
def close_campaign(campaign_id: int) -> int:
    """Idempotent: a second run finds the campaign closed and pays nothing. The job
    boundary commits; the prizes then leave on the payout rail like any payout."""
    payout_ids = campaigns.close(campaign_id)
    if payout_ids:
        enqueue_credit_after_commit()
    return len(payout_ids)


def enqueue_due_campaigns() -> int:
    return sum(enqueue_once(close_campaign, cid, job_id=f"campaign-close-{cid}") for cid in campaigns.due_ids())

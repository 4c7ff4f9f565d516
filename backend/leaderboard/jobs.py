"""Board updates, run by workers after the commit that made them true."""

from __future__ import annotations

import logging

from flask import current_app

from backend.auth import profiles
from backend.extensions import redis_client
from backend.leaderboard import boards, service
from backend.queue import enqueue_once, job

log = logging.getLogger(__name__)


def apply_credit(commission_ids: list[int]) -> int:
    """The boards' share of commissions already in the wallets (a replay applies nothing twice)."""
    return apply_events(service.credit_events(commission_ids))


def apply_events(events: list) -> int:
    """Called after the commit that made the events true. A Redis failure is logged
    and left to the drift check / rebuild: the database already holds the truth."""
    if not events:
        return 0
    prefix = current_app.config["FISSION"].queue_prefix
    try:
        applied = boards.apply(redis_client(), prefix, events)
        profiles.warm(e.user_id for e in events)  # whoever is on a board is read by name soon
        return applied
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


@job
def close_campaign(campaign_id: int) -> int:
    """Idempotent: a second run finds the campaign closed and pays nothing."""
    from backend.commission.jobs import enqueue_credit
    from backend.extensions import db
    from backend.leaderboard import campaigns

    payout_ids = campaigns.close(campaign_id)
    db.session.commit()
    if payout_ids:
        enqueue_credit()  # the prizes leave on the payout rail like any payout
    return len(payout_ids)


def enqueue_due_campaigns() -> int:
    from backend.leaderboard import campaigns

    return sum(enqueue_once(close_campaign, cid, job_id=f"campaign-close-{cid}") for cid in campaigns.due_ids())

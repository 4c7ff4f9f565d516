"""RQ jobs of the orders package."""

from __future__ import annotations

from backend.extensions import db
from backend.leaderboard.jobs import enqueue_refund as enqueue_board_refund
from backend.orders import service
from backend.queue import enqueue_once, job


@job
def submit_refund(refund_id: int) -> str:
    refund = service.submit_refund(refund_id)
    db.session.commit()
    if refund.status == "failed":
        enqueue_board_refund(refund.id, refund.order_id, refund.amount_fen, undo=True)
    return refund.status


def enqueue_refund(refund_id: int) -> bool:
    return enqueue_once(submit_refund, refund_id, job_id=f"refund-{refund_id}")

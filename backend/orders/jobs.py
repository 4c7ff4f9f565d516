"""RQ jobs of the orders package."""

from __future__ import annotations

from backend.extensions import db
from backend.orders import service
from backend.queue import enqueue_once, job


@job
def submit_refund(refund_id: int) -> str:
    refund = service.submit_refund(refund_id)
    db.session.commit()
    return refund.status


def enqueue_refund(refund_id: int) -> bool:
    return enqueue_once(submit_refund, refund_id, job_id=f"refund-{refund_id}")

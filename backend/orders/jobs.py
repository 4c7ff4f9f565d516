"""RQ jobs of the orders package."""

from __future__ import annotations

from backend.orders import refunds
from backend.queue import enqueue_once, job


@job
def submit_refund(refund_id: int) -> str:
    """Ask WeChat again about a refund still ``processing`` (the sweeper's retry); the
    job boundary commits, and a failed refund's board undo follows the commit."""
    return refunds.submit_refund(refund_id).status


def enqueue_refund(refund_id: int) -> bool:
    return enqueue_once(submit_refund, refund_id, job_id=f"refund-{refund_id}")

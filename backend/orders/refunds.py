"""Refunds: reserved on the order (commission clawed back) in the caller's
transaction, then asked of WeChat with no transaction open, then settled by its
answer, its notify, or the sweeper's next question.

The boards follow a refund through ``after_commit``: the clawback's board job is
registered where the refund is requested, the undo's where a refund fails, so every
path (the operator's request, the retry job, the refund notify) enqueues them once
its transaction has committed, and never for work that was rolled back.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from backend.commission import service as commission
from backend.errors import ApiError
from backend.extensions import db, wechat
from backend.leaderboard.jobs import enqueue_refund as enqueue_board_refund
from backend.orders.models import Order, Refund
from backend.orders.service import notify_url
from backend.targets import closing as target_bonuses
from backend.timeutil import utcnow
from backend.transactions import after_commit, commit_before_remote_call
from backend.wechat.gateway import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)

REFUNDABLE_STATUSES = ("paid", "shipped", "completed", "partially_refunded")


def refund_order(order_id: int, amount_fen: int | None, reason: str, operator_id: int | None) -> Refund:
    """An operator's refund: reserved and committed, then asked of WeChat at once (the
    sweeper asks again if the answer is lost)."""
    refund = request_refund(order_id, amount_fen, reason, operator_id)
    return submit_refund(refund.id)


def request_refund(order_id: int, amount_fen: int | None, reason: str, operator_id: int | None) -> Refund:
    """Reserve the refund on the order and claw back commission, in this
    transaction. The WeChat call happens after its commit (``submit_refund``)."""
    order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:  # get_or_404's code and message; the row lock needs its own read
        raise ApiError("ORDER_NOT_FOUND", f"Order {order_id} does not exist")
    amount = refund_amount(order, amount_fen)
    refund = Refund(order_id=order.id, out_refund_no="", amount_fen=amount, reason=reason,
                    operator_id=operator_id, status="processing")
    db.session.add(refund)
    db.session.flush()
    refund.out_refund_no = f"FR{refund.id:012d}"  # deterministic: a retry reuses it
    order.refunded_fen += amount
    order.status = "refunded" if order.refunded_fen == order.paid_fen else "partially_refunded"
    refund.completed_order = order.refunded_fen == order.paid_fen
    commission.claw_back(order, refund.id)
    target_bonuses.claw_back(order, refund.id)  # a bonus of a closed month, pro rata
    db.session.flush()
    after_commit(enqueue_board_refund, refund.id, order.id, amount)  # the boards follow the clawback
    return refund


def refund_amount(order: Order, amount_fen: int | None) -> int:
    """The amount a refund of ``amount_fen`` (None: all that is left) takes from the
    order, or the refund's own error: the request and its preview check alike."""
    if order.status not in REFUNDABLE_STATUSES:
        raise ApiError("ORDER_NOT_REFUNDABLE", f"Order {order.id} is {order.status}")
    refundable = order.paid_fen - order.refunded_fen
    amount = refundable if amount_fen is None else amount_fen
    if amount <= 0 or amount > refundable:
        raise ApiError("REFUND_EXCEEDS_PAID", f"At most {refundable} fen can be refunded",
                       details={"refundable_fen": refundable})
    return amount


def preview_refund(order_id: int, amount_fen: int | None) -> dict:
    """What ``request_refund`` would claw back, from each earner's wallet, without doing
    it: the same amount check and the same pro-rata plan (``commission.clawback_plan``)."""
    order = db.session.get(Order, order_id)
    if order is None:
        raise ApiError("ORDER_NOT_FOUND", f"Order {order_id} does not exist")
    amount = refund_amount(order, amount_fen)
    plan = commission.clawback_plan(commission.commissions_of(order.id), order.refunded_fen + amount,
                                    order.paid_fen)
    wallets = commission.wallets_of([line.user_id for line, _, _ in plan])
    clawbacks = []
    for line, fen, source in plan:
        wallet = wallets.get(line.user_id, {"available_fen": 0, "pending_fen": 0})
        clawbacks.append({
            "earner_id": line.user_id, "commission_id": line.id, "level": line.level, "amount_fen": fen,
            "from_account": source, "wallet_available_fen": wallet["available_fen"],
            "wallet_available_after_fen": wallet["available_fen"] - (fen if source == "available" else 0),
            "wallet_pending_fen": wallet["pending_fen"],
            "wallet_pending_after_fen": wallet["pending_fen"] - (fen if source == "pending" else 0),
        })
    return {"order_id": order.id, "amount_fen": amount, "refundable_fen": order.paid_fen - order.refunded_fen,
            "clawbacks": clawbacks}


def submit_refund(refund_id: int) -> Refund:
    """Ask WeChat for the money back. WeChat is asked first where the refund stands, so
    a refund whose notify was lost is settled by the answer (succeeded, or closed and
    undone) instead of being sent again forever; one it has never seen is sent
    (idempotent by out_refund_no). An unknown outcome leaves the refund ``processing``
    for the sweeper to ask again."""
    refund = db.session.get(Refund, refund_id)
    if refund.status != "processing":
        return refund
    order = db.session.get(Order, refund.order_id)
    refund.next_attempt_at = utcnow() + timedelta(seconds=60)  # the notify normally comes first
    out_refund_no = refund.out_refund_no
    call = dict(out_trade_no=order.out_trade_no, out_refund_no=out_refund_no, total_fen=order.paid_fen,
                refund_fen=refund.amount_fen, notify_url=notify_url("refund-notify"), reason=refund.reason or "refund")
    commit_before_remote_call()  # the decision is recorded and no lock is held while WeChat answers
    try:
        known = wechat().query_refund(out_refund_no)
    except (WeChatUnavailable, WeChatError) as exc:
        known = None  # sending is idempotent: its own answer tells
        log.info("refund %s: query failed (%s); sending", refund_id, exc)
    try:
        if known is None:
            wechat().refund(**call)
        else:
            settle_refund(out_refund_no, known["refund_status"], known.get("refund_id"))
    except WeChatUnavailable:
        log.warning("refund %s: WeChat unavailable, will retry", refund_id)
    except WeChatError as exc:
        log.error("refund %s refused by WeChat: %s", refund_id, exc)
        fail_refund(refund_id, f"refused: {exc}")
    db.session.flush()
    return db.session.get(Refund, refund_id)


def settle_refund(out_refund_no: str, status: str | None, refund_id: str | None) -> Refund | None:
    """What WeChat says of a refund (its notify or a query): SUCCESS completes it;
    CHANGE (the money could not go back) or REFUNDCLOSE undoes it; PROCESSING waits.
    Returns the refund if it was undone now (``fail_refund`` has its boards put back)."""
    if status == "SUCCESS":
        mark_refund_succeeded(out_refund_no, refund_id)
    elif status in ("CHANGE", "REFUNDCLOSE"):
        refund = db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no))
        if refund is not None and refund.status == "processing":
            fail_refund(refund.id, status.lower())
            return refund
    return None


def fail_refund(refund_id: int, reason: str) -> None:
    """The money did not go back: the order and the commissions return to where
    they were before the refund was asked for."""
    refund = db.session.scalar(select(Refund).where(Refund.id == refund_id).with_for_update())
    if refund is None or refund.status != "processing":
        return
    order = db.session.scalar(select(Order).where(Order.id == refund.order_id).with_for_update())
    refund.reopened_order = order.refunded_fen == order.paid_fen  # fully refunded until now
    order.refunded_fen -= refund.amount_fen
    order.status = "paid" if order.refunded_fen == 0 else "partially_refunded"
    commission.undo_claw_back(order, refund.id)
    target_bonuses.undo_claw_back(order, refund.id)
    refund.status = "failed"
    refund.reason = f"{refund.reason} [{reason}]"[:255]
    db.session.flush()
    # The boards take the refund back, whichever path failed it (WeChat's refusal, its notify, a query).
    after_commit(enqueue_board_refund, refund.id, refund.order_id, refund.amount_fen, undo=True)


def mark_refund_succeeded(out_refund_no: str, refund_id: str | None) -> bool:
    refund = db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no).with_for_update())
    if refund is None:
        return False
    if refund.status == "processing":
        refund.status = "succeeded"
        refund.refund_id = refund_id
        refund.succeeded_at = utcnow()
        db.session.flush()
    return True

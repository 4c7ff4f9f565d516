"""Unpaid orders past their deadline: asked about at WeChat, closed, cancelled.

Run by the sweeper, one order per unit of work (``backend/sweeper``).
"""

from __future__ import annotations

from sqlalchemy import select

from backend.catalog import service as catalog
from backend.extensions import db, wechat
from backend.orders.models import Order
from backend.orders.payment import mark_paid
from backend.timeutil import utcnow
from backend.transactions import commit_before_remote_call
from backend.wechat.gateway import WeChatError

# WeChat Pay v2 trade_state values: money was taken in these, so the order is paid.
_PAID_TRADE_STATES = ("SUCCESS", "REFUND")
# Nothing was or can be paid any more: no need to close before cancelling.
_CLOSED_TRADE_STATES = ("CLOSED", "REVOKED")


def cancel_if_unpaid(order_id: int) -> bool:
    """Cancel an order past its payment deadline and return its stock, after asking
    WeChat: a payment whose notify is late is recorded, not cancelled.

    Only an order WeChat closed (or never knew) is cancelled. A user still paying
    (USERPAYING) is left for the next pass, and a closeorder that answers ORDERPAID
    (the user paid between our query and our close) records the payment."""
    order = db.session.get(Order, order_id)
    if order is None or order.status != "pending_payment":
        return False
    out_trade_no = order.out_trade_no
    commit_before_remote_call()  # WeChat is asked with no transaction open
    try:
        state = wechat().query_order(out_trade_no)
    except WeChatError as exc:
        if exc.code != "ORDERNOTEXIST":
            raise
        state = {"trade_state": "NOTEXIST"}  # WeChat never saw it: nothing to close
    trade_state = state.get("trade_state")
    if trade_state in _PAID_TRADE_STATES:
        mark_paid(out_trade_no, state["transaction_id"], int(state["total_fee"]),
                  fee_type=state.get("fee_type"), trade_type=state.get("trade_type"))
        return False
    if trade_state == "USERPAYING":
        return False  # the user is entering a password right now: ask again later
    if trade_state not in _CLOSED_TRADE_STATES and trade_state != "NOTEXIST":
        try:
            wechat().close_order(out_trade_no)
        except WeChatError as exc:
            if exc.code == "ORDERPAID":  # paid after our query: record it, never cancel
                state = wechat().query_order(out_trade_no)
                if state.get("trade_state") in _PAID_TRADE_STATES:
                    mark_paid(out_trade_no, state["transaction_id"], int(state["total_fee"]),
                  fee_type=state.get("fee_type"), trade_type=state.get("trade_type"))
                return False
            if exc.code not in ("ORDERNOTEXIST", "ORDERCLOSED"):
                raise
    order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order.status != "pending_payment":
        return False
    order.status = "cancelled"
    order.cancelled_at = utcnow()
    for item in order.items:
        catalog.release(item.product_id, item.quantity)
    db.session.flush()
    return True


def expired_unpaid_order_ids(limit: int = 500) -> list[int]:
    return list(db.session.scalars(
        select(Order.id).where(Order.status == "pending_payment", Order.expires_at <= utcnow())
        .order_by(Order.expires_at).limit(limit)))

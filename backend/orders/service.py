"""Orders: create with stock reserved, pay, the payment notify, cancel, refund.

Services flush; the view or job that called them commits, then enqueues.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.util import identity_key

from backend.auth.models import User
from backend.catalog import service as catalog
from backend.catalog.models import Product
from backend.commission import rules
from backend.commission import service as commission
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db, end_transaction_before_remote_call, wechat
from backend.orders.models import Order, OrderItem, Refund
from backend.referral import service as referral
from backend.timeutil import as_utc, utcnow
from backend.wechat.gateway import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)


def _cfg():
    return current_app.config["FISSION"]


def new_out_trade_no() -> str:
    # ≤ 32 chars, letters and digits only (WeChat's rule); unguessable so a notify
    # cannot be aimed at an order by counting.
    return "FO" + utcnow().strftime("%y%m%d%H%M%S") + secrets.token_hex(8).upper()


# Amounts are 32-bit columns, and WeChat's total_fee is an int: an order beyond this cannot be paid.
MAX_ORDER_FEN = 2**31 - 1


def create_order(user: User, items: list[dict], share_code: str | None) -> Order:
    wanted: dict[int, int] = {}
    for item in items:
        wanted[item["product_id"]] = wanted.get(item["product_id"], 0) + item["quantity"]
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(wanted)))}
    missing = [pid for pid in wanted if pid not in products or not products[pid].active]
    if missing:
        raise ApiError("PRODUCT_NOT_FOUND", "Some products do not exist", details={"product_ids": missing})
    total = sum(products[pid].price_fen * quantity for pid, quantity in wanted.items())
    if total <= 0:  # WeChat Pay takes no order of 0 fen: it could never be paid
        raise ApiError("ORDER_TOTAL_ZERO", "An order must cost something to be paid through WeChat Pay",
                       details={"total_fen": total})
    if total > MAX_ORDER_FEN:
        raise ApiError("ORDER_TOO_LARGE", f"An order may total at most {MAX_ORDER_FEN} fen",
                       details={"total_fen": total, "max_fen": MAX_ORDER_FEN})

    if share_code and user.inviter_id is None:
        _try_bind(user, share_code)

    # Reserve in product-id order so two orders never wait on each other in a circle.
    short = []
    for pid in sorted(wanted):
        if not catalog.reserve(pid, wanted[pid]):
            short.append(pid)
    if short:
        # The view does not commit on an error, so what this order did take goes back.
        raise ApiError("OUT_OF_STOCK", "Some items are out of stock", details={"items": [
            {"product_id": pid, "requested": wanted[pid], "available": db.session.get(Product, pid).stock}
            for pid in short]})

    now = utcnow()
    order = Order(user_id=user.id, status="pending_payment", out_trade_no=new_out_trade_no(),
                  share_code=share_code, created_at=now,
                  expires_at=now + timedelta(seconds=_cfg().order_payment_ttl_seconds), total_fen=0)
    total = 0
    for pid in sorted(wanted):
        product = products[pid]
        amount = product.price_fen * wanted[pid]
        total += amount
        order.items.append(OrderItem(product_id=pid, title=product.title, quantity=wanted[pid],
                                     unit_price_fen=product.price_fen, amount_fen=amount))
    order.total_fen = total
    db.session.add(order)
    db.session.flush()
    return order


def _try_bind(user: User, share_code: str) -> None:
    """A share link binds a new customer when the rules allow; if they do not, the
    order still goes ahead (the share is remembered on the order)."""
    try:
        with db.session.begin_nested():
            referral.bind(user, share_code, source="order")
    except ApiError as exc:
        log.info("share code %s did not bind user %s: %s", share_code, user.id, exc.code)


def get_order_for(user: User, order_id: int) -> Order:
    order = db.session.get(Order, order_id)
    if order is None or order.user_id != user.id:
        # Someone else's order looks exactly like a missing one.
        raise ApiError("ORDER_NOT_FOUND", f"Order {order_id} does not exist")
    return order


def notify_url(path: str) -> str:
    return f"{_cfg().wechat.notify_base_url}/api/v1/payments/wechat/{path}"


def start_payment(user: User, order: Order, client_ip: str) -> dict:
    if order.status != "pending_payment" or as_utc(order.expires_at) <= utcnow():
        raise ApiError("ORDER_NOT_PAYABLE", f"Order {order.id} cannot be paid (status {order.status})")
    openid, out_trade_no, total_fen, order_id = user.openid, order.out_trade_no, order.total_fen, order.id
    expires_at = as_utc(order.expires_at)
    end_transaction_before_remote_call()
    try:
        prepay_id = wechat().unified_order(
            out_trade_no=out_trade_no, total_fen=total_fen, openid=openid,
            body=f"Fission order {order_id}", notify_url=notify_url("notify"), client_ip=client_ip,
            time_expire=expires_at)
    except WeChatUnavailable as exc:
        raise ApiError("WECHAT_UNAVAILABLE", "WeChat Pay is not reachable, try again") from exc
    except WeChatError as exc:
        raise ApiError("WECHAT_ERROR", f"WeChat Pay refused the order: {exc}") from exc
    return {"out_trade_no": out_trade_no, "total_fen": total_fen, "jsapi": wechat().jsapi_params(prepay_id)}


class AmountMismatch(Exception):
    pass


@dataclass
class PaymentResult:
    order_id: int | None
    newly_paid: bool
    payouts: int = 0  # pending payouts written: the credit job has work


def mark_paid(out_trade_no: str, transaction_id: str, total_fee: int) -> PaymentResult:
    """Record a verified payment. Locks the order; a repeat is a no-op.

    The busiest write of the shop, so it is plain Core SQL: one read (the order, the
    buyer, the two people above them and the order's lines), the order and buyer
    updates, then the commission rows."""
    read = _read_for_payment(out_trade_no)
    if read is None:
        raise ApiError("ORDER_NOT_FOUND", f"No order {out_trade_no}")
    if total_fee != read.total_fen:
        raise AmountMismatch(f"order {read.order_id}: paid {total_fee}, expected {read.total_fen}")
    if read.status != "pending_payment":
        if read.status == "cancelled":
            # We close the WeChat order before cancelling, so this means WeChat
            # took money for an order it had closed: an operator must look.
            log.error("payment for cancelled order %s (%s)", read.order_id, transaction_id)
        return PaymentResult(read.order_id, False)
    settings = get_settings()
    chain = commission.commission_chain(read.buyer, read.inviter, read.inviters_inviter, read.share_code, settings)
    db.session.execute(_MARK_PAID, dict(
        order_id=read.order_id, paid_fen=total_fee, transaction_id=transaction_id, paid_at=utcnow(),
        level1_id=chain.level1.id if chain.level1 else None, level2_id=chain.level2.id if chain.level2 else None,
        chain_source=chain.source))
    if not read.buyer_has_paid_order:
        db.session.execute(_BUYER_HAS_PAID, {"buyer_id": read.buyer.id})
    payouts = commission.record_commissions(read.order_id, read.buyer.id, chain, read.lines, settings)
    # Objects this session may hold of the rows just written by Core: reload on next use.
    for entity, key in ((Order, read.order_id), (User, read.buyer.id)):
        loaded = db.session.identity_map.get(identity_key(entity, key))
        if loaded is not None:
            db.session.expire(loaded)
    return PaymentResult(read.order_id, True, payouts)


@dataclass(frozen=True)
class _PaymentRead:
    order_id: int
    status: str
    total_fen: int
    share_code: str | None
    buyer: commission.Member
    buyer_has_paid_order: bool
    inviter: commission.Member | None
    inviters_inviter: commission.Member | None
    lines: list


def _payment_read_statement():
    orders, items, products = Order.__table__, OrderItem.__table__, Product.__table__
    users = User.__table__
    people = {"b": users.alias("buyer"), "p": users.alias("inviter"), "g": users.alias("inviters_inviter")}
    columns = [orders.c.id, orders.c.status, orders.c.total_fen, orders.c.share_code,
               people["b"].c.has_paid_order.label("buyer_has_paid_order")]
    columns += [alias.c[name].label(f"{prefix}_{name}")
                for prefix, alias in people.items() for name in commission.MEMBER_FIELDS]
    columns += [items.c.amount_fen, items.c.quantity, products.c.level1_bp, products.c.level2_bp,
                products.c.level1_fixed_fen, products.c.level2_fixed_fen]
    return (
        select(*columns).select_from(orders)
        .join(people["b"], people["b"].c.id == orders.c.user_id)
        .outerjoin(people["p"], people["p"].c.id == people["b"].c.inviter_id)
        .outerjoin(people["g"], people["g"].c.id == people["p"].c.inviter_id)
        .outerjoin(items, items.c.order_id == orders.c.id)
        .outerjoin(products, products.c.id == items.c.product_id)
        .where(orders.c.out_trade_no == bindparam("out_trade_no"))
        .order_by(items.c.id)
    )


# Built once: the statements of the paid path are the same for every order.
_PAYMENT_READ = _payment_read_statement()
# PostgreSQL locks the order row in the read itself; MySQL/MariaDB would lock every
# joined row (the inviters' too, serialising their orders), and has no FOR UPDATE OF.
_PAYMENT_READ_LOCKING = _PAYMENT_READ.with_for_update(of=Order.__table__)
_LOCK_ORDER = (select(Order.__table__.c.status).where(Order.__table__.c.out_trade_no == bindparam("out_trade_no"))
               .with_for_update())
_MARK_PAID = (
    update(Order.__table__).where(Order.__table__.c.id == bindparam("order_id"))
    .values(status="paid", paid_fen=bindparam("paid_fen"), transaction_id=bindparam("transaction_id"),
            paid_at=bindparam("paid_at"), level1_id=bindparam("level1_id"), level2_id=bindparam("level2_id"),
            chain_source=bindparam("chain_source"))
)
_BUYER_HAS_PAID = update(User.__table__).where(User.__table__.c.id == bindparam("buyer_id")).values(has_paid_order=True)


def _read_for_payment(out_trade_no: str) -> _PaymentRead | None:
    """The order with its row lock, and what its commission needs, in as few round trips as the database allows."""
    params = {"out_trade_no": out_trade_no}
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.execute(_PAYMENT_READ_LOCKING, params).all()
        status = rows[0].status if rows else None
    else:
        status = db.session.scalar(_LOCK_ORDER, params)
        rows = db.session.execute(_PAYMENT_READ, params).all() if status is not None else []
    if not rows:
        return None
    first = rows[0]
    return _PaymentRead(
        order_id=first.id, status=status, total_fen=first.total_fen, share_code=first.share_code,
        buyer=commission.member_from(first, "b"), buyer_has_paid_order=bool(first.buyer_has_paid_order),
        inviter=commission.member_from(first, "p"), inviters_inviter=commission.member_from(first, "g"),
        lines=[rules.Line(amount_fen=r.amount_fen, quantity=r.quantity, level1_bp=r.level1_bp,
                          level2_bp=r.level2_bp, level1_fixed_fen=r.level1_fixed_fen,
                          level2_fixed_fen=r.level2_fixed_fen)
               for r in rows if r.amount_fen is not None])


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
    end_transaction_before_remote_call()
    try:
        state = wechat().query_order(out_trade_no)
    except WeChatError as exc:
        if exc.code != "ORDERNOTEXIST":
            raise
        state = {"trade_state": "NOTEXIST"}  # WeChat never saw it: nothing to close
    trade_state = state.get("trade_state")
    if trade_state in _PAID_TRADE_STATES:
        mark_paid(out_trade_no, state["transaction_id"], int(state["total_fee"]))
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
                    mark_paid(out_trade_no, state["transaction_id"], int(state["total_fee"]))
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


# --- refunds -------------------------------------------------------------------------

def request_refund(order_id: int, amount_fen: int | None, reason: str, operator_id: int | None) -> Refund:
    """Reserve the refund on the order and claw back commission, in this
    transaction. The WeChat call happens after the commit (``submit_refund``)."""
    order = db.session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None:
        raise ApiError("ORDER_NOT_FOUND", f"Order {order_id} does not exist")
    if order.status not in ("paid", "shipped", "completed", "partially_refunded"):
        raise ApiError("ORDER_NOT_REFUNDABLE", f"Order {order_id} is {order.status}")
    refundable = order.paid_fen - order.refunded_fen
    amount = refundable if amount_fen is None else amount_fen
    if amount <= 0 or amount > refundable:
        raise ApiError("REFUND_EXCEEDS_PAID", f"At most {refundable} fen can be refunded",
                       details={"refundable_fen": refundable})
    refund = Refund(order_id=order.id, out_refund_no="", amount_fen=amount, reason=reason,
                    operator_id=operator_id, status="processing")
    db.session.add(refund)
    db.session.flush()
    refund.out_refund_no = f"FR{refund.id:012d}"  # deterministic: a retry reuses it
    order.refunded_fen += amount
    order.status = "refunded" if order.refunded_fen == order.paid_fen else "partially_refunded"
    refund.completed_order = order.refunded_fen == order.paid_fen
    commission.claw_back(order, refund.id)
    db.session.flush()
    return refund


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
    end_transaction_before_remote_call()
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
    Returns the refund if it was undone now (its boards must be put back)."""
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
    refund.status = "failed"
    refund.reason = f"{refund.reason} [{reason}]"[:255]
    db.session.flush()


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


def order_view(order: Order) -> dict:
    from backend.timeutil import iso

    return {
        "id": order.id, "status": order.status, "total_fen": order.total_fen, "paid_fen": order.paid_fen,
        "refunded_fen": order.refunded_fen, "out_trade_no": order.out_trade_no,
        "created_at": iso(order.created_at), "paid_at": iso(order.paid_at), "expires_at": iso(order.expires_at),
        "items": [{"product_id": i.product_id, "title": i.title, "quantity": i.quantity,
                   "unit_price_fen": i.unit_price_fen, "amount_fen": i.amount_fen} for i in order.items],
    }

"""Paying an order: the WeChat prepay, and the verified payment (``mark_paid``).

``mark_paid`` is the busiest write of the shop: its statements are built once at
import and counted in docs/architecture.md (eight on PostgreSQL for a two-level
order, nine elsewhere); it flushes nothing else and commits nothing, the notify
view's request boundary commits it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.util import identity_key

from backend.auth.models import User
from backend.catalog.models import Product
from backend.commission import rules
from backend.commission import service as commission
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db, wechat
from backend.levels.models import DistributorLevel
from backend.orders.models import Order, OrderItem
from backend.orders.service import notify_url
from backend.timeutil import as_utc, utcnow
from backend.transactions import commit_before_remote_call
from backend.wechat.gateway import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)


def start_payment(user: User, order: Order, client_ip: str) -> dict:
    if order.status != "pending_payment" or as_utc(order.expires_at) <= utcnow():
        raise ApiError("ORDER_NOT_PAYABLE", f"Order {order.id} cannot be paid (status {order.status})")
    openid, out_trade_no, total_fen, order_id = user.openid, order.out_trade_no, order.total_fen, order.id
    expires_at = as_utc(order.expires_at)
    commit_before_remote_call()  # no transaction (nor lock) waits on WeChat
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
    """The payment is not for what the order asks: another amount, currency or kind."""


SHOP_CURRENCY = "CNY"
TRADE_TYPE = "JSAPI"  # the mini-program's payment; WeChat leaves fee_type out for CNY


@dataclass
class PaymentResult:
    order_id: int | None
    newly_paid: bool
    payouts: int = 0  # pending payouts written: the credit job has work


def mark_paid(out_trade_no: str, transaction_id: str, total_fee: int, *, fee_type: str | None = None,
              trade_type: str | None = None, payer_openid: str | None = None) -> PaymentResult:
    """Record a verified payment. Locks the order; a repeat is a no-op. ``fee_type`` and
    ``trade_type`` are WeChat's, from the notify or the order query (a signed notify in
    another currency, or of another kind of payment, does not pay a CNY JSAPI order).

    The busiest write of the shop, so it is plain Core SQL: one read (the order, the
    buyer, the two people above them and the order's lines), the order and buyer
    updates, then the commission rows. ``payer_openid`` (the notify's ``openid``) goes
    to the risk check: an earner's own account paying is a second account (docs/risk.md)."""
    read = _read_for_payment(out_trade_no)
    if read is None:
        raise ApiError("ORDER_NOT_FOUND", f"No order {out_trade_no}")
    if total_fee != read.total_fen:
        raise AmountMismatch(f"order {read.order_id}: paid {total_fee}, expected {read.total_fen}")
    if (fee_type or SHOP_CURRENCY) != SHOP_CURRENCY:
        raise AmountMismatch(f"order {read.order_id}: paid in {fee_type}, orders are in {SHOP_CURRENCY}")
    if trade_type not in (None, TRADE_TYPE):  # an order query may leave it out
        raise AmountMismatch(f"order {read.order_id}: a {trade_type} payment, orders are paid by {TRADE_TYPE}")
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
    payouts = commission.record_commissions(read.order_id, read.buyer.id, chain, read.lines, settings,
                                            payer_openid=payer_openid)
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
    # Each person's distributor level joined here: their level rates cost the paid path no statement.
    levels = {prefix: DistributorLevel.__table__.alias(f"{prefix}_level") for prefix in people}
    columns += [column for prefix, alias in people.items()
                for column in commission.member_columns(alias, levels[prefix], prefix)]
    columns += [items.c.amount_fen, items.c.quantity, products.c.level1_bp, products.c.level2_bp,
                products.c.level1_fixed_fen, products.c.level2_fixed_fen]
    return (
        select(*columns).select_from(orders)
        .join(people["b"], people["b"].c.id == orders.c.user_id)
        .outerjoin(people["p"], people["p"].c.id == people["b"].c.inviter_id)
        .outerjoin(people["g"], people["g"].c.id == people["p"].c.inviter_id)
        .outerjoin(levels["b"], levels["b"].c.id == people["b"].c.level_id)
        .outerjoin(levels["p"], levels["p"].c.id == people["p"].c.level_id)
        .outerjoin(levels["g"], levels["g"].c.id == people["g"].c.level_id)
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

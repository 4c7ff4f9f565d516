"""Orders: create with stock reserved, read, and the shape a client sees.

The rest of an order's life has a module each: ``payment`` (the prepay and the
payment notify's ``mark_paid``), ``expiry`` (cancelling unpaid orders past their
deadline), ``refunds``. Services only flush: the request or job boundary commits
(``backend/transactions``).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from backend import rate_limits
from backend.apidoc import get_or_404
from backend.auth.models import User
from backend.catalog import offers
from backend.catalog import service as catalog
from backend.catalog.models import Product
from backend.catalog.price_breaks import break_for, check_quantity, line_total_fen, price_text, rounded_fen
from backend.errors import ApiError
from backend.extensions import db
from backend.orders.models import Order, OrderItem
from backend.referral import service as referral
from backend.schemas import paginate
from backend.timeutil import utcnow

log = logging.getLogger(__name__)


def _cfg():
    return current_app.config["FISSION"]


def new_out_trade_no() -> str:
    # ≤ 32 chars, letters and digits only (WeChat's rule); unguessable so a notify
    # cannot be aimed at an order by counting.
    return "FO" + utcnow().strftime("%y%m%d%H%M%S") + secrets.token_hex(8).upper()


# Amounts are 32-bit columns, and WeChat's total_fee is an int: an order beyond this cannot be paid.
MAX_ORDER_FEN = 2**31 - 1


def create_order(user: User, items: list[dict], share_code: str | None, placed_by_admin_id: int | None = None) -> Order:
    """The customer's order, or one an operator places for them (``placed_by_admin_id``:
    an accepted substitute on it was accepted by that operator, not by the customer)."""
    wanted: dict[int, int] = {}
    replaces: dict[int, int] = {}  # substitute product → the product it replaces (an accepted offer)
    for item in items:
        wanted[item["product_id"]] = wanted.get(item["product_id"], 0) + item["quantity"]
        if item.get("substitute_for"):
            replaces[item["product_id"]] = item["substitute_for"]
    products = {p.id: p for p in db.session.scalars(select(Product).where(
        Product.id.in_(set(wanted) | set(replaces.values()))))}
    missing = sorted({pid for pid in (*wanted, *replaces.values()) if pid not in products or not products[pid].active})
    if missing:
        raise ApiError("PRODUCT_NOT_FOUND", "Some products do not exist", details={"product_ids": missing})
    for pid, original in replaces.items():
        offers.check_accepted(user.id, products[pid], products[original])
    # Each line at the price break of its quantity, its total rounded once (docs/catalog.md).
    unit_micro: dict[int, int] = {}
    for pid in sorted(wanted):
        product = products[pid]
        check_quantity(pid, wanted[pid], product.moq, product.order_multiple)
        unit_micro[pid] = break_for(catalog.breaks_of(product), wanted[pid]).unit_price_micro
    amounts = {pid: line_total_fen(wanted[pid], unit_micro[pid]) for pid in wanted}
    total = sum(amounts.values())
    if total <= 0:  # WeChat Pay takes no order of 0 fen: it could never be paid
        raise ApiError("ORDER_TOTAL_ZERO", "An order must cost something to be paid through WeChat Pay",
                       details={"total_fen": total})
    if total > MAX_ORDER_FEN:
        raise ApiError("ORDER_TOO_LARGE", f"An order may total at most {MAX_ORDER_FEN} fen",
                       details={"total_fen": total, "max_fen": MAX_ORDER_FEN})

    if share_code and user.inviter_id is None:
        _try_bind(user, share_code)

    # A line the stock just read cannot cover is short without trying it: no write, no
    # row lock (a short order is the substitute offers' path). Otherwise reserve, in
    # product-id order so two orders never wait on each other in a circle; a line that
    # lost a race to another order is read again for what is left.
    short = [pid for pid in sorted(wanted) if products[pid].stock < wanted[pid]]
    if not short:
        short = [pid for pid in sorted(wanted) if not catalog.reserve(pid, wanted[pid])]
        for pid in short:
            db.session.refresh(products[pid], ["stock"])
    if short:
        # The request boundary rolls back on an error, so what this order did take goes back.
        raise ApiError("OUT_OF_STOCK", "Some items are out of stock", details={"items": [
            _short_line(user, products[pid], wanted[pid]) for pid in short]})

    now = utcnow()
    order = Order(user_id=user.id, status="pending_payment", out_trade_no=new_out_trade_no(),
                  share_code=share_code, created_at=now, placed_by_admin_id=placed_by_admin_id,
                  expires_at=now + timedelta(seconds=_cfg().order_payment_ttl_seconds), total_fen=0)
    total = 0
    for pid in sorted(wanted):
        product = products[pid]
        total += amounts[pid]
        accepted = pid in replaces
        order.items.append(OrderItem(product_id=pid, title=product.title, quantity=wanted[pid],
                                     unit_price_fen=rounded_fen(unit_micro[pid]), unit_price_micro=unit_micro[pid],
                                     amount_fen=amounts[pid], substitute_for_product_id=replaces.get(pid),
                                     substitute_accepted_by=user.id if accepted and not placed_by_admin_id else None,
                                     substitute_accepted_at=now if accepted else None))
    order.total_fen = total
    db.session.add(order)
    db.session.flush()
    for pid, original in sorted(replaces.items()):
        offers.remember(user.id, products[original].part_id, products[pid].part_id, order.id)
    return order


def _short_line(user: User, product: Product, requested: int) -> dict:
    """A short line as OUT_OF_STOCK names it, with the ranked substitute offers (this
    order's reservations roll back with the error)."""
    return {"product_id": product.id, "requested": requested, "available": product.stock,
            "offers": offers.offers_for(user.id, product, requested, product.stock)}


def _try_bind(user: User, share_code: str) -> None:
    """A share link binds a new customer when the rules allow; if they do not, the
    order still goes ahead (the share is remembered on the order). The code is an
    invite-code lookup like a bind's (else the order would be the guessers' way around)."""
    try:
        with rate_limits.invite_lookup(), db.session.begin_nested():
            referral.bind(user, share_code, source="order")
    except ApiError as exc:
        log.info("share code %s did not bind user %s: %s", share_code, user.id, exc.code)


def get_order_for(user: User, order_id: int) -> Order:
    order = get_or_404(Order, order_id)
    if order.user_id != user.id:
        # Someone else's order looks exactly like a missing one.
        raise ApiError("ORDER_NOT_FOUND", f"Order {order_id} does not exist")
    return order


def notify_url(path: str) -> str:
    return f"{_cfg().wechat.notify_base_url}/api/v1/payments/wechat/{path}"


def orders_of(user: User, status: str | None, page: int, per_page: int) -> dict:
    """A user's orders, newest first, with their lines (one more statement for them all):
    the (user_id, created_at, id) index serves the page and its count."""
    stmt = select(Order).where(Order.user_id == user.id).options(selectinload(Order.items)) \
        .order_by(Order.created_at.desc(), Order.id.desc())
    if status:
        stmt = stmt.where(Order.status == status)
    return paginate(stmt, page, per_page, order_view)


def order_view(order: Order) -> dict:
    """What a client sees of an order (``schemas.OrderSchema``; times as datetimes,
    the schema's ``Timestamp`` writes them)."""
    return {
        "id": order.id, "status": order.status, "total_fen": order.total_fen, "paid_fen": order.paid_fen,
        "refunded_fen": order.refunded_fen, "out_trade_no": order.out_trade_no,
        "created_at": order.created_at, "paid_at": order.paid_at, "expires_at": order.expires_at,
        "placed_by_sales": order.placed_by_admin_id is not None,
        "items": [{"product_id": i.product_id, "title": i.title, "quantity": i.quantity,
                   "unit_price_fen": i.unit_price_fen, "amount_fen": i.amount_fen,
                   "unit_price": None if i.unit_price_micro is None else price_text(i.unit_price_micro),
                   "substitute_for": i.substitute_for_product_id, "substitute_accepted_at": i.substitute_accepted_at}
                  for i in order.items],
    }

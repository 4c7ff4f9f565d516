"""The demo shop's orders: bought, paid, credited and refunded through the services.

Each buyer's orders are created with ``orders.service.create_order`` and paid with
``orders.payment.mark_paid`` (what the verified WeChat Pay notify calls), so the
commissions, their ledger postings and the payouts (the outbox) are written as in
production; the credit job then runs (``drain``). Refunds are asked with
``orders.refunds.request_refund`` (the clawback) and settled with
``mark_refund_succeeded`` (what WeChat's SUCCESS refund notify records), without a
call to WeChat. The services stamp now(): ``backdate`` moves each order's rows to its
planned time over the last 30 days afterwards, the same instant on every row that
records it (order, commissions, payouts, ledger entries, refunds).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, select, update

from backend.auth.models import User
from backend.catalog.models import Product
from backend.commission.models import Commission, LedgerEntry, Payout
from backend.commission.settings import get_settings
from backend.extensions import db
from backend.orders import payment, refunds
from backend.orders import service as orders
from backend.orders.models import Order, Refund
from backend.timeutil import as_utc

DAYS = 30
RELEASE_AFTER = timedelta(seconds=5)  # the credit job's lag behind the payment


@dataclass
class PlannedOrder:
    at: datetime
    lines: list[tuple[str, int]]  # (part_no, quantity)
    pay: bool = True
    refund: str | None = None  # "full" | "partial"
    paid_at: datetime | None = None
    refund_at: datetime | None = None
    order_id: int | None = None
    refund_ids: list[int] = field(default_factory=list)


def _lines(rng: random.Random, part_nos: list[str], bulk: set[str]) -> list[tuple[str, int]]:
    chosen = rng.sample(part_nos, rng.randint(1, 4))
    return [(p, rng.randint(1, 10) if p in bulk else rng.randint(1, 8)) for p in sorted(chosen)]


def plan_orders(buyer_keys: list[str], part_nos: list[str], bulk: set[str], now: datetime,
                rng: random.Random) -> dict[str, list[PlannedOrder]]:
    """3-9 orders per buyer at random moments of the last 30 days (shop hours, Shanghai
    09:00-23:00); every fourth buyer has a last order still waiting for payment; about
    one paid order in twelve is refunded in full and one in twelve in part."""
    plans: dict[str, list[PlannedOrder]] = {}
    for n, key in enumerate(buyer_keys):
        moments = []
        for _ in range(rng.randint(3, 9)):
            day = now - timedelta(days=rng.randint(0, DAYS - 1))
            at = day.replace(hour=rng.randint(1, 15), minute=rng.randint(0, 59), second=rng.randint(0, 59),
                             microsecond=0)  # 01:00-15:59 UTC = 09:00-23:59 Shanghai
            if at > now - timedelta(hours=1):
                at -= timedelta(days=1)
            moments.append(at)
        planned = [PlannedOrder(at, _lines(rng, part_nos, bulk)) for at in sorted(moments)]
        for order in planned:
            order.paid_at = order.at + timedelta(minutes=rng.randint(1, 8), seconds=rng.randint(0, 59))
            roll = rng.random()
            if roll < 1 / 12 or roll > 11 / 12:
                order.refund = "full" if roll < 1 / 12 else "partial"
                order.refund_at = min(order.paid_at + timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 9)),
                                      now - timedelta(minutes=10))
        if n % 4 == 3:
            planned.append(PlannedOrder(now, _lines(rng, part_nos, bulk), pay=False))
        plans[key] = planned
    return plans


def has_orders(user_id: int) -> bool:
    return db.session.scalar(select(Order.id).where(Order.user_id == user_id).limit(1)) is not None


def place_orders(user: User, planned: list[PlannedOrder], products: dict[str, int]) -> None:
    """Create (and pay) one buyer's orders, in the caller's transaction. A line whose
    stock ran low is ordered smaller (or left out), never refused."""
    for plan in planned:
        items = []
        for part_no, quantity in plan.lines:
            product = db.session.get(Product, products[part_no])
            db.session.refresh(product, ["stock"])
            quantity = min(quantity, product.stock // 10)
            if quantity > 0:
                items.append({"product_id": product.id, "quantity": quantity})
        if not items:
            continue
        order = orders.create_order(user, items, share_code=None)
        plan.order_id = order.id
        if plan.pay:
            payment.mark_paid(order.out_trade_no, f"DEMO{order.out_trade_no}", order.total_fen)


def refund(plan: PlannedOrder, reason: str) -> None:
    """Refund a paid order (all of it, or a third) as an operator would, and settle it as
    WeChat's SUCCESS refund notify would."""
    order = db.session.get(Order, plan.order_id)
    amount = None if plan.refund == "full" else max(1, order.paid_fen // 3)
    made = refunds.request_refund(order.id, amount, reason, operator_id=None)
    refunds.mark_refund_succeeded(made.out_refund_no, f"DEMO{made.out_refund_no}")
    plan.refund_ids.append(made.id)


def _set(model, where, **values) -> None:
    db.session.execute(update(model).where(*where).values(**values).execution_options(synchronize_session=False))


def backdate(plan: PlannedOrder) -> None:
    """Move one order's rows from now() to its planned moments."""
    order = db.session.get(Order, plan.order_id)
    ttl = as_utc(order.expires_at) - as_utc(order.created_at)
    _set(Order, [Order.id == plan.order_id], created_at=plan.at, expires_at=plan.at + ttl,
         **({"paid_at": plan.paid_at} if plan.pay else {}))
    if not plan.pay:
        return
    hold = timedelta(days=get_settings().hold_days)
    released = plan.paid_at + RELEASE_AFTER
    commission_ids = list(db.session.scalars(select(Commission.id).where(Commission.order_id == plan.order_id)))
    _set(Commission, [Commission.order_id == plan.order_id], created_at=plan.paid_at,
         available_at=plan.paid_at + hold)
    _set(Commission, [Commission.order_id == plan.order_id, Commission.released_at.is_not(None)],
         released_at=released)
    payout_ids = list(db.session.scalars(select(Payout.id).where(Payout.commission_id.in_(commission_ids))))
    _set(Payout, [Payout.id.in_(payout_ids)], created_at=plan.paid_at, next_attempt_at=plan.paid_at,
         updated_at=released)
    _set(Payout, [Payout.id.in_(payout_ids), Payout.finished_at.is_not(None)], finished_at=released)
    _set(LedgerEntry, [LedgerEntry.order_id == plan.order_id, LedgerEntry.idempotency_key.not_like("refund:%")],
         created_at=case((LedgerEntry.kind == "commission_earned", plan.paid_at), else_=released))
    _set(LedgerEntry, [LedgerEntry.payout_id.in_(payout_ids), LedgerEntry.order_id.is_(None)], created_at=released)
    for refund_id in plan.refund_ids:
        _set(Refund, [Refund.id == refund_id], created_at=plan.refund_at, next_attempt_at=plan.refund_at,
             succeeded_at=plan.refund_at + timedelta(minutes=2))
        _set(LedgerEntry, [LedgerEntry.idempotency_key.like(f"refund:{refund_id}:%")], created_at=plan.refund_at)

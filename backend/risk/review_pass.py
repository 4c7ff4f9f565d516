"""The distributor-level signals, set-based (one GROUP BY query each), run by the
nightly pass (``jobs.py``): a distributor who trips one is put under review, and the
payment's check (``signals.py``) then holds their new orders.

* refund after payout: orders refunded after their level-1 commission was released
  (paid out), at least ``refund_after_payout_count`` of them and at least
  ``refund_after_payout_rate_bp`` of the distributor's released orders in the window;
* buy-and-refund loop: among the distributor's customers, orders paid then refunded
  within ``refund_loop_days`` by customers who did so at least twice, at least
  ``refund_loop_orders`` of them;
* conversion outlier: share-attributed orders per share visit at least
  ``conversion_factor`` times the shop's, with ``conversion_min_orders`` orders or more.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, distinct, func, select

from backend.commission.models import Commission
from backend.community.models import ShareEvent
from backend.extensions import db
from backend.orders.models import Order, Refund
from backend.risk.models import DistributorWatch
from backend.risk.settings import RiskSettings, get_risk_settings
from backend.timeutil import utcnow

SCORES = {"refund_after_payout": 50, "refund_loop": 50, "conversion_outlier": 30}


def refund_after_payout(settings: RiskSettings, since) -> dict[int, dict]:
    released = (select(Commission.user_id.label("uid"), func.count(distinct(Commission.order_id)).label("n"))
                .where(Commission.level == 1, Commission.released_at.is_not(None), Commission.released_at >= since)
                .group_by(Commission.user_id).subquery())
    after = (select(Commission.user_id.label("uid"), func.count(distinct(Commission.order_id)).label("n"))
             .join(Refund, and_(Refund.order_id == Commission.order_id, Refund.status != "failed",
                                Refund.created_at > Commission.released_at))
             .where(Commission.level == 1, Commission.released_at >= since)
             .group_by(Commission.user_id).subquery())
    rows = db.session.execute(select(after.c.uid, after.c.n, released.c.n).join(released, released.c.uid == after.c.uid)
                              .where(after.c.n >= settings.refund_after_payout_count))
    return {uid: {"refunded_after_payout": n, "paid_out_orders": total}
            for uid, n, total in rows if n * 10_000 >= settings.refund_after_payout_rate_bp * total}


def refund_loop(settings: RiskSettings, now) -> dict[int, dict]:
    """Customers who bought and refunded more than once within the window, summed per
    distributor: the loop is the same people going round, not the shop's refund rate
    spread over a big distributor's many customers."""
    since = now - timedelta(days=settings.refund_loop_days)
    per_customer = (
        select(Order.level1_id.label("uid"), Order.user_id.label("buyer"), func.count(distinct(Order.id)).label("n"))
        .join(Refund, and_(Refund.order_id == Order.id, Refund.status != "failed"))
        .where(Order.level1_id.is_not(None), Order.paid_at >= since)
        .group_by(Order.level1_id, Order.user_id).having(func.count(distinct(Order.id)) >= 2).subquery())
    rows = db.session.execute(
        select(per_customer.c.uid, func.sum(per_customer.c.n), func.count())
        .group_by(per_customer.c.uid).having(func.sum(per_customer.c.n) >= settings.refund_loop_orders))
    return {uid: {"refunded_orders": int(n), "customers": customers, "days": settings.refund_loop_days}
            for uid, n, customers in rows}


def conversion_outlier(settings: RiskSettings, since) -> dict[int, dict]:
    visits = dict(db.session.execute(
        select(ShareEvent.sharer_id, func.count()).where(
            ShareEvent.type == "visit", ShareEvent.sharer_id.is_not(None), ShareEvent.created_at >= since)
        .group_by(ShareEvent.sharer_id)).all())
    orders = dict(db.session.execute(
        select(Order.level1_id, func.count()).where(
            Order.level1_id.is_not(None), Order.share_code.is_not(None), Order.paid_at >= since)
        .group_by(Order.level1_id)).all())
    total_visits, total_orders = sum(visits.values()), sum(orders.values())
    found = {}
    for uid, n in orders.items():
        if n < settings.conversion_min_orders:
            continue
        seen = visits.get(uid, 0)
        # n / seen >= factor * total_orders / total_visits, in integers; no visits at all counts as infinite
        if seen == 0 or n * total_visits >= settings.conversion_factor * total_orders * seen:
            found[uid] = {"orders": n, "visits": seen, "shop_orders": total_orders, "shop_visits": total_visits}
    return found


def evaluate(now=None) -> dict:
    """Put the distributors who trip a rule under review (evidence kept); flush."""
    settings = get_risk_settings()
    now = now or utcnow()
    since = now - timedelta(days=settings.window_days)
    found: dict[int, dict] = {}
    rules = (("refund_after_payout", lambda: refund_after_payout(settings, since)),
             ("refund_loop", lambda: refund_loop(settings, now)),
             ("conversion_outlier", lambda: conversion_outlier(settings, since)))
    for name, rule in rules:
        if getattr(settings, name):
            for uid, evidence in rule().items():
                found.setdefault(uid, {})[name] = evidence
    for uid in sorted(found):
        watch = db.session.get(DistributorWatch, uid, with_for_update=True)
        evidence = found[uid]
        if watch is None:
            watch = DistributorWatch(user_id=uid, evidence={}, signals=[])
            db.session.add(watch)
        watch.under_review = True
        watch.evidence = {**(watch.evidence or {}), **evidence}
        watch.signals = sorted(set(watch.signals or []) | set(evidence))
        watch.score = min(100, sum(SCORES[s] for s in watch.signals))
    db.session.flush()
    return {"under_review": len(found), **{name: sum(name in e for e in found.values()) for name, _ in rules}}


def clear(user_id: int) -> DistributorWatch | None:
    """An operator takes a distributor off review (their new orders go on as usual)."""
    watch = db.session.get(DistributorWatch, user_id, with_for_update=True)
    if watch is not None:
        watch.under_review = False
        db.session.flush()
    return watch

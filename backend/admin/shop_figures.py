"""The shop's figures over an instant range ``[start, end)``: one index range scan each
(``orders.paid_at``, ``refunds.succeeded_at``, the ledger's ``(kind, created_at)``,
``users.created_at`` / ``distributor_since``). The dashboard's closed days, the running
day's slices and the minutes counted live all use these, so they cannot disagree."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from backend.auth.models import User
from backend.commission.models import LedgerEntry
from backend.extensions import db
from backend.orders.models import Order, Refund

FIGURES = ("gmv_fen", "paid_orders", "refunded_fen", "commission_credited_fen", "new_users", "new_distributors")


def _count(column, start: datetime, end: datetime) -> int:
    return int(db.session.scalar(select(func.count()).where(column >= start, column < end)) or 0)


def figures(start: datetime, end: datetime) -> dict:
    gmv, paid = db.session.execute(select(func.coalesce(func.sum(Order.paid_fen), 0), func.count()).where(
        Order.paid_at >= start, Order.paid_at < end)).one()
    refunded = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
        Refund.succeeded_at >= start, Refund.succeeded_at < end, Refund.status == "succeeded"))
    credited = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).where(
        LedgerEntry.kind == "commission_earned", LedgerEntry.created_at >= start, LedgerEntry.created_at < end))
    return {"gmv_fen": int(gmv), "paid_orders": int(paid), "refunded_fen": int(refunded),
            "commission_credited_fen": int(credited), "new_users": _count(User.created_at, start, end),
            "new_distributors": _count(User.distributor_since, start, end)}


def paid_orders(start: datetime, end: datetime) -> int:
    return _count(Order.paid_at, start, end)


def commission_by_user(start: datetime, end: datetime):
    """SELECT user_id, commission earned in the range (the ledger's commission_earned)."""
    return (select(LedgerEntry.user_id, func.sum(LedgerEntry.amount_fen))
            .where(LedgerEntry.kind == "commission_earned", LedgerEntry.created_at >= start,
                   LedgerEntry.created_at < end, LedgerEntry.user_id.is_not(None))
            .group_by(LedgerEntry.user_id))


def add(a: dict, b: dict) -> dict:
    return {name: int(a.get(name, 0)) + int(b.get(name, 0)) for name in FIGURES}

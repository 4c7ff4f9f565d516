"""What operators read about orders: the list (index-backed for each filter), one
order with its chain, commissions, refunds and payouts. No request object in here.

The list's ``total``: counting a million matching rows on every page costs more than
the page (seconds on two million orders), so the count stops at ``EXACT_UP_TO`` + 1
rows of the filter's index. Up to ``EXACT_UP_TO`` the total is exact; past it, it is
the database's estimate of the rows the filter selects (PostgreSQL's planner, from
ANALYZE statistics; MySQL/MariaDB's table statistics for the unfiltered list), flagged
``total_is_estimate``. Where no estimate is to be had (a filtered list on MySQL, SQLite)
the count goes on to the end, exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased

from backend.auth.models import AdminUser
from backend.auth.service import people
from backend.catalog.models import Product
from backend.catalog.price_breaks import price_text
from backend.commission.models import Commission, Payout
from backend.extensions import db
from backend.orders.models import Order, OrderItem, Refund
from backend.schemas import estimated_rows, page_of
from backend.timeutil import SHOP_TZ

EXACT_UP_TO = 10_000  # rows counted exactly (at most this many index entries read)


def shop_day_start(day: date) -> datetime:
    """Midnight of a shop day (Asia/Shanghai), in UTC."""
    return datetime.combine(day, time(0), SHOP_TZ).astimezone(UTC)


def order_filters(args: dict) -> list:
    """The WHERE clauses of the operators' filters (each served by an index of ``orders``)."""
    where = []
    if args.get("status"):
        where.append(Order.status == args["status"])
    if args.get("buyer_id"):
        where.append(Order.user_id == args["buyer_id"])
    if args.get("distributor_id"):
        where.append(Order.level1_id == args["distributor_id"])
    if args.get("paid_from"):
        where.append(Order.paid_at >= shop_day_start(args["paid_from"]))
    if args.get("paid_to"):
        where.append(Order.paid_at < shop_day_start(args["paid_to"] + timedelta(days=1)))
    q = (args.get("q") or "").strip()
    if q:
        by_number = Order.out_trade_no == q
        where.append(or_(Order.id == int(q), by_number) if q.isdigit() and int(q) < 2**31 else by_number)
    return where


def order_list_stmt(args: dict):
    return select(Order).where(*order_filters(args)).order_by(Order.created_at.desc(), Order.id.desc())


def _estimated_rows(stmt) -> int | None:
    return estimated_rows(stmt, "orders")


def order_total(args: dict) -> tuple[int, bool]:
    """(total, is_estimate) of the list (see the module docstring)."""
    ids = select(Order.id).where(*order_filters(args))
    counted = db.session.scalar(select(func.count()).select_from(ids.limit(EXACT_UP_TO + 1).subquery()))
    if counted <= EXACT_UP_TO:
        return counted, False
    estimate = _estimated_rows(ids)
    if estimate is not None:
        return max(estimate, counted), True
    return db.session.scalar(select(func.count()).select_from(ids.subquery())), False


def list_orders(args: dict) -> dict:
    page, per_page = args["page"], args["per_page"]
    orders = db.session.scalars(order_list_stmt(args).limit(per_page).offset((page - 1) * per_page)).all()
    total, estimated = order_total(args)
    return {**page_of(order_rows(orders), page, per_page, total), "total_is_estimate": estimated}


def order_rows(orders: list[Order]) -> list[dict]:
    """The list's item of each order: two queries for the page (people, line counts)."""
    ids = [o.id for o in orders]
    counts = dict(db.session.execute(
        select(OrderItem.order_id, func.count()).where(OrderItem.order_id.in_(ids)).group_by(OrderItem.order_id)
    ).all()) if ids else {}
    names = people([uid for o in orders for uid in (o.user_id, o.level1_id, o.level2_id)])
    return [_order_row(o, names, counts.get(o.id, 0)) for o in orders]


def _order_row(order: Order, names: dict, items_count: int) -> dict:
    return {
        "id": order.id, "status": order.status, "total_fen": order.total_fen, "paid_fen": order.paid_fen,
        "refunded_fen": order.refunded_fen, "buyer": names.get(order.user_id),
        "level1": names.get(order.level1_id), "level2": names.get(order.level2_id),
        "out_trade_no": order.out_trade_no or None, "created_at": order.created_at, "paid_at": order.paid_at,
        "items_count": items_count,
    }


def order_detail(order: Order) -> dict:
    replaced = aliased(Product)  # the product a substitute line replaces, read with the line
    lines = db.session.execute(
        select(OrderItem, Product.part_no, replaced.title, replaced.part_no)
        .join(Product, Product.id == OrderItem.product_id, isouter=True)
        .join(replaced, replaced.id == OrderItem.substitute_for_product_id, isouter=True)
        .where(OrderItem.order_id == order.id).order_by(OrderItem.id)).all()
    placed_by = order.placed_by_admin_id and db.session.scalar(
        select(AdminUser.username).where(AdminUser.id == order.placed_by_admin_id))
    commissions = db.session.scalars(
        select(Commission).where(Commission.order_id == order.id).order_by(Commission.level)).all()
    refunds = db.session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id)).all()
    payouts = db.session.scalars(select(Payout).where(
        Payout.commission_id.in_([c.id for c in commissions])).order_by(Payout.id)).all() if commissions else []
    names = people([order.user_id, order.level1_id, order.level2_id, *(c.user_id for c in commissions)])
    by_level = {c.level: c for c in commissions}

    def member(level: int, user_id: int | None) -> dict | None:
        if user_id is None:
            return None
        line = by_level.get(level)
        return {**names.get(user_id, {"id": user_id, "nickname": None}),
                "rate_bp": line.rate_bp if line else None, "reason": order.chain_source}

    return {
        "order": {**_order_row(order, names, len(lines)), "chain_source": order.chain_source,
                  "placed_by": placed_by or None, "items": [
                      _line(item, part_no, (title, replaced_no), names, placed_by)
                      for item, part_no, title, replaced_no in lines]},
        "chain": {"level1": member(1, order.level1_id), "level2": member(2, order.level2_id)},
        "commissions": [
            {"id": c.id, "level": c.level, "earner": names.get(c.user_id), "amount_fen": c.amount_fen,
             "reversed_fen": c.reversed_fen, "status": c.status, "created_at": c.created_at}
            for c in commissions],
        "refunds": [
            {"id": r.id, "amount_fen": r.amount_fen, "status": r.status, "reason": r.reason,
             "out_refund_no": r.out_refund_no, "created_at": r.created_at}
            for r in refunds],
        "payouts": [
            {"id": p.id, "earner_id": p.user_id, "commission_id": p.commission_id, "amount_fen": p.amount_fen,
             "status": p.status, "rail": p.rail}
            for p in payouts],
    }


def _line(item: OrderItem, part_no: str | None, replaced: tuple, names: dict, placed_by: str | None) -> dict:
    """An order line as the console shows it; a substitute line says what it replaces and
    who accepted it: the customer in the mini-program, or the sales who placed the order."""
    original = item.substitute_for_product_id
    accepted_by = None
    if item.substitute_accepted_at is not None and placed_by:
        accepted_by = {"kind": "sales", "name": placed_by}
    elif item.substitute_accepted_at is not None:
        accepted_by = {"kind": "customer", "name": (names.get(item.substitute_accepted_by) or {}).get("nickname")}
    return {"product_id": item.product_id, "title": item.title, "part_no": part_no, "quantity": item.quantity,
            "unit_price_fen": item.unit_price_fen, "line_total_fen": item.amount_fen,
            "unit_price": None if item.unit_price_micro is None else price_text(item.unit_price_micro),
            "substitute_for": None if original is None else {
                "product_id": original, "title": replaced[0], "part_no": replaced[1]},
            "substitute_accepted_by": accepted_by, "substitute_accepted_at": item.substitute_accepted_at}


def with_earners(preview: dict) -> dict:
    """A refund preview with each earner's nickname."""
    names = people(line["earner_id"] for line in preview["clawbacks"])
    return {**preview, "clawbacks": [
        {**line, "earner": names.get(line["earner_id"], {"id": line["earner_id"], "nickname": None})}
        for line in preview["clawbacks"]]}

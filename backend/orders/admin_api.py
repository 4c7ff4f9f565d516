"""Operators read and refund orders, and place one for a customer (代客下单)."""

from __future__ import annotations

from flask import g

from backend.admin import audit
from backend.apidoc import Blueprint, errors, get_or_404
from backend.auth.guards import admin_required
from backend.catalog import customers
from backend.orders import admin_lists, refunds, schemas
from backend.orders import service as orders
from backend.orders.models import Order

blp = Blueprint("admin_orders", __name__, url_prefix="/api/v1/admin", description="Orders (admin)")


@blp.get("/orders")
@admin_required("operator", "finance")
@blp.arguments(schemas.AdminOrderListArgs, location="query")
@blp.response(200, schemas.AdminOrderPage)
def list_orders(args):
    """Newest first. Filters combine; each is served by an index. ``total`` is exact
    when any filter is given, the database's estimate for a large unfiltered list
    (``total_is_estimate``)."""
    return admin_lists.list_orders(args)


@blp.get("/orders/<int:order_id>")
@admin_required("operator", "finance")
@errors("ORDER_NOT_FOUND")
@blp.response(200, schemas.AdminOrderDetailSchema)
def read_order(order_id):
    """One order with its commission chain (the snapshot taken at payment), its
    commission lines, refunds and the commission payouts."""
    return admin_lists.order_detail(get_or_404(Order, order_id))


@blp.post("/customers/<int:user_id>/orders")
@admin_required("operator")
@errors("CUSTOMER_NOT_FOUND", "PRODUCT_NOT_FOUND", "ORDER_TOTAL_ZERO", "ORDER_TOO_LARGE", "OUT_OF_STOCK",
        "BELOW_MOQ", "NOT_A_MULTIPLE", "SUBSTITUTE_NOT_ALLOWED", "MALFORMED_JSON", "VALIDATION_ERROR")
@blp.arguments(schemas.SalesOrderArgs)
@blp.response(201, schemas.AdminOrderDetailSchema)
def place_for_customer(args, user_id):
    """代客下单: sales, on the phone with a customer, place the order for them; the customer
    pays it in the mini-program. The same rules as the customer's own ``POST /orders`` (price
    breaks, MOQ and multiples, stock, ``OUT_OF_STOCK`` with this customer's ranked offers);
    an accepted offer (``substitute_for``) is remembered for the customer as accepted by sales."""
    customer = customers.get_customer(user_id)
    order = orders.create_order(customer, args["items"], None, placed_by_admin_id=g.admin.id)
    audit.record_change("order", order.id, {}, {
        "placed_for": customer.id, "total_fen": order.total_fen,
        "items": [{"product_id": i.product_id, "quantity": i.quantity, "substitute_for": i.substitute_for_product_id}
                  for i in order.items]})
    return admin_lists.order_detail(order)


@blp.get("/orders/<int:order_id>/refund-preview")
@admin_required("operator", "finance")
@errors("ORDER_NOT_FOUND", "ORDER_NOT_REFUNDABLE", "REFUND_EXCEEDS_PAID")
@blp.arguments(schemas.RefundPreviewArgs, location="query")
@blp.response(200, schemas.RefundPreviewSchema)
def refund_preview(args, order_id):
    """What a refund of ``amount_fen`` would claw back from each earner, computed by
    the refund's own code; nothing changes."""
    return admin_lists.with_earners(refunds.preview_refund(order_id, args.get("amount_fen")))


@blp.post("/orders/<int:order_id>/refund")
@admin_required("operator")
@errors("ORDER_NOT_FOUND", "ORDER_NOT_REFUNDABLE", "REFUND_EXCEEDS_PAID", "MALFORMED_JSON", "VALIDATION_ERROR")
@blp.arguments(schemas.RefundArgs)
@blp.response(201, schemas.RefundSchema)
def refund(args, order_id):
    """Reserve the refund (commission clawed back) and ask WeChat for the money at once.
    WeChat's refusal is no error here: the refund answers ``failed`` and is undone; an
    unknown outcome answers ``processing`` and the sweeper asks again."""
    return refunds.refund_order(order_id, args.get("amount_fen"), args["reason"], g.admin.id)

"""Orders of the signed-in user: create, pay, read, list."""

from __future__ import annotations

from flask import g, request

from backend.apidoc import Blueprint, errors
from backend.auth.guards import login_required
from backend.orders import payment, schemas
from backend.orders import service as orders

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Orders and payment")


@blp.post("/orders")
@login_required
@errors("PRODUCT_NOT_FOUND", "ORDER_TOTAL_ZERO", "ORDER_TOO_LARGE", "OUT_OF_STOCK", "BELOW_MOQ", "NOT_A_MULTIPLE",
        "SUBSTITUTE_NOT_ALLOWED", "MALFORMED_JSON", "VALIDATION_ERROR")
@blp.arguments(schemas.OrderCreateArgs)
@blp.response(201, schemas.OrderSchema)
def create(args):
    order = orders.create_order(g.user, args["items"], args.get("share_code"))
    return orders.order_view(order)


@blp.post("/orders/<int:order_id>/pay")
@login_required
@errors("ORDER_NOT_FOUND", "ORDER_NOT_PAYABLE", "WECHAT_UNAVAILABLE", "WECHAT_ERROR")
@blp.response(200, schemas.PaySchema)
def pay(order_id):
    """WeChat Pay's prepay for the order and the JSAPI parameters the mini-program pays
    with. No transaction is open while WeChat answers (``payment.start_payment``)."""
    order = orders.get_order_for(g.user, order_id)
    return payment.start_payment(g.user, order, request.remote_addr or "127.0.0.1")


@blp.get("/me/orders")
@login_required
@blp.arguments(schemas.MyOrderListArgs, location="query")
@blp.response(200, schemas.OrderPage)
def my_orders(args):
    """The signed-in user's orders, newest first (``status`` to narrow): where a customer
    finds one to pay, the ones sales placed for them included (``placed_by_sales``)."""
    return orders.orders_of(g.user, args.get("status"), args["page"], args["per_page"])


@blp.get("/orders/<int:order_id>")
@login_required
@errors("ORDER_NOT_FOUND")
@blp.response(200, schemas.OrderSchema)
def get(order_id):
    return orders.order_view(orders.get_order_for(g.user, order_id))

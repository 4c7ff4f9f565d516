from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from backend.orders.models import ORDER_STATUSES
from backend.schemas import PageArgs, ShopDay, Timestamp, list_schema


class OrderItemArgs(Schema):
    product_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000))
    substitute_for = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1),
                                    metadata={"description": "an accepted substitute offer: the product this line "
                                                             "replaces (the line keeps both)"})


class OrderCreateArgs(Schema):
    items = fields.List(fields.Nested(OrderItemArgs), required=True, validate=validate.Length(min=1, max=100))
    share_code = fields.String(validate=validate.Length(max=32), allow_none=True)


class SalesOrderArgs(Schema):
    """An order an operator places for a customer: the lines as the customer would order
    them, an accepted substitute offer as ``substitute_for`` (no share code: sales bind nobody)."""

    items = fields.List(fields.Nested(OrderItemArgs), required=True, validate=validate.Length(min=1, max=100))


class OrderItemSchema(Schema):
    product_id = fields.Integer()
    title = fields.String()
    quantity = fields.Integer()
    unit_price_fen = fields.Integer(metadata={"description": "the unit price rounded half-up to the fen"})
    unit_price = fields.String(allow_none=True, metadata={
        "description": "the exact unit price of the line's price break, yuan with six places"})
    amount_fen = fields.Integer(metadata={"description": "quantity × unit_price, rounded half-up once"})
    substitute_for = fields.Integer(allow_none=True, metadata={"description": "the product this line replaces"})
    substitute_accepted_at = Timestamp(allow_none=True)


class OrderSchema(Schema):
    id = fields.Integer()
    status = fields.String()
    total_fen = fields.Integer()
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()
    out_trade_no = fields.String()
    created_at = Timestamp()
    paid_at = Timestamp(allow_none=True)
    expires_at = Timestamp()
    placed_by_sales = fields.Boolean(metadata={"description": "placed for the customer by the shop's sales (代客下单)"})
    items = fields.List(fields.Nested(OrderItemSchema))


OrderPage = list_schema(OrderSchema, "OrderPage")


class MyOrderListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))


class JsapiSchema(Schema):
    appId = fields.String()
    timeStamp = fields.String()
    nonceStr = fields.String()
    package = fields.String()
    signType = fields.String()
    paySign = fields.String()


class PaySchema(Schema):
    out_trade_no = fields.String()
    total_fen = fields.Integer()
    jsapi = fields.Nested(JsapiSchema)


class RefundArgs(Schema):
    amount_fen = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1), allow_none=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=255))


class RefundSchema(Schema):
    id = fields.Integer()
    order_id = fields.Integer()
    amount_fen = fields.Integer()
    status = fields.String()
    out_refund_no = fields.String()
    reason = fields.String()


# --- operators: the order list, one order, a refund's preview --------------------------

class PersonSchema(Schema):
    id = fields.Integer()
    nickname = fields.String(allow_none=True)


class AdminOrderListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(ORDER_STATUSES))
    paid_from = ShopDay(metadata={"description": "first paid day, Asia/Shanghai (inclusive)"})
    paid_to = ShopDay(metadata={"description": "last paid day, Asia/Shanghai (inclusive)"})
    buyer_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1))
    distributor_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                                    metadata={"description": "the order's level-1 earner (the chain snapshot)"})
    q = fields.String(validate=validate.Length(min=1, max=32),
                      metadata={"description": "an order id or an out_trade_no, exact"})

    @validates_schema
    def _days_in_order(self, data, **kwargs):
        if data.get("paid_from") and data.get("paid_to") and data["paid_from"] > data["paid_to"]:
            raise ValidationError("paid_from is after paid_to", "paid_from")


class AdminOrderSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": ", ".join(ORDER_STATUSES)})
    total_fen = fields.Integer()
    paid_fen = fields.Integer()
    refunded_fen = fields.Integer()
    buyer = fields.Nested(PersonSchema)
    level1 = fields.Nested(PersonSchema, allow_none=True)
    level2 = fields.Nested(PersonSchema, allow_none=True)
    out_trade_no = fields.String(allow_none=True)
    created_at = Timestamp()
    paid_at = Timestamp(allow_none=True)
    items_count = fields.Integer(metadata={"description": "order lines"})


AdminOrderPage = list_schema(AdminOrderSchema, "AdminOrderPage", total_is_estimate=fields.Boolean(metadata={
    "description": "true when total is the database's row estimate (unfiltered list of a large table)"}))


class ReplacedProductSchema(Schema):
    product_id = fields.Integer()
    title = fields.String(allow_none=True)
    part_no = fields.String(allow_none=True)


class AcceptedBySchema(Schema):
    kind = fields.String(metadata={"description": "customer (in the mini-program) | sales (in the console)"})
    name = fields.String(allow_none=True,
                         metadata={"description": "the customer's nickname or the operator's username"})


class AdminOrderItemSchema(Schema):
    product_id = fields.Integer()
    title = fields.String()
    part_no = fields.String(allow_none=True)
    quantity = fields.Integer()
    unit_price_fen = fields.Integer()
    unit_price = fields.String(allow_none=True, metadata={"description": "the exact unit price, yuan with six places"})
    line_total_fen = fields.Integer()
    substitute_for = fields.Nested(ReplacedProductSchema, allow_none=True,
                                   metadata={"description": "the product this line replaces (an accepted substitute)"})
    substitute_accepted_by = fields.Nested(AcceptedBySchema, allow_none=True)
    substitute_accepted_at = Timestamp(allow_none=True)


class AdminOrderDetailOrder(AdminOrderSchema):
    chain_source = fields.String(allow_none=True)
    placed_by = fields.String(allow_none=True, metadata={
        "description": "the operator who placed it for the customer (代客下单), else null"})
    items = fields.List(fields.Nested(AdminOrderItemSchema))


class ChainMemberSchema(PersonSchema):
    rate_bp = fields.Integer(allow_none=True, metadata={
        "description": "the person's rate on this order; null when priced per product"})
    reason = fields.String(allow_none=True, metadata={"description": "binding, share or self"})


class OrderChainSchema(Schema):
    level1 = fields.Nested(ChainMemberSchema, allow_none=True)
    level2 = fields.Nested(ChainMemberSchema, allow_none=True)


class OrderCommissionSchema(Schema):
    id = fields.Integer()
    level = fields.Integer()
    earner = fields.Nested(PersonSchema)
    amount_fen = fields.Integer()
    reversed_fen = fields.Integer()
    status = fields.String()
    created_at = Timestamp()


class OrderRefundSchema(Schema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    status = fields.String()
    reason = fields.String()
    out_refund_no = fields.String()
    created_at = Timestamp()


class OrderPayoutSchema(Schema):
    id = fields.Integer()
    earner_id = fields.Integer()
    commission_id = fields.Integer(allow_none=True)
    amount_fen = fields.Integer()
    status = fields.String()
    rail = fields.String()


class AdminOrderDetailSchema(Schema):
    order = fields.Nested(AdminOrderDetailOrder)
    chain = fields.Nested(OrderChainSchema)
    commissions = fields.List(fields.Nested(OrderCommissionSchema))
    refunds = fields.List(fields.Nested(OrderRefundSchema))
    payouts = fields.List(fields.Nested(OrderPayoutSchema))


class RefundPreviewArgs(Schema):
    amount_fen = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), metadata={
        "description": "as in the refund; omitted: all that is left"})


class ClawbackSchema(Schema):
    earner = fields.Nested(PersonSchema)
    commission_id = fields.Integer()
    level = fields.Integer()
    amount_fen = fields.Integer()
    from_account = fields.String(metadata={"description": "pending (still on hold) or available"})
    wallet_available_fen = fields.Integer()
    wallet_available_after_fen = fields.Integer(metadata={"description": "may be negative"})
    wallet_pending_fen = fields.Integer()
    wallet_pending_after_fen = fields.Integer()


class RefundPreviewSchema(Schema):
    order_id = fields.Integer()
    amount_fen = fields.Integer()
    refundable_fen = fields.Integer()
    clawbacks = fields.List(fields.Nested(ClawbackSchema))

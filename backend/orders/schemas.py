from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.schemas import Timestamp


class OrderItemArgs(Schema):
    product_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1))
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=100_000))


class OrderCreateArgs(Schema):
    items = fields.List(fields.Nested(OrderItemArgs), required=True, validate=validate.Length(min=1, max=100))
    share_code = fields.String(validate=validate.Length(max=32), allow_none=True)


class OrderItemSchema(Schema):
    product_id = fields.Integer()
    title = fields.String()
    quantity = fields.Integer()
    unit_price_fen = fields.Integer()
    amount_fen = fields.Integer()


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
    items = fields.List(fields.Nested(OrderItemSchema))


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

"""Operators refund orders."""

from __future__ import annotations

from flask import g

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.orders import refunds, schemas

blp = Blueprint("admin_orders", __name__, url_prefix="/api/v1/admin", description="Orders (admin)")


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

"""Operators refund orders."""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint

from backend.auth.guards import admin_required
from backend.extensions import db
from backend.leaderboard.jobs import enqueue_refund as enqueue_board_refund
from backend.orders import schemas
from backend.orders import service as orders

blp = Blueprint("admin_orders", __name__, url_prefix="/api/v1/admin", description="Orders (admin)")


@blp.post("/orders/<int:order_id>/refund")
@admin_required("operator")
@blp.arguments(schemas.RefundArgs)
@blp.response(201, schemas.RefundSchema)
def refund(args, order_id):
    refund = orders.request_refund(order_id, args.get("amount_fen"), args["reason"], g.admin.id)
    db.session.commit()
    enqueue_board_refund(refund.id, order_id, refund.amount_fen)  # the boards follow the clawback
    refund = orders.submit_refund(refund.id)  # ask WeChat now; the sweeper asks again if the answer is lost
    db.session.commit()
    if refund.status == "failed":
        enqueue_board_refund(refund.id, order_id, refund.amount_fen, undo=True)
    return refund

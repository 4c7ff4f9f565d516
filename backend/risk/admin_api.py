"""Operators: the risk rules' settings and the review queue of held orders."""

from __future__ import annotations

from dataclasses import asdict

from flask import g
from sqlalchemy import select

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.commission.models import Commission
from backend.errors import ApiError
from backend.extensions import db
from backend.orders.models import Order
from backend.risk import review_pass, schemas, service
from backend.risk.models import DistributorWatch, RiskReview
from backend.risk.settings import get_risk_settings, save_risk_settings
from backend.schemas import PageArgs, paginate

blp = Blueprint("admin_risk", __name__, url_prefix="/api/v1/admin", description="Risk control (admin)")


@blp.get("/settings/risk")
@admin_required("operator")
@blp.response(200, schemas.RiskSettingsSchema)
def read_risk_settings():
    return asdict(get_risk_settings())


@blp.put("/settings/risk")
@admin_required()
@errors("MALFORMED_JSON", "INVALID_RISK_SETTINGS")
@blp.arguments(schemas.RiskSettingsSchema)
@blp.response(200, schemas.RiskSettingsSchema)
def write_risk_settings(args):
    """Switch rules on or off and change thresholds (the fields given; the others keep theirs)."""
    return asdict(save_risk_settings(args))


def review_view(review: RiskReview) -> dict:
    commissions = db.session.scalars(select(Commission).where(Commission.order_id == review.order_id)
                                     .order_by(Commission.id)).all()
    order = db.session.get(Order, review.order_id)
    return {
        "id": review.id, "order_id": review.order_id, "distributor_id": review.distributor_id,
        "status": review.status, "score": review.score, "signals": review.signals, "evidence": review.evidence,
        "order_paid_fen": order.paid_fen if order else None,
        "commission_fen": sum(c.amount_fen - c.reversed_fen for c in commissions),
        "commissions": [{"id": c.id, "user_id": c.user_id, "level": c.level, "amount_fen": c.amount_fen,
                         "reversed_fen": c.reversed_fen, "status": c.status} for c in commissions],
        "decided_by": review.decided_by, "decided_at": review.decided_at, "note": review.note,
        "created_at": review.created_at,
    }


@blp.get("/risk/reviews")
@admin_required("operator")
@blp.arguments(schemas.ReviewListArgs, location="query")
@blp.response(200, schemas.ReviewList)
def list_reviews(args):
    """Held orders (by status, newest first) with their signals, evidence and commissions."""
    stmt = select(RiskReview).where(RiskReview.status == args["status"]).order_by(RiskReview.id.desc())
    return paginate(stmt, args["page"], args["per_page"], review_view)


@blp.post("/risk/reviews/<int:review_id>/approve")
@admin_required("operator")
@errors("MALFORMED_JSON", "REVIEW_NOT_FOUND", "REVIEW_ALREADY_DECIDED")
@blp.arguments(schemas.DecisionArgs)
@blp.response(200, schemas.ReviewSchema)
def approve_review(args, review_id):
    """Release the held commissions as usual (the normal hold then applies). Once."""
    return review_view(service.approve(review_id, g.admin.id, args.get("note")))


@blp.post("/risk/reviews/<int:review_id>/reject")
@admin_required("operator")
@errors("MALFORMED_JSON", "REVIEW_NOT_FOUND", "REVIEW_ALREADY_DECIDED")
@blp.arguments(schemas.DecisionArgs)
@blp.response(200, schemas.ReviewSchema)
def reject_review(args, review_id):
    """Reverse the held commissions through the ledger. Once."""
    return review_view(service.reject(review_id, g.admin.id, args.get("note")))


@blp.get("/risk/distributors")
@admin_required("operator")
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.WatchList)
def list_watched(args):
    """Distributors under review (the nightly pass's distributor-level signals): their new orders are held."""
    stmt = select(DistributorWatch).where(DistributorWatch.under_review.is_(True)).order_by(
        DistributorWatch.score.desc(), DistributorWatch.user_id)
    return paginate(stmt, args["page"], args["per_page"], watch_view)


@blp.post("/risk/distributors/<int:user_id>/clear")
@admin_required("operator")
@errors("DISTRIBUTOR_NOT_UNDER_REVIEW")
@blp.response(200, schemas.WatchSchema)
def clear_watch(user_id):
    """Take a distributor off review: their new orders go on as usual (held ones stay in the queue)."""
    watch = review_pass.clear(user_id)
    if watch is None:
        raise ApiError("DISTRIBUTOR_NOT_UNDER_REVIEW", f"User {user_id} is not under review")
    return watch_view(watch)


def watch_view(watch: DistributorWatch) -> dict:
    return {"user_id": watch.user_id, "under_review": watch.under_review, "score": watch.score,
            "signals": watch.signals, "evidence": watch.evidence}

"""Operators: target plans, the bonuses of a month, closing a month by hand."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.auth.models import User
from backend.commission.outbox import enqueue_credit_after_commit
from backend.errors import ApiError
from backend.extensions import db
from backend.leaderboard.periods import valid_key
from backend.levels.service import closed_period
from backend.schemas import page_of
from backend.targets import closing, plans, schemas
from backend.targets.models import TargetBonus, TargetClose
from backend.timeutil import utcnow
from backend.transactions import run_in_transaction

blp = Blueprint("admin_targets", __name__, url_prefix="/api/v1/admin", description="Monthly targets (admin)")

PLAN_ERRORS = ("MALFORMED_JSON", "TARGET_PLAN_EXISTS", "TARGET_SCOPE_INVALID", "TARGET_TIERS_INVALID",
               "LEVEL_NOT_FOUND", "USER_NOT_A_DISTRIBUTOR")


@blp.get("/target-plans")
@admin_required("operator")
@blp.response(200, schemas.PlanList)
def list_plans():
    items = [plans.plan_view(p) for p in plans.list_plans()]
    return page_of(items, 1, max(len(items), 1), len(items))


@blp.post("/target-plans")
@admin_required()
@errors(*PLAN_ERRORS)
@blp.arguments(schemas.PlanCreateArgs)
@blp.response(201, schemas.PlanSchema)
def create_plan(args):
    """A level's or a distributor's monthly target with its tiers (the highest tier
    reached sets the rate on the whole month's GMV)."""
    return plans.plan_view(plans.create_plan(args))


@blp.patch("/target-plans/<int:plan_id>")
@admin_required()
@errors("TARGET_PLAN_NOT_FOUND", *PLAN_ERRORS)
@blp.arguments(schemas.PlanUpdateArgs)
@blp.response(200, schemas.PlanSchema)
def update_plan(args, plan_id):
    """Applies to months not closed yet; closed months keep what they paid."""
    return plans.plan_view(plans.update_plan(plan_id, args))


@blp.get("/target-bonuses")
@admin_required("operator", "finance")
@blp.arguments(schemas.BonusArgs, location="query")
@blp.response(200, schemas.BonusList)
def list_bonuses(args):
    """The bonuses a closed month paid, largest first, with the figures behind each."""
    args["period"] = args.get("period") or closed_period(utcnow())
    where = TargetBonus.period_key == args["period"]
    total = db.session.scalar(select(func.count()).select_from(TargetBonus).where(where))
    rows = db.session.execute(
        select(TargetBonus, User.nickname).join(User, User.id == TargetBonus.user_id).where(where)
        .order_by(TargetBonus.bonus_fen.desc(), TargetBonus.id)
        .limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"]))
    items = [{**{c: getattr(b, c) for c in ("id", "user_id", "period_key", "plan_id", "target_fen", "achieved_fen",
                                            "attainment_bp", "bonus_bp", "bonus_fen", "reversed_fen", "payout_id",
                                            "created_at")}, "nickname": nickname} for b, nickname in rows]
    close = db.session.get(TargetClose, args["period"])
    return {**page_of(items, args["page"], args["per_page"], total),
            "closed": bool(close and close.status == "closed"), "closed_bonus_fen": close.bonus_fen if close else 0}


@blp.post("/target-periods/<period>/close")
@admin_required()
@errors("TARGET_PERIOD_NOT_DUE", "VALIDATION_ERROR")
@blp.response(200, schemas.CloseSchema)
def close_period(period):
    """Close a month now (once it is due): idempotent, a second close pays nothing."""
    if not valid_key("month", period):
        raise ApiError("VALIDATION_ERROR", f"{period} is not a month (YYYY-MM)")
    # Racing closes insert the month's row at once; on MySQL/MariaDB the losers' shared
    # locks on the duplicate then deadlock on the row lock: the victim runs again, and
    # finds the month closed.
    result = run_in_transaction(lambda: closing.close(period))
    if result["payout_ids"]:
        enqueue_credit_after_commit()
    return result

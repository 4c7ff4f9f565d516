"""Target plans: written by operators, resolved per distributor and month."""

from __future__ import annotations

from sqlalchemy import select

from backend.admin import audit
from backend.auth.models import User
from backend.errors import ApiError
from backend.extensions import db
from backend.leaderboard.periods import valid_key
from backend.levels.models import DistributorLevel
from backend.targets.models import TargetPlan

PLAN_FIELDS = ("level_id", "user_id", "period_key", "target_fen", "tiers", "active")


def plan_view(plan: TargetPlan) -> dict:
    return {"id": plan.id, **{name: getattr(plan, name) for name in PLAN_FIELDS},
            "scope": "level" if plan.level_id is not None else "distributor",
            "created_at": plan.created_at, "updated_at": plan.updated_at}


def _check(values: dict, plan_id: int | None = None) -> None:
    if (values.get("level_id") is None) == (values.get("user_id") is None):
        raise ApiError("TARGET_SCOPE_INVALID", "a plan is for one level (level_id) or one distributor (user_id)")
    if values.get("period_key") is not None and not valid_key("month", values["period_key"]):
        raise ApiError("VALIDATION_ERROR", f"{values['period_key']} is not a month (YYYY-MM)",
                       details={"field": "period_key"})
    tiers = values["tiers"]
    steps = [t["attainment_bp"] for t in tiers]
    rates = [t["bonus_bp"] for t in tiers]
    if not tiers or steps != sorted(set(steps)) or rates != sorted(rates) or len(set(rates)) != len(rates):
        raise ApiError("TARGET_TIERS_INVALID", "tiers need strictly increasing attainment and bonus rates",
                       details={"tiers": tiers})
    if values.get("level_id") is not None and db.session.get(DistributorLevel, values["level_id"]) is None:
        raise ApiError("LEVEL_NOT_FOUND", f"Level {values['level_id']} does not exist")
    if values.get("user_id") is not None:
        user = db.session.get(User, values["user_id"])
        if user is None or not user.is_distributor:
            raise ApiError("USER_NOT_A_DISTRIBUTOR", f"User {values['user_id']} is not a distributor")
    clash = db.session.scalar(select(TargetPlan.id).where(
        TargetPlan.level_id.is_(None) if values.get("level_id") is None else TargetPlan.level_id == values["level_id"],
        TargetPlan.user_id.is_(None) if values.get("user_id") is None else TargetPlan.user_id == values["user_id"],
        TargetPlan.period_key.is_(None) if values.get("period_key") is None
        else TargetPlan.period_key == values["period_key"],
        TargetPlan.id != (plan_id or 0)))
    if clash is not None:
        raise ApiError("TARGET_PLAN_EXISTS", "a plan for this scope and month exists", details={"plan_id": clash})


def create_plan(args: dict) -> TargetPlan:
    values = {"level_id": None, "user_id": None, "period_key": None, "active": True, **args}
    _check(values)
    plan = TargetPlan(**{name: values[name] for name in PLAN_FIELDS})
    db.session.add(plan)
    db.session.flush()
    audit.set_target("target_plan", plan.id)
    audit.record_change("target_plan", plan.id, {}, {name: values[name] for name in PLAN_FIELDS})
    return plan


def update_plan(plan_id: int, changes: dict) -> TargetPlan:
    """Change a plan; a month already closed keeps the bonuses it paid."""
    plan = db.session.get(TargetPlan, plan_id, with_for_update=True)
    if plan is None:
        raise ApiError("TARGET_PLAN_NOT_FOUND", f"Target plan {plan_id} does not exist")
    before = {name: getattr(plan, name) for name in PLAN_FIELDS}
    after = {**before, **{k: v for k, v in changes.items() if k in ("target_fen", "tiers", "active")}}
    _check(after, plan.id)
    for name, value in after.items():
        setattr(plan, name, value)
    db.session.flush()
    audit.record_change("target_plan", plan.id, *audit.changed(before, after))
    return plan


def list_plans() -> list[TargetPlan]:
    return list(db.session.scalars(select(TargetPlan).order_by(TargetPlan.id)))


def resolve(period_key: str, users: list[tuple[int, int | None]]) -> dict[int, TargetPlan]:
    """{user_id: plan} for (user_id, level_id) pairs: the distributor's plan for the
    month, theirs for every month, their level's for the month, their level's for every
    month — the first that exists and is active."""
    plans = list(db.session.scalars(select(TargetPlan).where(
        TargetPlan.active.is_(True), (TargetPlan.period_key == period_key) | TargetPlan.period_key.is_(None))))
    by_user = {(p.user_id, p.period_key): p for p in plans if p.user_id is not None}
    by_level = {(p.level_id, p.period_key): p for p in plans if p.level_id is not None}
    out = {}
    for user_id, level_id in users:
        plan = (by_user.get((user_id, period_key)) or by_user.get((user_id, None))
                or by_level.get((level_id, period_key)) or by_level.get((level_id, None)))
        if plan is not None:
            out[user_id] = plan
    return out

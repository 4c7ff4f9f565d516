"""Operators: finding users, one user's page (team, commissions, withdrawals, bind
history), rejecting an application, a distributor's own rates."""

from __future__ import annotations

from backend.apidoc import Blueprint, errors, get_or_404
from backend.auth.guards import admin_required
from backend.auth.models import User
from backend.commission import listing
from backend.commission import schemas as commission_schemas
from backend.referral import schemas, user_search
from backend.referral import service as referral
from backend.referral.team import team_page
from backend.schemas import PageArgs

blp = Blueprint("admin_users", __name__, url_prefix="/api/v1/admin", description="Users and distributors (admin)")


def _user(user_id: int) -> User:
    return get_or_404(User, user_id)  # NOT_FOUND: User's code, fixed by the API contract


@blp.get("/users")
@admin_required("operator")
@blp.arguments(schemas.UserListArgs, location="query")
@blp.response(200, schemas.UserListPage)
def list_users(args):
    """Newest first. Filters combine (AND); see docs/admin-users.md for ``q`` and ``total``."""
    return user_search.search(args, args["page"], args["per_page"])


@blp.get("/users/<int:user_id>")
@admin_required("operator")
@errors("NOT_FOUND")
@blp.response(200, schemas.UserDetail)
def user_detail(user_id):
    return user_search.detail(_user(user_id))


@blp.get("/users/<int:user_id>/team")
@admin_required("operator")
@errors("NOT_FOUND")
@blp.arguments(schemas.TeamArgs, location="query")
@blp.response(200, schemas.TeamPage)
def user_team(args, user_id):
    """The user's team as their mini-program shows it (GET /me/team)."""
    user = _user(user_id)
    return team_page(user.id, args["level"], args["page"], args["per_page"],
                     sort=args["sort"], q=(args.get("q") or "").strip() or None, cursor=args.get("cursor"))


@blp.get("/users/<int:user_id>/commissions")
@admin_required("operator")
@errors("NOT_FOUND")
@blp.arguments(commission_schemas.CommissionListArgs, location="query")
@blp.response(200, commission_schemas.CommissionPage)
def user_commissions(args, user_id):
    user = _user(user_id)
    return listing.commissions_page(user.id, args["page"], args["per_page"], status=args.get("status"))


@blp.get("/users/<int:user_id>/withdrawals")
@admin_required("operator")
@errors("NOT_FOUND")
@blp.arguments(PageArgs, location="query")
@blp.response(200, commission_schemas.UserWithdrawalPage)
def user_withdrawals(args, user_id):
    user = _user(user_id)
    return listing.withdrawals_page(user.id, args["page"], args["per_page"])


@blp.get("/users/<int:user_id>/bind-history")
@admin_required("operator")
@errors("NOT_FOUND")
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.BindHistoryPage)
def bind_history(args, user_id):
    user = _user(user_id)
    return user_search.bind_history_page(user.id, args["page"], args["per_page"])


@blp.post("/users/<int:user_id>/reject-distributor")
@admin_required("operator")
@errors("NOT_FOUND", "APPLICATION_NOT_PENDING", "MALFORMED_JSON")
@blp.arguments(schemas.RejectArgs)
@blp.response(200, schemas.UserListItem)
def reject(args, user_id):
    """Turn a pending application down: status back to ``none``, the reason kept."""
    user = _user(user_id)
    referral.reject(user, args["reason"].strip())
    return user_search.user_item(user)


@blp.put("/users/<int:user_id>/rates")
@admin_required("operator")
@errors("NOT_FOUND", "USER_NOT_A_DISTRIBUTOR", "MALFORMED_JSON")
@blp.arguments(schemas.RatesArgs)
@blp.response(200, schemas.RatesResult)
def set_rates(args, user_id):
    """A distributor's own level-1/level-2 rates (null: the global rate), from their next commission on."""
    user = _user(user_id)
    before, after = referral.set_rate_overrides(user, args["level1_bp"], args["level2_bp"])
    return {"user_id": user.id, **after, "before": before, "after": after}

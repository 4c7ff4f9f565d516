"""Operators: a user's place in the tree, approving distributors, moving a user."""

from __future__ import annotations

from flask import g

from backend.admin import audit
from backend.apidoc import Blueprint, errors, get_or_404
from backend.auth.guards import admin_required
from backend.auth.models import User
from backend.auth.schemas import UserSchema, user_view
from backend.referral import schemas
from backend.referral import service as referral
from backend.transactions import run_in_transaction

blp = Blueprint("admin_referral", __name__, url_prefix="/api/v1/admin", description="Referral tree (admin)")


def _user(user_id: int) -> User:
    return get_or_404(User, user_id)  # NOT_FOUND: User's code, fixed by the API contract


@blp.get("/users/<int:user_id>/tree")
@admin_required("operator")
@errors("NOT_FOUND")
@blp.response(200, schemas.TreeSchema)
def tree(user_id):
    user = _user(user_id)
    return {
        "user": user_view(user),
        "ancestors": [user_view(a) for a in referral.ancestors(user.id)],
        "level1": {"count": referral.team_count(user.id, 1)},
        "level2": {"count": referral.team_count(user.id, 2)},
        "depth": user.depth,
        "root_id": user.root_id,
    }


@blp.post("/users/<int:user_id>/approve-distributor")
@admin_required("operator")
@errors("NOT_FOUND", "APPLICATION_NOT_PENDING")
@blp.response(200, UserSchema)
def approve(user_id):
    """Approve a pending application (again for an approved distributor: no change);
    409 APPLICATION_NOT_PENDING for anyone else."""
    user = _user(user_id)
    before = user.distributor_status
    referral.approve(user)
    audit.record_change("user", user.id, {"distributor_status": before},
                        {"distributor_status": user.distributor_status})
    return user_view(user)


@blp.post("/users/<int:user_id>/move")
@admin_required("operator")
@errors("NOT_FOUND", *referral.BIND_ERRORS, "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(schemas.MoveArgs)
@blp.response(200, UserSchema)
def move(args, user_id):
    """Move a user (and their team) under another distributor; ``reason`` is required
    and kept in the bind history."""
    user = _user(user_id)
    audit.record_change("user", user.id, {"inviter_id": user.inviter_id}, None)
    run_in_transaction(lambda: referral.bind(user, args["invite_code"], source="admin", reason=args["reason"],
                                            operator_id=g.admin.id, force=True))
    audit.record_change("user", user.id, None, {"inviter_id": user.inviter_id})
    return user_view(user)

"""Operators: distribution settings and the payouts that need attention."""

from __future__ import annotations

from dataclasses import asdict

from flask import request
from sqlalchemy import select

from backend.apidoc import Blueprint, errors, get_or_404
from backend.auth.guards import admin_required
from backend.auth.models import User
from backend.commission import payouts, schemas, withdrawals
from backend.commission.models import Payout
from backend.commission.service import check_wallet
from backend.commission.settings import get_settings, save_settings
from backend.errors import ApiError
from backend.schemas import paginate

blp = Blueprint("admin_commission", __name__, url_prefix="/api/v1/admin", description="Settings and payouts (admin)")


def _with_etag(settings) -> tuple[dict, int, dict]:
    return asdict(settings), 200, {"ETag": f'"{settings.version}"'}


def _expected_version(args: dict) -> int | None:
    """The version the client read: the body's ``version``, else its If-Match header."""
    if args.get("version") is not None:
        return args["version"]
    tags = [tag.strip() for tag in (request.headers.get("If-Match") or "").split(",") if tag.strip()]
    if not tags or "*" in tags:
        return None
    tag = tags[0].removeprefix("W/").strip('"')
    if len(tags) > 1 or not tag.isdigit():
        raise ApiError("VALIDATION_ERROR", 'If-Match must be one ETag of the settings, e.g. "3"')
    return int(tag)


@blp.get("/settings/distribution")
@admin_required("operator")
@blp.response(200, schemas.SettingsSchema, headers={"ETag": {"description": "the version, quoted",
                                                              "schema": {"type": "string"}}})
def read_settings():
    return _with_etag(get_settings())


@blp.put("/settings/distribution")
@admin_required()
@errors("MALFORMED_JSON", "STALE_SETTINGS")
@blp.arguments(schemas.SettingsSchema)
@blp.response(200, schemas.SettingsSchema)
def write_settings(args):
    """Change the fields given; the others keep their stored values. Optional
    optimistic check: ``version`` in the body or ``If-Match``."""
    return _with_etag(save_settings(args, _expected_version(args)))


@blp.get("/payouts")
@admin_required("operator", "finance")
@blp.arguments(schemas.PayoutListArgs, location="query")
@blp.response(200, schemas.PayoutPage)
def list_payouts(args):
    stmt = select(Payout).order_by(Payout.id.desc())
    for name in ("status", "user_id", "kind"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Payout, name) == args[name])
    return paginate(stmt, args["page"], args["per_page"], payouts.payout_view)


@blp.post("/payouts/<int:payout_id>/retry")
@admin_required("operator")
@errors("PAYOUT_NOT_FOUND", "PAYOUT_NOT_RETRYABLE", "DAILY_LIMIT_EXCEEDED", "INSUFFICIENT_BALANCE")
@blp.response(200, schemas.PayoutSchema)
def retry(payout_id):
    payout = withdrawals.retry_failed(payout_id)  # its transfer job is enqueued once this commits
    return payouts.payout_view(payout)


@blp.get("/users/<int:user_id>/wallet-check")
@admin_required("operator", "finance")
@errors("NOT_FOUND")
@blp.response(200, schemas.WalletCheckSchema)
def wallet_check(user_id):
    """The stored wallet against the ledger's own sums: drift means a bug, never noise."""
    get_or_404(User, user_id)
    drift = check_wallet(user_id)
    return {"user_id": user_id, "ok": not drift,
            "drift": {column: {"stored": stored, "ledger": derived} for column, (stored, derived) in drift.items()}}

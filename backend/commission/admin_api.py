"""Operators: distribution settings and the payouts that need attention."""

from __future__ import annotations

from dataclasses import asdict

from flask import request
from sqlalchemy import select

from backend.apidoc import Blueprint, errors, get_or_404
from backend.auth.guards import admin_required
from backend.auth.models import User
from backend.auth.service import people
from backend.commission import payouts, schemas, waiting, withdrawals
from backend.commission.models import Payout
from backend.commission.service import check_wallet
from backend.commission.settings import get_settings, save_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.schemas import paginate_capped

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
@errors("MALFORMED_JSON", "STALE_SETTINGS", "LEVEL_RATES_OVER_CAP")
@blp.arguments(schemas.SettingsSchema)
@blp.response(200, schemas.SettingsSchema)
def write_settings(args):
    """Change the fields given; the others keep their stored values. Optional
    optimistic check: ``version`` in the body or ``If-Match``."""
    return _with_etag(save_settings(args, _expected_version(args)))


def _admin_payouts(rows: list[Payout]) -> list[dict]:
    holds = waiting.holds_of(rows)
    return [waiting.with_waiting(payouts.payout_view(p), p, holds) for p in rows]


@blp.get("/payouts")
@admin_required("operator", "finance")
@blp.arguments(schemas.PayoutListArgs, location="query")
@blp.response(200, schemas.PayoutPage)
def list_payouts(args):
    """Newest first; each with what it is waiting for (``waiting_for``, ``waiting_for_text``)."""
    where = [getattr(Payout, name) == args[name] for name in ("status", "user_id", "kind")
             if args.get(name) is not None]
    # every commission has its payout: an exact count of them all would cost more than the page
    page = paginate_capped(select(Payout).where(*where).order_by(Payout.id.desc()),
                           select(Payout.id).where(*where), "payouts", args["page"], args["per_page"], lambda p: p)
    return {**page, "items": _admin_payouts(page["items"])}


@blp.post("/payouts/<int:payout_id>/retry")
@admin_required("operator")
@errors("PAYOUT_NOT_FOUND", "PAYOUT_NOT_RETRYABLE", "DAILY_LIMIT_EXCEEDED", "INSUFFICIENT_BALANCE")
@blp.response(200, schemas.AdminPayoutSchema)
def retry(payout_id):
    payout = withdrawals.retry_failed(payout_id)  # its transfer job is enqueued once this commits
    return _admin_payouts([payout])[0]


@blp.post("/payouts/<int:payout_id>/query")
@admin_required("operator", "finance")
@errors("PAYOUT_NOT_FOUND")
@blp.response(200, schemas.AdminPayoutSchema)
def query(payout_id):
    """Ask WeChat now where the transfer stands (the sweeper's own query path; nothing
    is ever sent) and answer the payout as it stands after the answer."""
    get_or_404(Payout, payout_id)
    return _admin_payouts([payouts.query_now(payout_id)])[0]


def _admin_withdrawals(rows: list[Payout]) -> list[dict]:
    names = people(p.user_id for p in rows)
    return [{**view, "user": names.get(p.user_id, {"id": p.user_id, "nickname": None}),
             "failure_reason": p.last_error if p.status == "failed" else None}
            for view, p in zip(_admin_payouts(rows), rows, strict=True)]


def _withdrawal_or_404(withdrawal_id: int) -> Payout:
    payout = db.session.get(Payout, withdrawal_id)
    if payout is None or payout.kind != "withdrawal":
        raise ApiError("WITHDRAWAL_NOT_FOUND", f"Withdrawal {withdrawal_id} does not exist")
    return payout


@blp.get("/withdrawals")
@admin_required("operator", "finance")
@blp.arguments(schemas.WithdrawalListArgs, location="query")
@blp.response(200, schemas.AdminWithdrawalPage)
def list_withdrawals(args):
    """What users asked to withdraw, newest first, with what each is waiting for."""
    where = [Payout.kind == "withdrawal", *(getattr(Payout, name) == args[name] for name in ("status", "user_id")
                                            if args.get(name) is not None)]
    page = paginate_capped(select(Payout).where(*where).order_by(Payout.id.desc()),
                           select(Payout.id).where(*where), "payouts", args["page"], args["per_page"], lambda p: p)
    return {**page, "items": _admin_withdrawals(page["items"])}


@blp.post("/withdrawals/<int:withdrawal_id>/query")
@admin_required("operator", "finance")
@errors("WITHDRAWAL_NOT_FOUND")
@blp.response(200, schemas.AdminWithdrawalSchema)
def query_withdrawal(withdrawal_id):
    """Like the payout query, for a withdrawal."""
    _withdrawal_or_404(withdrawal_id)
    return _admin_withdrawals([payouts.query_now(withdrawal_id)])[0]


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

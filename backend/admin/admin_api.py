"""The cross-domain admin API: who am I, admin accounts, the audit log, the dashboard."""

from __future__ import annotations

from flask import g
from sqlalchemy import or_, select

from backend.admin import dashboard, schemas
from backend.admin import service as accounts
from backend.admin.models import AdminAuditEntry
from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.schemas import PageArgs, paginate

blp = Blueprint("admin_console", __name__, url_prefix="/api/v1/admin",
                description="Admin accounts, the audit log and the dashboard (admin)")


@blp.get("/me")
@admin_required("operator", "finance")
@blp.response(200, schemas.AdminMeSchema)
def me():
    """The signed-in admin: the console shows what the role allows and signs out when
    the token expires."""
    admin = g.admin
    return {"id": admin.id, "username": admin.username, "role": admin.role,
            "token_expires_at": g.admin_token_expires_at}


# ---- accounts (admin only) -------------------------------------------------------

@blp.get("/accounts")
@admin_required()
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.AccountPage)
def list_accounts(args):
    return paginate(accounts.accounts_query(), args["page"], args["per_page"], accounts.account_view)


@blp.post("/accounts")
@admin_required()
@errors("USERNAME_TAKEN")
@blp.arguments(schemas.AccountCreateArgs)
@blp.response(201, schemas.AccountSchema)
def create_account(args):
    return accounts.account_view(accounts.create_account(args["username"], args["password"], args["role"]))


@blp.patch("/accounts/<int:account_id>")
@admin_required()
@errors("ADMIN_USER_NOT_FOUND", "CANNOT_CHANGE_OWN_ACCOUNT", "LAST_ACTIVE_ADMIN")
@blp.arguments(schemas.AccountUpdateArgs)
@blp.response(200, schemas.AccountSchema)
def update_account(args, account_id):
    """``active`` and / or ``role``. Nobody disables or demotes themself, and the last
    active admin stays one. A disabled account's tokens stop working at once."""
    return accounts.account_view(accounts.update_account(g.admin, account_id, args.get("active"), args.get("role")))


@blp.post("/accounts/<int:account_id>/password")
@admin_required()
@errors("ADMIN_USER_NOT_FOUND")
@blp.arguments(schemas.PasswordArgs)
@blp.response(200, schemas.AccountSchema)
def set_password(args, account_id):
    return accounts.account_view(accounts.set_password(account_id, args["password"]))


# ---- the audit log ---------------------------------------------------------------

@blp.get("/audit")
@admin_required("operator")
@blp.arguments(schemas.AuditListArgs, location="query")
@blp.response(200, schemas.AuditPage)
def list_audit(args):
    """Admin mutations, newest first. Operators may read it too; nobody can change it."""
    stmt = select(AdminAuditEntry).order_by(AdminAuditEntry.created_at.desc(), AdminAuditEntry.id.desc())
    for name in ("admin_id", "action", "target_type", "target_id"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(AdminAuditEntry, name) == args[name])
    if args.get("from_") is not None:
        stmt = stmt.where(AdminAuditEntry.created_at >= args["from_"])
    if args.get("to") is not None:
        stmt = stmt.where(AdminAuditEntry.created_at < args["to"])
    if args.get("q"):
        escaped = args["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        stmt = stmt.where(or_(*(column.like(like, escape="\\") for column in (
            AdminAuditEntry.path, AdminAuditEntry.action, AdminAuditEntry.admin_username,
            AdminAuditEntry.target_id))))
    return paginate(stmt, args["page"], args["per_page"], _entry_view)


def _entry_view(entry: AdminAuditEntry) -> dict:
    return {c.key: getattr(entry, c.key) for c in AdminAuditEntry.__table__.columns}


# ---- the dashboard ---------------------------------------------------------------

@blp.get("/dashboard")
@admin_required("operator", "finance")
@blp.response(200, schemas.DashboardSchema)
def read_dashboard():
    """Today (live, from Shanghai midnight), the last 30 days (closed days from the daily
    rollup), payouts needing attention, the top distributors and a daily series."""
    return dashboard.dashboard()

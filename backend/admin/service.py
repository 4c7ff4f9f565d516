"""Admin accounts: who may use the console, with which role. No Flask request in here.

The rules that keep the shop administrable: an admin can neither disable nor demote
themself, and the last active admin cannot be disabled or demoted by anyone.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from backend.admin import audit
from backend.apidoc import get_or_404
from backend.auth import service as auth
from backend.auth.models import AdminUser
from backend.errors import ApiError
from backend.extensions import db

ROLES = ("admin", "operator", "finance")


def account_view(admin: AdminUser) -> dict:
    return {"id": admin.id, "username": admin.username, "role": admin.role, "active": admin.active,
            "created_at": admin.created_at, "last_login_at": admin.last_login_at}


def accounts_query():
    return select(AdminUser).order_by(AdminUser.id)


def create_account(username: str, password: str, role: str) -> AdminUser:
    if db.session.scalar(select(AdminUser.id).where(AdminUser.username == username)) is not None:
        raise ApiError("USERNAME_TAKEN", f"An admin account named {username!r} exists")
    try:
        with db.session.begin_nested():
            admin = auth.create_admin(username, password, role)
    except IntegrityError as exc:  # the same name created at the same moment
        raise ApiError("USERNAME_TAKEN", f"An admin account named {username!r} exists") from exc
    audit.record_change("admin_account", admin.id, {}, {"username": username, "role": role, "active": True})
    return admin


def _other_active_admins(admin_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(AdminUser).where(
        AdminUser.role == "admin", AdminUser.active.is_(True), AdminUser.id != admin_id))


def update_account(actor: AdminUser, account_id: int, active: bool | None, role: str | None) -> AdminUser:
    account = get_or_404(AdminUser, account_id)
    before = {"active": account.active, "role": account.role}
    disabling = active is False and account.active
    demoting = role is not None and role != "admin" and account.role == "admin"
    if account.id == actor.id and (disabling or demoting):
        raise ApiError("CANNOT_CHANGE_OWN_ACCOUNT", "You cannot disable or demote your own account")
    if account.role == "admin" and account.active and (disabling or demoting):
        # lock the admins' rows so two such changes at once cannot leave none
        db.session.execute(select(AdminUser.id).where(AdminUser.role == "admin").with_for_update())
        if _other_active_admins(account.id) == 0:
            raise ApiError("LAST_ACTIVE_ADMIN", "This is the last active admin account")
    if active is not None:
        account.active = active
    if role is not None:
        account.role = role
    db.session.flush()
    audit.record_change("admin_account", account.id,
                        *audit.changed(before, {"active": account.active, "role": account.role}))
    return account


def set_password(account_id: int, password: str) -> AdminUser:
    account = get_or_404(AdminUser, account_id)
    account.password_hash = generate_password_hash(password)
    db.session.flush()
    audit.record_change("admin_account", account.id, None, {"password": "changed"})
    return account

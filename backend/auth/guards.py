"""Request guards: who is calling. Used by every blueprint's views."""

from __future__ import annotations

from functools import wraps

from flask import g, request

from backend.admin import audit
from backend.apidoc import errors
from backend.auth.models import AdminUser, User
from backend.auth.tokens import ADMIN_SALT, USER_SALT, read, read_with_expiry
from backend.errors import ApiError
from backend.extensions import db


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError("UNAUTHORIZED", "Send Authorization: Bearer <token>")
    return token.strip()


def current_user_or_none(req) -> User | None:
    """For pages anyone may read that say more to a signed-in user."""
    if not req.headers.get("Authorization"):
        return None
    payload = read(_bearer(), USER_SALT)
    return db.session.get(User, payload.get("uid"))


def current_user_id_or_none(req) -> int | None:
    """The signed-in user's id from the token alone (no database read), for hot
    public pages that only need to know who is asking."""
    if not req.headers.get("Authorization"):
        return None
    uid = read(_bearer(), USER_SALT).get("uid")
    return int(uid) if uid is not None else None


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        payload = read(_bearer(), USER_SALT)
        user = db.session.get(User, payload.get("uid"))
        if user is None:
            raise ApiError("UNAUTHORIZED", "Unknown user")
        g.user = user
        return view(*args, **kwargs)

    return errors("UNAUTHORIZED", "TOKEN_EXPIRED")(wrapper)


def _is_user_token(token: str) -> bool:
    try:
        read(token, USER_SALT)
    except ApiError:
        return False
    return True


def admin_required(*roles: str):
    """Admins pass everywhere; other roles only where named."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            token = _bearer()
            try:
                payload, g.admin_token_expires_at = read_with_expiry(token, ADMIN_SALT)
            except ApiError as exc:
                if exc.code == "UNAUTHORIZED" and _is_user_token(token):
                    # a customer, known to us, asking for an admin page: not allowed (403);
                    # a token that is nobody's stays 401 (sign in again)
                    raise ApiError("FORBIDDEN", "This needs an admin account") from exc
                raise
            admin = db.session.get(AdminUser, payload.get("aid"))
            if admin is None or not admin.active:
                raise ApiError("UNAUTHORIZED", "This admin account no longer exists or was deactivated")
            if admin.role != "admin" and admin.role not in roles:
                raise ApiError("FORBIDDEN", f"Role {admin.role} may not do this")
            g.admin = admin
            audit.begin(admin)  # a mutating call's audit entry, in the action's transaction
            return view(*args, **kwargs)

        wrapper._fission_admin_guard = roles  # tests/test_admin_audit.py walks the routes for it
        return errors("UNAUTHORIZED", "TOKEN_EXPIRED", "FORBIDDEN")(wrapper)

    return decorator

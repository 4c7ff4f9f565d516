"""Login and the current user."""

from __future__ import annotations

from flask import g

from backend import rate_limits
from backend.apidoc import Blueprint, errors
from backend.auth import lockout, profiles, schemas
from backend.auth import service as auth
from backend.auth.guards import login_required
from backend.auth.schemas import user_view
from backend.errors import ApiError
from backend.extensions import db
from backend.referral import service as referral
from backend.risk import client as risk_client
from backend.risk import service as risk
from backend.transactions import after_commit

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="WeChat login and the current user")


@blp.post("/auth/wechat-login")
@rate_limits.limited("login")
@errors("INVALID_LOGIN_CODE", "WECHAT_UNAVAILABLE", "WECHAT_ERROR", "MALFORMED_JSON")
@blp.arguments(schemas.LoginArgs)
@blp.response(200, schemas.LoginResult)
def wechat_login(args):
    user, _created = auth.wechat_login(args["code"])
    bind_error = None
    device_id, ip = args.get("device_id"), risk_client.client_ip()
    risk.record_client(user.id, device_id, ip)
    if args.get("invite_code") and user.inviter_id is None:
        # An invite code binds on first login; a refusal never blocks the login (a caller
        # out of invite-code tries gets bind_error RATE_LIMITED, and the code is not looked up).
        try:
            with rate_limits.invite_lookup(), db.session.begin_nested():
                referral.bind(user, args["invite_code"], source="login")
            risk.record_bind(user.id, user.inviter_id, ip, device_id)
        except ApiError as exc:
            bind_error = exc.code
    return {"token": auth.user_token(user), "user": user_view(user), "bind_error": bind_error}


@blp.get("/me")
@login_required
@blp.response(200, schemas.UserSchema)
def me():
    return user_view(g.user)


@blp.patch("/me")
@login_required
@blp.arguments(schemas.ProfileArgs)
@blp.response(200, schemas.UserSchema)
def update_me(args):
    auth.update_profile(g.user, args.get("nickname"), args.get("avatar_url"))
    after_commit(profiles.forget, g.user.id)  # the cached profile goes once the change is in
    return user_view(g.user)


admin_blp = Blueprint("admin_auth", __name__, url_prefix="/api/v1/admin", description="Admin login")


@admin_blp.post("/auth/login")
@rate_limits.limited("admin_login")
@errors("INVALID_CREDENTIALS", "MALFORMED_JSON")
@admin_blp.arguments(schemas.AdminLoginArgs)
@admin_blp.response(200, schemas.AdminLoginResult)
def admin_login(args):
    """Sign in. Repeated wrong passwords lock the username out for a while (429, even with
    the right password; docs/operations.md says how to lift it)."""
    lockout.refuse_if_locked(args["username"])
    try:
        admin, token = auth.admin_login(args["username"], args["password"])
    except ApiError as exc:
        if exc.code == "INVALID_CREDENTIALS":
            lockout.note_failure(args["username"])
        raise
    lockout.note_success(args["username"])
    return {"token": token, "role": admin.role, "expires_at": auth.token_expires_at(token)}

"""WeChat login, users and admin accounts. No Flask request object in here."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from backend.auth.models import AdminUser, User
from backend.auth.tokens import ADMIN_SALT, USER_SALT, issue, read_with_expiry
from backend.errors import ApiError
from backend.extensions import db, redis_client, wechat
from backend.timeutil import utcnow
from backend.wechat.gateway import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)
SESSION_KEY_TTL = 3 * 24 * 3600


def get_or_create_user(openid: str, unionid: str | None = None) -> tuple[User, bool]:
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is not None:
        return user, False
    try:
        with db.session.begin_nested():
            user = User(openid=openid, unionid=unionid, nickname="", avatar_url="", depth=0)
            db.session.add(user)
            db.session.flush()
            user.nickname = f"微信用户{user.id}"
    except IntegrityError:
        # the same person logged in twice at once: take the row the other request made
        user = db.session.scalar(select(User).where(User.openid == openid))
        return user, False
    return user, True


def wechat_login(code: str) -> tuple[User, bool]:
    try:
        session = wechat().code_to_session(code)
    except WeChatError as exc:
        raise ApiError("INVALID_LOGIN_CODE", f"WeChat refused the login code: {exc}") from exc
    except WeChatUnavailable as exc:
        raise ApiError("WECHAT_UNAVAILABLE", "WeChat is not reachable, try again") from exc
    user, created = get_or_create_user(session["openid"], session.get("unionid"))
    _remember_session_key(user.id, session.get("session_key"))
    return user, created


def _remember_session_key(user_id: int, session_key: str | None) -> None:
    """Kept server-side for decrypting user data later; losing it only costs a re-login."""
    if not session_key:
        return
    try:
        prefix = current_app.config["FISSION"].queue_prefix
        redis_client().set(f"{prefix}:session_key:{{{user_id}}}", session_key, ex=SESSION_KEY_TTL)
    except Exception:  # Redis down must not stop a login
        log.warning("could not store session_key for user %s", user_id)


def user_token(user: User) -> str:
    return issue({"uid": user.id}, USER_SALT)


def update_profile(user: User, nickname: str | None, avatar_url: str | None) -> User:
    if nickname is not None:
        user.nickname = nickname
    if avatar_url is not None:
        user.avatar_url = avatar_url
    db.session.flush()
    return user


# --- admin accounts -------------------------------------------------------------

def create_admin(username: str, password: str, role: str) -> AdminUser:
    admin = AdminUser(username=username, password_hash=generate_password_hash(password), role=role)
    db.session.add(admin)
    db.session.flush()
    return admin


def ensure_first_admin(username: str, password: str | None) -> str | None:
    """Create the first admin if missing. Returns the password when we generated it."""
    if db.session.scalar(select(AdminUser.id).where(AdminUser.username == username)) is not None:
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    try:
        with db.session.begin_nested():
            create_admin(username, password, "admin")
    except IntegrityError:
        return None
    return generated


def admin_login(username: str, password: str) -> tuple[AdminUser, str]:
    admin = db.session.scalar(select(AdminUser).where(AdminUser.username == username))
    if admin is None or not admin.active or not check_password_hash(admin.password_hash, password):
        log.warning("admin login refused for %r", username[:64])
        raise ApiError("INVALID_CREDENTIALS", "Wrong username or password")
    admin.last_login_at = utcnow()
    db.session.flush()
    return admin, issue({"aid": admin.id, "role": admin.role}, ADMIN_SALT)


def people(user_ids) -> dict[int, dict]:
    """``{id: {"id", "nickname"}}`` of the users named, in one query (operators' lists)."""
    ids = sorted({uid for uid in user_ids if uid is not None})
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.nickname).where(User.id.in_(ids)))
    return {uid: {"id": uid, "nickname": nickname} for uid, nickname in rows}


def token_expires_at(token: str) -> datetime:
    return read_with_expiry(token, ADMIN_SALT)[1]

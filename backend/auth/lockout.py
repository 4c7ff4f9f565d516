"""The admin lock-out: after ``ADMIN_LOCKOUT_FAILURES`` wrong passwords for one username
within ``ADMIN_LOCKOUT_WINDOW_SECONDS``, that username is refused (429 RATE_LIMITED,
Retry-After) for ``ADMIN_LOCKOUT_SECONDS``, from anywhere and even with the right
password, and one audit entry (``admin_auth.login_locked_out``) tells the operators.

Per username, not per address: a guesser moves between addresses, the account does
not (the per-IP limit ``RATE_LIMIT_ADMIN_LOGIN`` covers one address trying many names).
The counts are in Redis next to the other limits; with Redis down nothing is counted
and the password alone decides (a warning is logged). ``flask fission unlock-admin``
lifts a lock. Off with ``RATE_LIMITS_ENABLED=0`` or ``ADMIN_LOCKOUT_FAILURES=0``.
"""

from __future__ import annotations

import logging

from flask import current_app, request
from sqlalchemy import select

from backend import logs, transactions
from backend.admin.models import AdminAuditEntry
from backend.auth.models import AdminUser
from backend.extensions import db, redis_for
from backend.metrics import events
from backend.rate_limits import RateLimited, client_ip, key_prefix, limiter_unavailable
from backend.timeutil import utcnow

log = logging.getLogger(__name__)

LOCKED_OUT_ACTION = "admin_auth.login_locked_out"  # the audit entry's action


def _lock_keys(cfg, username: str) -> tuple[str, str]:
    name = username[:64]
    return f"{key_prefix(cfg)}:admin-failures:{name}", f"{key_prefix(cfg)}:admin-lock:{name}"


def _lockout_on(cfg) -> bool:
    return cfg.rate_limits_enabled and cfg.admin_lockout_failures > 0


def refuse_if_locked(username: str) -> None:
    """Raise ``RateLimited`` while ``username`` is locked out (whatever the password)."""
    cfg = current_app.config["FISSION"]
    if not _lockout_on(cfg):
        return
    try:
        ttl = redis_for(cfg).ttl(_lock_keys(cfg, username)[1])
    except Exception as exc:
        limiter_unavailable(exc)
        return
    if ttl is not None and ttl > 0:
        events.rate_limited("admin_lockout")
        raise RateLimited(f"Too many wrong passwords for this account: locked for {ttl} s more", int(ttl))


def note_failure(username: str) -> None:
    """One more wrong password for ``username``; the one that reaches the limit locks it
    and writes the audit entry, once per lock."""
    cfg = current_app.config["FISSION"]
    if not _lockout_on(cfg):
        return
    failures_key, lock_key = _lock_keys(cfg, username)
    try:
        client = redis_for(cfg)
        pipe = client.pipeline()
        pipe.set(failures_key, 0, ex=cfg.admin_lockout_window_seconds, nx=True)  # the window starts here
        pipe.incr(failures_key)  # INCR keeps the window's expiry
        failures = int(pipe.execute()[1])
        if failures < cfg.admin_lockout_failures:
            return
        # SET NX: of two workers that both saw the limit, one locks and one writes the entry
        locked = client.set(lock_key, failures, ex=cfg.admin_lockout_seconds, nx=True)
        client.delete(failures_key)
    except Exception as exc:
        limiter_unavailable(exc)
        return
    if locked:
        _record_lockout(cfg, username, failures)


def note_success(username: str) -> None:
    cfg = current_app.config["FISSION"]
    if not _lockout_on(cfg):
        return
    try:
        redis_for(cfg).delete(_lock_keys(cfg, username)[0])
    except Exception as exc:
        limiter_unavailable(exc)


def unlock_admin(cfg, username: str) -> bool:
    """Lift ``username``'s lock-out and forget its failures (``flask fission unlock-admin``)."""
    failures_key, lock_key = _lock_keys(cfg, username)
    return bool(redis_for(cfg).delete(lock_key, failures_key))


def _record_lockout(cfg, username: str, failures: int) -> None:
    """The audit entry operators see (GET /admin/audit?action=admin_auth.login_locked_out),
    in a transaction of its own: the failed login's own request rolls back."""
    events.admin_lockout()
    ip = client_ip()
    log.warning("admin login locked out: %r after %s wrong passwords (last from %s), for %s s",
                username[:64], failures, ip, cfg.admin_lockout_seconds)
    try:
        with transactions.unit_of_work("audit: admin login locked out"):
            account = db.session.execute(
                select(AdminUser.id, AdminUser.role).where(AdminUser.username == username)).first()
            db.session.add(AdminAuditEntry(
                admin_id=account.id if account else 0, admin_username=username[:64],
                role=account.role if account else "", action=LOCKED_OUT_ACTION, method=request.method,
                path=request.path[:512], target_type="admin_user", target_id=username[:64],
                after={"failures": failures, "window_seconds": cfg.admin_lockout_window_seconds,
                       "locked_seconds": cfg.admin_lockout_seconds, "client_ip": ip,
                       "known_account": account is not None},
                request_id=(logs.current_request_id.get() or "")[:64] or None, status_code=429,
                created_at=utcnow()))
    except Exception:  # the lock holds either way; the log line above says what happened
        log.exception("could not write the audit entry of the lock-out of %r", username[:64])

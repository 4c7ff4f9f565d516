"""The abuse limits' settings: their names, defaults, and the environment that
overrides them (read by ``config.load_config``; enforced by ``rate_limits``)."""

from __future__ import annotations

import os

# Abuse limits (backend/rate_limits.py), each overridden by RATE_LIMIT_<NAME> in limits'
# notation ("10/minute;100/hour"; "off" turns one off). Per client IP where the name ends
# in _ip or the caller has no account yet (the logins); otherwise per signed-in user, or
# per IP for a caller without a token. Per-IP limits are loose on purpose: mobile
# carriers put many customers behind one address.
RATE_LIMIT_DEFAULTS: dict[str, str] = {
    "login": "60/minute;600/hour",  # POST /auth/wechat-login
    "bind": "10/minute;30/hour",  # POST /referral/bind
    "bind_ip": "60/minute",
    "invite_lookup": "10/hour",  # invite codes that named nobody (bind, a login's or an order's code)
    "invite_lookup_ip": "60/hour",
    "withdrawal": "5/minute;30/day",  # POST /me/withdrawals
    "withdrawal_ip": "30/minute",
    "events": "60/minute",  # POST /events (batches of up to 100 events)
    "events_ip": "300/minute",
    "share_code": "10/minute;200/day",  # GET /me/share-code and /me/share-qr together
    "share_code_ip": "60/minute",
    "admin_login": "20/minute",  # POST /admin/auth/login, per IP (the lock-out is per username)
}


def rate_limits_from_env() -> dict[str, str]:
    return {name: os.environ.get(f"RATE_LIMIT_{name.upper()}", default).strip() or default
            for name, default in RATE_LIMIT_DEFAULTS.items()}

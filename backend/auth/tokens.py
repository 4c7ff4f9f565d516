"""Our own signed, expiring bearer tokens. WeChat's session_key never leaves the server."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from backend.errors import ApiError
from backend.timeutil import as_utc

USER_SALT = "fission.user-token"
ADMIN_SALT = "fission.admin-token"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    """Signs with SECRET_KEY; verifies with it and with every key of SECRET_KEY_FALLBACKS
    (Flask's own setting, built the way Flask builds its session serializer: itsdangerous
    signs with the last key of the list and tries them all, newest first). So a key can be
    rotated without logging everyone out: the old one stays a fallback for a token's
    lifetime (operations.md, "Rotating the signing key"). User and admin tokens alike."""
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=salt)


def issue(payload: dict, salt: str) -> str:
    return _serializer(salt).dumps(payload)


def read(token: str, salt: str) -> dict:
    return read_with_expiry(token, salt)[0]


def read_with_expiry(token: str, salt: str) -> tuple[dict, datetime]:
    """The payload and the moment the token stops working."""
    cfg = current_app.config["FISSION"]
    try:
        payload, issued = _serializer(salt).loads(token, max_age=cfg.token_ttl_seconds, return_timestamp=True)
        return payload, as_utc(issued) + timedelta(seconds=cfg.token_ttl_seconds)
    except SignatureExpired as exc:
        raise ApiError("TOKEN_EXPIRED", "The token has expired; log in again") from exc
    except BadSignature as exc:
        raise ApiError("UNAUTHORIZED", "The token is not valid") from exc

"""Our own signed, expiring bearer tokens. WeChat's session_key never leaves the server."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from backend.errors import ApiError

USER_SALT = "fission.user-token"
ADMIN_SALT = "fission.admin-token"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def issue(payload: dict, salt: str) -> str:
    return _serializer(salt).dumps(payload)


def read(token: str, salt: str) -> dict:
    cfg = current_app.config["FISSION"]
    try:
        return _serializer(salt).loads(token, max_age=cfg.token_ttl_seconds)
    except SignatureExpired as exc:
        raise ApiError("TOKEN_EXPIRED", "The token has expired; log in again") from exc
    except BadSignature as exc:
        raise ApiError("UNAUTHORIZED", "The token is not valid") from exc

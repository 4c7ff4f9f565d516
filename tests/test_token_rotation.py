"""Rotating the signing key (SECRET_KEY_FALLBACKS, Flask's setting): tokens signed with an
old key still verify while it is a fallback; new tokens are signed with SECRET_KEY; a key
not in the list, or a fallback taken away, gives 401. User and admin tokens alike, over
HTTP against the live app, whose config is switched as a rolling deploy would."""

from __future__ import annotations

import secrets

import pytest
import requests
from conftest import ADMIN_PASSWORD
from helpers import login
from itsdangerous import URLSafeTimedSerializer

from backend.auth.tokens import ADMIN_SALT, USER_SALT
from backend.config import load_config


@pytest.fixture
def keys(live, monkeypatch):
    """Set (SECRET_KEY, SECRET_KEY_FALLBACKS) of the running app; restored after the test."""
    config = live.app.config
    monkeypatch.setitem(config, "SECRET_KEY", config["SECRET_KEY"])
    monkeypatch.setitem(config, "SECRET_KEY_FALLBACKS", list(config.get("SECRET_KEY_FALLBACKS") or []))

    def use(key: str, *fallbacks: str) -> None:
        config["SECRET_KEY"] = key
        config["SECRET_KEY_FALLBACKS"] = list(fallbacks)

    return use


def _status(live, path: str, token: str) -> tuple[int, str | None]:
    r = requests.get(live.api(path), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return r.status_code, (r.json().get("error") or {}).get("code") if r.status_code >= 400 else None


def _admin_token(live) -> str:
    r = requests.post(live.api("/admin/auth/login"), json={"username": "admin", "password": ADMIN_PASSWORD},
                      timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["token"]


def test_old_tokens_verify_while_their_key_is_a_fallback_and_not_after(live, keys):
    old, new = live.app.config["SECRET_KEY"], secrets.token_urlsafe(48)
    user = login(live)
    user_old, admin_old = user.token, _admin_token(live)

    keys(new, old)  # the rotation: new key signs, the old one still verifies
    assert _status(live, "/me", user_old) == (200, None)
    assert _status(live, "/admin/me", admin_old) == (200, None)
    user_new, admin_new = login(live).token, _admin_token(live)
    for token, salt in ((user_new, USER_SALT), (admin_new, ADMIN_SALT)):  # signed with the new key
        assert URLSafeTimedSerializer(new, salt=salt).loads(token)
        with pytest.raises(Exception):  # noqa: B017, PT011 - itsdangerous.BadSignature
            URLSafeTimedSerializer(old, salt=salt).loads(token)

    keys(new)  # the old key's tokens have lived their TTL: the fallback goes
    assert _status(live, "/me", user_old) == (401, "UNAUTHORIZED")
    assert _status(live, "/admin/me", admin_old) == (401, "UNAUTHORIZED")
    assert _status(live, "/me", user_new) == (200, None)
    assert _status(live, "/admin/me", admin_new) == (200, None)


def test_a_token_signed_with_a_key_not_in_the_list_is_401(live, keys):
    old = live.app.config["SECRET_KEY"]
    keys(secrets.token_urlsafe(48), old)
    user = login(live)
    stranger = secrets.token_urlsafe(48)
    forged_user = URLSafeTimedSerializer(stranger, salt=USER_SALT).dumps({"uid": user.id})
    forged_admin = URLSafeTimedSerializer(stranger, salt=ADMIN_SALT).dumps({"aid": 1, "role": "admin"})
    assert _status(live, "/me", forged_user) == (401, "UNAUTHORIZED")
    assert _status(live, "/admin/me", forged_admin) == (401, "UNAUTHORIZED")
    # the fallback still verifies what it signed, a stranger's key never
    assert _status(live, "/me", URLSafeTimedSerializer(old, salt=USER_SALT).dumps({"uid": user.id})) == (200, None)


def test_the_fallbacks_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY_FALLBACKS",
                       " older-key-0123456789abcdef0123456789 ,, old-key-0123456789abcdef01234567 ")
    config = load_config()
    assert config.secret_key_fallbacks == ("older-key-0123456789abcdef0123456789", "old-key-0123456789abcdef01234567")
    assert config.flask_mapping()["SECRET_KEY_FALLBACKS"] == list(config.secret_key_fallbacks)
    monkeypatch.delenv("SECRET_KEY_FALLBACKS")
    assert load_config().secret_key_fallbacks == ()


def test_live_mode_refuses_a_short_fallback(monkeypatch):
    import dataclasses

    config = load_config()
    config = dataclasses.replace(config, wechat=dataclasses.replace(config.wechat, sandbox=False),
                                 secret_key=secrets.token_urlsafe(48), secret_key_fallbacks=("short", "x" * 40))
    assert "SECRET_KEY_FALLBACKS key 1 is 5 bytes: at least 32 are needed" in config.live_mode_problems()
    assert not any("key 2" in p for p in config.live_mode_problems())

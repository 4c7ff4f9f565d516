"""Admin accounts: the admin role manages them; nobody locks the shop out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import requests
from conftest import ADMIN_PASSWORD
from helpers import Client, finance_client


def _login(live, username: str, password: str) -> requests.Response:
    return requests.post(live.api("/admin/auth/login"), json={"username": username, "password": password}, timeout=30)


def _new(ops, role: str = "operator", password: str = "a-long-password") -> dict:
    r = ops.post("/admin/accounts", json={"username": f"{role}-{uuid.uuid4().hex[:8]}", "password": password,
                                          "role": role})
    assert r.status_code == 201, r.text
    return r.json()


def test_login_says_when_the_token_expires_and_me_says_who(live, ops):
    r = _login(live, "admin", ADMIN_PASSWORD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "role", "expires_at"} and body["role"] == "admin"
    expires = datetime.fromisoformat(body["expires_at"])
    ttl = live.app.config["FISSION"].token_ttl_seconds
    assert abs((expires - datetime.now(UTC)) - timedelta(seconds=ttl)) < timedelta(seconds=5)
    me = Client(live, body["token"]).get("/admin/me")
    assert me.status_code == 200
    assert me.json() == {"id": me.json()["id"], "username": "admin", "role": "admin",
                         "token_expires_at": body["expires_at"]}
    assert finance_client(live).get("/admin/me").json()["role"] == "finance"


def test_create_list_and_sign_in(live, ops):
    account = _new(ops, "finance")
    assert account["role"] == "finance" and account["active"] is True and account["last_login_at"] is None
    r = ops.post("/admin/accounts", json={"username": account["username"], "password": "another-password",
                                          "role": "operator"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "USERNAME_TAKEN"
    for bad in ({"username": "x", "password": "short", "role": "operator"},
                {"username": "x", "password": "long-enough-pw", "role": "owner"}, {"username": "x"}):
        r = ops.post("/admin/accounts", json=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", bad
    assert _login(live, account["username"], "a-long-password").status_code == 200
    listed = ops.get("/admin/accounts", params={"per_page": 100}).json()
    assert set(listed) == {"items", "page", "per_page", "total"}
    [row] = [a for a in listed["items"] if a["id"] == account["id"]]
    assert row["last_login_at"] is not None
    assert ops.get("/admin/accounts", params={"per_page": 101}).status_code == 422


def test_only_admins_manage_accounts(live, ops):
    for role in ("operator", "finance"):
        client = finance_client(live, role)
        assert client.get("/admin/accounts").status_code == 403
        r = client.post("/admin/accounts", json={"username": f"x{uuid.uuid4().hex[:6]}",
                                                 "password": "a-long-password", "role": "admin"})
        assert r.status_code == 403


def test_a_disabled_account_cannot_sign_in_and_its_token_stops_working(live, ops):
    account = _new(ops)
    token = _login(live, account["username"], "a-long-password").json()["token"]
    client = Client(live, token)
    assert client.get("/admin/me").status_code == 200
    r = ops.patch(f"/admin/accounts/{account['id']}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get("/admin/me").json()["error"]["code"] == "UNAUTHORIZED"  # 401: sign in again
    assert _login(live, account["username"], "a-long-password").status_code == 401
    r = ops.patch(f"/admin/accounts/{account['id']}", json={"active": True, "role": "finance"})
    assert r.json()["active"] is True and r.json()["role"] == "finance"
    assert client.get("/admin/me").json()["role"] == "finance"
    assert ops.patch("/admin/accounts/999999", json={"active": False}).json()["error"]["code"] == \
        "ADMIN_USER_NOT_FOUND"


def test_password_change(live, ops):
    account = _new(ops)
    r = ops.post(f"/admin/accounts/{account['id']}/password", json={"password": "a-new-long-password"})
    assert r.status_code == 200, r.text
    assert _login(live, account["username"], "a-long-password").status_code == 401
    assert _login(live, account["username"], "a-new-long-password").status_code == 200
    assert ops.post(f"/admin/accounts/{account['id']}/password", json={"password": "short"}).status_code == 422
    [entry] = ops.get("/admin/audit", params={"action": "admin_console.set_password",
                                               "target_id": str(account["id"])}).json()["items"]
    assert entry["after"] == {"password": "changed"}  # never the password or its hash


def test_nobody_disables_or_demotes_themself(live, ops):
    """With that rule the last active admin (who is the only one who could act) stays; the
    LAST_ACTIVE_ADMIN check is the backstop for two admins disabling each other at once."""
    me = ops.get("/admin/me").json()
    for change in ({"active": False}, {"role": "operator"}, {"role": "finance", "active": True}):
        r = ops.patch(f"/admin/accounts/{me['id']}", json=change)
        assert r.status_code == 409 and r.json()["error"]["code"] == "CANNOT_CHANGE_OWN_ACCOUNT"
    assert ops.patch(f"/admin/accounts/{me['id']}", json={"role": "admin", "active": True}).status_code == 200
    # another admin may be demoted and disabled by an admin
    other = _new(ops, "admin")
    r = ops.patch(f"/admin/accounts/{other['id']}", json={"role": "operator", "active": False})
    assert r.status_code == 200 and (r.json()["role"], r.json()["active"]) == ("operator", False)
    [entry] = ops.get("/admin/audit", params={"action": "admin_console.update_account",
                                               "target_id": str(other["id"])}).json()["items"]
    assert entry["before"] == {"role": "admin", "active": True}
    assert entry["after"] == {"role": "operator", "active": False}

"""Security headers on every answer, and no-store on every answer to a token."""

from __future__ import annotations

import requests
from helpers import login

from backend.security_headers import API_CSP, CONSOLE_CSP


def test_every_answer_carries_the_security_headers(live, ops):
    user = login(live)
    answers = {
        "public JSON": requests.get(live.api("/products"), timeout=30),
        "an error": requests.get(live.api("/no-such-thing"), timeout=30),
        "a customer's JSON": requests.get(live.api("/me"), headers={"Authorization": f"Bearer {user.token}"},
                                          timeout=30),
        "an admin's JSON": requests.get(live.api("/admin/payouts"), headers={"Authorization": f"Bearer {ops.token}"},
                                        timeout=30),
        "a refused token": requests.get(live.api("/me"), headers={"Authorization": "Bearer nobody"}, timeout=30),
    }
    for name, r in answers.items():
        assert r.headers["X-Content-Type-Options"] == "nosniff", name
        assert r.headers["X-Frame-Options"] == "DENY", name
        assert r.headers["Referrer-Policy"] == "no-referrer", name
        assert r.headers["Content-Security-Policy"] == API_CSP, name
    for name in ("a customer's JSON", "an admin's JSON", "a refused token"):
        assert answers[name].headers["Cache-Control"] == "no-store", name
    assert "no-store" not in answers["public JSON"].headers.get("Cache-Control", "")


def test_the_console_and_the_api_docs_may_load_only_from_this_origin(live):
    page = requests.get(f"{live.url}/admin/", timeout=30)
    if page.status_code == 200:  # built (make console); the bundle's own tests say so otherwise
        assert page.headers["Content-Security-Policy"] == CONSOLE_CSP
    docs = requests.get(live.api("/docs"), timeout=30)
    policy = docs.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy


def test_a_wrong_method_is_the_json_error_with_allow(live):
    r = requests.delete(live.api("/products"), timeout=30)
    assert r.status_code == 405 and r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert set(r.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    r = requests.get(live.api("/payments/wechat/notify"), timeout=30)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]

"""Hostile JSON gets a clear error with a stable code and changes nothing: bodies nested
thousands deep (a 20 KB body used to answer 500 on every JSON route), lone surrogates
and NUL in text (the database driver failed on them: 500, or 502 for a login code)."""

from __future__ import annotations

import pytest
import requests
from helpers import distributor, login

DEEP = "[" * 10_000 + "]" * 10_000


def _post_raw(live, method: str, path: str, body: str, token: str | None = None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, live.api(path), data=body.encode("utf-8"), headers=headers, timeout=30)


@pytest.fixture
def routes(live, admin_token):
    """(method, path, token) of JSON routes of each kind: anonymous, consumer, admin."""
    user = distributor(live)
    return [
        ("POST", "/auth/wechat-login", None),
        ("POST", "/referral/bind", user.token),
        ("POST", "/orders", user.token),
        ("POST", "/me/withdrawals", user.token),
        ("PATCH", "/me", user.token),
        ("POST", "/events", user.token),
        ("POST", "/admin/products", admin_token),
        ("PUT", "/admin/settings/distribution", admin_token),
    ]


def test_a_body_nested_ten_thousand_deep_is_refused_on_every_json_route(live, routes):
    for method, path, token in routes:
        r = _post_raw(live, method, path, DEEP, token)
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
        assert r.json()["error"]["code"] == "JSON_TOO_DEEP", path


def test_nesting_just_past_the_limit_is_refused_and_within_it_reaches_the_schema(live, admin_token):
    from backend.json_input import MAX_DEPTH

    too_deep = '{"title": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}"
    r = _post_raw(live, "POST", "/admin/products", too_deep, admin_token)
    assert r.json()["error"]["code"] == "JSON_TOO_DEEP"
    within = '{"title": ' + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "}"
    r = _post_raw(live, "POST", "/admin/products", within, admin_token)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"  # the schema's own answer: a title is text


@pytest.mark.parametrize("text", ["\\ud800", "abc\\udfff", "nul\\u0000here"])
def test_text_that_is_not_unicode_characters_is_refused_and_nothing_changes(live, admin_token, text):
    r = _post_raw(live, "POST", "/admin/products", f'{{"title": "{text}", "price_fen": 100, "stock": 1}}',
                  admin_token)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "INVALID_TEXT"
    assert not any(text.split("\\")[0] == p["title"] for p in requests.get(live.api("/products?per_page=100"),
                                                                            timeout=30).json()["items"])

    user = login(live)
    r = _post_raw(live, "PATCH", "/me", f'{{"nickname": "{text}"}}', user.token)
    assert r.json()["error"]["code"] == "INVALID_TEXT"
    assert user.get("/me").json()["nickname"] == user.user["nickname"]

    r = _post_raw(live, "POST", "/auth/wechat-login", f'{{"code": "{text}"}}')
    assert r.status_code == 422  # not 502 WECHAT_UNAVAILABLE: WeChat was never asked
    assert r.json()["error"]["code"] == "INVALID_TEXT"

    r = _post_raw(live, "POST", "/referral/bind", f'{{"invite_code": "{text}"}}', user.token)
    assert r.json()["error"]["code"] == "INVALID_TEXT"


def test_a_surrogate_in_a_key_is_refused_too(live, admin_token):
    r = _post_raw(live, "POST", "/admin/products", '{"\\ud800": 1, "title": "x", "price_fen": 1, "stock": 1}',
                  admin_token)
    assert r.json()["error"]["code"] == "INVALID_TEXT"


# NUL outside a JSON body: PostgreSQL refused it in a search and a path (500s found by
# tests/test_fuzz_openapi.py). A query string or form field is a VALIDATION_ERROR, a path
# segment matches no route.

@pytest.mark.parametrize("path", ["/me/team", "/products"])
def test_nul_in_a_query_string_is_a_validation_error(live, path):
    user = distributor(live)
    r = requests.get(live.api(path), params={"q": "a\x00b"}, headers={"Authorization": f"Bearer {user.token}"},
                     timeout=30)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert r.json()["error"]["details"] == {"query": {"q": ["Text may not contain NUL (\\u0000)."]}}
    r = requests.get(live.api(path), params={"q": "ab"}, headers={"Authorization": f"Bearer {user.token}"},
                     timeout=30)
    assert r.status_code == 200, r.text


def test_nul_in_a_form_field_is_a_validation_error(live, admin_token):
    r = requests.post(live.api("/admin/reconciliation/suppliers/1/price-lists"),
                      data={"effective_date": "2026-01-01", "currency": "C\x00Y"},
                      files={"file": ("p.csv", b"part_no,brand,unit_price\n")},
                      headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text


def test_nul_in_a_path_segment_matches_no_route(live):
    r = requests.get(live.api("/group-qr/abc%00def"), timeout=30)
    assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND", r.text
    r = requests.get(live.api("/group-qr/abcdef"), timeout=30)
    assert r.status_code == 404 and r.json()["error"]["code"] == "GROUP_NOT_FOUND", r.text

"""Every integer the API reads is bounded: numbers past the bound are refused with 422
(or name nothing, 404, for a path id), never passed on to the database to fail there.

The rule is held by the OpenAPI document itself (every integer a request may carry
documents its maximum, or is one of a few values), and tried on real endpoints."""

from __future__ import annotations

import pytest
from helpers import login

from backend.schemas import MAX_PAGE

HUGE = 2**64


def _integers(spec: dict):
    """(where, schema) of every integer a request can carry: query and path parameters
    and request-body properties, nested objects and arrays included."""
    schemas = spec.get("components", {}).get("schemas", {})

    def resolve(s):
        return schemas[s["$ref"].rsplit("/", 1)[-1]] if "$ref" in s else s

    def walk(s, where, seen):
        s = resolve(s)
        if id(s) in seen:
            return
        seen.add(id(s))
        kind = s.get("type")
        integer = kind == "integer" or (isinstance(kind, list) and "integer" in kind)
        if integer and not s.get("readOnly"):
            yield where, s
        for name, sub in s.get("properties", {}).items():
            yield from walk(sub, f"{where}.{name}", seen)
        if "items" in s:
            yield from walk(s["items"], f"{where}[]", seen)

    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            for param in op.get("parameters", []):
                where = f"{method.upper()} {path} {param['in']} {param['name']}"
                yield from walk(param.get("schema", {}), where, set())
            for media in op.get("requestBody", {}).get("content", {}).values():
                yield from walk(media.get("schema", {}), f"{method.upper()} {path} body", set())


def test_every_integer_a_request_carries_is_bounded_in_the_document(live):
    import requests

    spec = requests.get(live.api("/openapi.json"), timeout=30).json()
    found = list(_integers(spec))
    assert len(found) > 50  # the walk reaches parameters and bodies
    unbounded = [where for where, s in found if "maximum" not in s and "enum" not in s]
    assert unbounded == []


def test_page_numbers_past_the_bound_are_refused(live, ops):
    user = login(live)
    lists = [(ops, "/admin/payouts"), (ops, "/admin/users"), (ops, "/admin/orders"), (ops, "/admin/audit"),
             (ops, "/admin/reconciliation/parts"), (user, "/me/commissions"), (user, "/me/team"),
             (user, "/products")]
    for client, path in lists:
        for page in (HUGE, MAX_PAGE + 1):
            r = client.get(path, params={"page": page})
            assert r.status_code == 422, (path, page, r.text)
            assert r.json()["error"]["code"] == "VALIDATION_ERROR"
        r = client.get(path, params={"page": MAX_PAGE})
        assert r.status_code == 200 and r.json()["items"] == [], (path, r.text)


def test_huge_ids_and_bad_periods_are_refused_not_failed(live, ops):
    assert ops.get(f"/admin/users/{HUGE}").status_code == 404
    assert ops.get(f"/admin/orders/{HUGE}").json()["error"]["code"] == "NOT_FOUND"
    assert ops.get("/admin/audit", params={"admin_id": HUGE}).status_code == 422
    r = ops.post("/admin/reconciliation/statement-runs", json={"side": "payable", "cycle": "monthly",
                                                              "month": "0000-01"})
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(("path", "names"), [("/admin/users", ("joined_from", "joined_to")),
                                             ("/admin/orders", ("paid_from", "paid_to"))])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1899-12-31", "9001-01-01"])
def test_a_filter_day_off_the_utc_calendar_is_refused_not_failed(live, ops, path, names, day):
    # 0001-01-01 in Shanghai is before year 1 in UTC: a 500 on the user list (found by
    # tests/test_fuzz_openapi.py); the orders' paid days had the same bounds.
    for name in names:
        r = ops.get(path, params={name: day})
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", (name, r.text)
    r = ops.get(path, params={names[0]: "1900-01-01", names[1]: "9000-12-31"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_an_aging_day_off_the_utc_calendar_is_refused_not_failed(live, ops, day):
    r = ops.get("/admin/reconciliation/aging", params={"side": "payable", "as_of": day})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text

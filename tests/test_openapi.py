"""The OpenAPI document is complete: the console's typed client is generated from it.

Every operation documents its success body and the error codes it can return; the
suite as a whole also checks (conftest ``pytest_sessionfinish``) that every error a
test met was one its operation lists, and that no time in a response lacks its offset.
"""

from __future__ import annotations

from openapi_check import documented_codes, openapi

METHODS = ("get", "post", "put", "patch", "delete")


def _operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_every_operation_documents_its_success_body(live):
    missing = []
    for path, method, op in _operations(openapi(live.app)):
        ok = {s: r for s, r in op["responses"].items() if s.isdigit() and 200 <= int(s) < 300}
        if not ok or not all(s == "204" or (r.get("content") and all(
                c.get("schema") for c in r["content"].values())) for s, r in ok.items()):
            missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_every_operation_lists_its_error_codes(live):
    missing = []
    for path, method, op in _operations(openapi(live.app)):
        codes = documented_codes(op)
        if not any(codes.values()):
            missing.append(f"{method.upper()} {path}: no error code")
        elif "{" in path and 404 not in codes:
            missing.append(f"{method.upper()} {path}: a path id but no 404 code")
    assert missing == []

"""Reading the app's OpenAPI document: which operations list which error codes."""

from __future__ import annotations

import re


def openapi(app) -> dict:
    with app.test_client() as client:
        return client.get("/api/v1/openapi.json").get_json()


def doc_path(rule: str) -> str:
    """``/api/v1/orders/<int:order_id>`` → ``/api/v1/orders/{order_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def documented_codes(operation: dict) -> dict[int, set[str]]:
    codes: dict[int, set[str]] = {}
    for status, response in operation.get("responses", {}).items():
        if not status.isdigit() or int(status) < 400:
            continue
        found: set[str] = set()
        if "$ref" in response:  # flask-smorest's own 422 of ``arguments``
            found.add("VALIDATION_ERROR")
        for content in (response.get("content") or {}).values():
            schema = content.get("schema") or {}
            enum = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {}).get("enum")
            found.update(enum or ())
        codes[int(status)] = found
    return codes


def undocumented_errors(app, seen) -> list[tuple]:
    """The (rule, method, status, code) seen that the document does not list."""
    doc = openapi(app)
    missing = []
    for rule, method, status, code in sorted(seen):
        operation = doc["paths"].get(doc_path(rule), {}).get(method.lower())
        if operation is None:  # not part of the OpenAPI surface (WeChat callbacks, health)
            continue
        if code not in documented_codes(operation).get(status, set()):
            missing.append((method, rule, status, code))
    return missing

"""What the OpenAPI document says about errors, and the one way to look rows up.

``errors("ORDER_NOT_FOUND", "ORDER_NOT_PAYABLE")`` under a route lists the codes the
operation can return, grouped by their HTTP status (``backend.errors.ERROR_CODES``),
each status documented with the one error shape and an ``enum`` of its codes. The
auth guards add their own codes; ``blp.arguments`` adds ``VALIDATION_ERROR``.

``get_or_404(Model, id)`` answers 404 with the model's not-found code. The naming rule
for not-found codes: ``{THING}_NOT_FOUND``, where THING is the model's name in upper
snake case (``PurchaseOrder`` → ``PURCHASE_ORDER_NOT_FOUND``); a model can name another
thing with ``__not_found_code__`` (``User`` → ``USER_NOT_FOUND``, kept as ``NOT_FOUND``
where API.md already fixed it).
"""

from __future__ import annotations

import re
from copy import deepcopy

import flask_smorest
import marshmallow

from backend.errors import ERROR_CODES, ApiError
from backend.extensions import db
from backend.json_input import FissionParser


class Blueprint(flask_smorest.Blueprint):
    """The blueprint of every API route: flask-smorest's, whose argument parser refuses
    hostile JSON (too deep, lone surrogates, NUL) before a view sees it
    (``backend.json_input``). tests/test_layout.py keeps every module on this one."""

    ARGUMENTS_PARSER = FissionParser()

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        # A path parameter the router cannot match (an id past the 32-bit column, a
        # negative or non-numeric one) is answered by Flask's own 404, whose code is
        # NOT_FOUND: the operation can return it as well as its own not-found code.
        if "<" in rule and view_func is not None and not isinstance(view_func, type):
            errors("NOT_FOUND")(view_func)
        return super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)


def init_spec(api) -> None:
    """Teach the document (rebuilt by each ``api.init_app``) what flask-smorest's field
    mapping gets wrong for us; called before any blueprint is registered."""
    api.ma_plugin.converter.add_attribute_function(decimal_as_string)


def decimal_as_string(self, field, **kwargs) -> dict:
    """``fields.Decimal(as_string=True)`` answers "1800.000000", a string: apispec calls
    every Decimal a number, and the console's client would read a number."""
    if isinstance(field, marshmallow.fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    return {}


# A 429 (backend/rate_limits.py) says when to ask again.
_RETRY_AFTER = {"Retry-After": {"description": "Seconds until the limit lets this caller through again",
                                "schema": {"type": "integer", "minimum": 1}}}

# Every operation may answer these: a bug (500), the database cut its connection (503,
# errors.py: a restart or failover; Retry-After).
_ALWAYS = ("INTERNAL_ERROR", "SERVICE_UNAVAILABLE")


def _error_schema(codes: list[str]) -> dict:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": codes},
                "message": {"type": "string"},
                "details": {"description": "field messages or a report, when there is one"},
            },
        }},
    }


def _codes_of_arguments(apidoc: dict) -> list[str]:
    """What ``blp.arguments`` (applied first: it sits below) can answer: a field that
    does not validate, and for a body one too large or not JSON. Its own 422 entry is a
    reference that ours replaces, so VALIDATION_ERROR is listed here."""
    locations = {p["in"] for p in apidoc.get("arguments", {}).get("parameters", [])}
    codes = ["VALIDATION_ERROR"] if locations else []
    if locations & {"json", "form", "files"}:
        codes.append("PAYLOAD_TOO_LARGE")
    if "json" in locations:
        codes += ["MALFORMED_JSON", "JSON_TOO_DEEP", "INVALID_TEXT"]
    return codes


def codes_of(func) -> dict[int, list[str]]:
    """The error codes documented on a view, by status."""
    return deepcopy(getattr(func, "_fission_errors", {}))


def errors(*codes: str):
    """Document the error codes a view can return (stackable, merged per status)."""
    unknown = [c for c in codes if c not in ERROR_CODES]
    if unknown:
        raise ValueError(f"undeclared error codes {unknown}: add them to backend.errors.ERROR_CODES")

    def decorator(func):
        by_status: dict[int, list[str]] = codes_of(func)
        apidoc = deepcopy(getattr(func, "_apidoc", {}))
        for code in (*codes, *_ALWAYS, *_codes_of_arguments(apidoc)):
            listed = by_status.setdefault(ERROR_CODES[code], [])
            if code not in listed:
                listed.append(code)
        func._fission_errors = by_status
        responses = apidoc.setdefault("response", {}).setdefault("responses", {})
        for status, listed in by_status.items():
            responses[status] = [{
                "schema": _error_schema(sorted(listed)),
                "description": "Error codes: " + ", ".join(sorted(listed)),
                "content_type": None,
                **({"headers": _RETRY_AFTER} if status == 429 else {}),
            }]
        func._apidoc = apidoc
        return func

    return decorator


def _snake_upper(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def not_found_code(model) -> str:
    return getattr(model, "__not_found_code__", None) or f"{_snake_upper(model.__name__)}_NOT_FOUND"


def get_or_404(model, ident, *, what: str | None = None):
    """The row of ``model`` with primary key ``ident``, or ``ApiError`` 404 with the
    model's not-found code (see the module docstring for the naming rule)."""
    row = db.session.get(model, ident)
    if row is None:
        label = what or _snake_upper(model.__name__).replace("_", " ").lower()
        raise ApiError(not_found_code(model), f"{label.capitalize()} {ident} does not exist", 404)
    return row

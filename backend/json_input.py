"""JSON bodies as we accept them: nested at most ``MAX_DEPTH`` deep, text made of
Unicode scalar values without NUL.

Python's parser recurses: a body of 10,000 ``[`` (20 KB) ran it out of stack and every
JSON route answered 500. A lone surrogate (``"\\ud800"`` is valid JSON) cannot be
encoded as UTF-8, so the database driver failed on it (500 again), and NUL is refused by
PostgreSQL's text type. Both are refused here, before any view sees the body, for the
parser of every route's arguments (``apidoc.Blueprint``) and for ``request.get_json()``
(``FissionRequest``).
"""

from __future__ import annotations

from flask import Request
from webargs import core
from webargs.flaskparser import FlaskParser

from backend.errors import ApiError

MAX_DEPTH = 32


def check(value) -> None:
    """Refuse a parsed body nested deeper than MAX_DEPTH, or with text (values or keys)
    that is not UTF-8 encodable or holds NUL. Iterative: no recursion on hostile input."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ApiError("JSON_TOO_DEEP", f"The JSON body is nested more than {MAX_DEPTH} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ApiError("INVALID_TEXT", "Text may not contain NUL (\\u0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError("INVALID_TEXT", "Text must be Unicode characters: a lone surrogate "
                       f"(\\u{ord(exc.object[exc.start]):04x}) is not one") from None


class FissionRequest(Request):
    """``request.get_json()`` (the routes that read a body without webargs). Only the
    request: a response may hold any text we stored, and reading it back is not input."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True):
        try:
            value = super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise ApiError("JSON_TOO_DEEP", f"The JSON body is nested more than {MAX_DEPTH} levels deep") from None
        if value is not None:
            check(value)
        return value


class FissionParser(FlaskParser):
    """webargs, for every ``blp.arguments`` body: the same checks."""

    def _raw_load_json(self, req):
        try:
            value = super()._raw_load_json(req)
        except RecursionError:
            raise ApiError("JSON_TOO_DEEP", f"The JSON body is nested more than {MAX_DEPTH} levels deep") from None
        if value is not core.missing:
            check(value)
        return value

    # A query string or form field with NUL reached the database, which PostgreSQL
    # refuses in text (a 500 on the team search; found by tests/test_fuzz_openapi.py).
    # Those locations document VALIDATION_ERROR, not the JSON body's INVALID_TEXT.
    def load_querystring(self, req, schema):
        _no_nul(req.args, "query")
        return super().load_querystring(req, schema)

    def load_form(self, req, schema):
        _no_nul(req.form, "form")
        return super().load_form(req, schema)


def _no_nul(values, location: str) -> None:
    bad = sorted({name for name, value in values.items(multi=True) if "\x00" in name or "\x00" in value})
    if bad:
        raise ApiError("VALIDATION_ERROR", "The request does not match the schema",
                       details={location: {name.replace("\x00", "\\u0000"): ["Text may not contain NUL (\\u0000)."]
                                           for name in bad}})

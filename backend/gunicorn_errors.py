"""gunicorn's own answers in the API's shape: ``{"error": {"code", "message"}}``.

A request gunicorn's parser refuses (a 10 kB token: header field too large, 431; a
request line over the limit, 414; a line it cannot read, 400 …) never reaches the app,
so errors.py cannot shape it: gunicorn writes an HTML page itself, with
``gunicorn.util.write_error``, the one function every worker class (sync, gthread,
the async ones) calls for it (``Worker.handle_error``). gunicorn has no hook there,
so ``install()``, run by wsgi.py in each worker before it serves, puts a JSON writer
in its place: same statuses, stable codes from errors.py, a fixed message (gunicorn's
own repeats parts of the request), the API's security headers, and no server name.
Raising gunicorn's limits instead would hand a megabyte of headers to the app.
"""

from __future__ import annotations

import json
from http import HTTPStatus

import gunicorn.http.wsgi
import gunicorn.util

from backend.security_headers import API_CSP

# gunicorn's statuses (Worker.handle_error) -> (code, message); each code is in errors.ERROR_CODES.
GUNICORN_ERRORS: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "The request could not be read"),
    403: ("FORBIDDEN", "The request is forbidden"),
    414: ("URI_TOO_LONG", "The request line is too long"),
    417: ("EXPECTATION_FAILED", "The request's Expect header cannot be met"),
    431: ("HEADER_TOO_LARGE", "The request's headers are too large"),
    500: ("INTERNAL_ERROR", "Internal server error"),
    501: ("NOT_IMPLEMENTED", "The request's transfer coding is not supported"),
}


def error_bytes(status_int: int) -> bytes:
    """The whole HTTP answer for one of gunicorn's error statuses."""
    code, message = GUNICORN_ERRORS.get(
        status_int, ("INTERNAL_ERROR", "Internal server error") if status_int >= 500
        else ("BAD_REQUEST", "The request could not be read"))
    try:
        phrase = HTTPStatus(status_int).phrase
    except ValueError:
        phrase = "Error"
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (f"HTTP/1.1 {status_int} {phrase}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n"
            "X-Content-Type-Options: nosniff\r\n"
            "X-Frame-Options: DENY\r\n"
            "Referrer-Policy: no-referrer\r\n"
            f"Content-Security-Policy: {API_CSP}\r\n"
            "\r\n")
    return head.encode("latin-1") + body


def write_json_error(sock, status_int, reason, mesg):  # gunicorn.util.write_error's signature
    gunicorn.util.write_nonblock(sock, error_bytes(int(status_int)))


def install() -> None:
    """In the gunicorn worker: JSON error pages, and no ``Server: gunicorn`` on any answer
    (gunicorn writes it itself, after the app, from this module-level name)."""
    gunicorn.util.write_error = write_json_error
    gunicorn.http.wsgi.SERVER = ""

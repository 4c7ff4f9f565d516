"""Security headers on every response, set in one place (an after-request hook: a few
fixed headers do not need a library, and Flask-Talisman's HTTPS redirect is the TLS
proxy's job here).

* Every response: ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``,
  ``Referrer-Policy: no-referrer`` and a Content-Security-Policy. The API's JSON gets
  the strictest one (nothing may load, nothing may frame it); the console's pages
  load only from this origin (Element Plus sets inline styles; Vite's bundle has no
  inline script and no eval); the Swagger UI page needs its one inline start script.
* A request that carried ``Authorization`` is answered ``Cache-Control: no-store``:
  a token's answers (wallets, users, orders) are never kept by a browser or a proxy.
"""

from __future__ import annotations

from flask import Flask, request

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
               "frame-ancestors 'none'; form-action 'self'")
DOCS_CSP = CONSOLE_CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
DOCS_PATH = "/api/v1/docs"


def _policy(path: str) -> str:
    if path == DOCS_PATH or path.startswith(DOCS_PATH + "/"):
        return DOCS_CSP
    if path == "/admin" or path.startswith("/admin/"):
        return CONSOLE_CSP
    return API_CSP


def init_app(app: Flask) -> None:
    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Content-Security-Policy", _policy(request.path))
        if request.headers.get("Authorization"):
            headers["Cache-Control"] = "no-store"
            headers.pop("Expires", None)
        return response

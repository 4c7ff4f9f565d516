"""The built console (console/dist) at /admin/.

A real file of the bundle is sent as it is: hashed asset names never change content,
so they are cached for a year; index.html is never cached, so a new build is picked
up at the next load. Any other path under /admin/ is a route of the single-page app
(history mode) and gets index.html. Without a build, /admin/ says how to make one.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, send_from_directory
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from backend.config import PROJECT_ROOT

blp = Blueprint("console", __name__)

DIST = PROJECT_ROOT / "console" / "dist"
YEAR = 365 * 24 * 3600


def _dist() -> Path:
    return Path(current_app.config.get("CONSOLE_DIST") or DIST)


def _index(dist: Path) -> Response:
    if not (dist / "index.html").is_file():
        return Response("The admin console is not built yet: run `make console` (make run does it).\n",
                        status=503, mimetype="text/plain")
    response = send_from_directory(dist, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.get("/admin")
@blp.get("/admin/")
def index():
    return _index(_dist())


@blp.get("/admin/<path:path>")
def asset_or_route(path: str):
    dist = _dist()
    target = safe_join(str(dist), path)
    if target is not None and Path(target).is_file() and path != "index.html":
        response = send_from_directory(dist, path, max_age=YEAR)
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return response
    if path.startswith("assets/"):
        raise NotFound  # a missing asset is a 404, not the app's page
    return _index(dist)

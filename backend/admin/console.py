"""The built console (console/dist) at /admin/.

A real file of the bundle is sent as it is: hashed asset names never change content,
so they are cached for a year; index.html is never cached, so a new build is picked
up at the next load. Any other path under /admin/ is a route of the single-page app
(history mode) and gets index.html. Without a build, /admin/ says how to make one.

The build is compressed once, after Vite (``python -m backend.admin.console
compress console/dist``, run by ``make console``): each script and stylesheet gets a
``.gz`` beside it, sent to a browser that accepts gzip. Element Plus alone is a
megabyte as it is and a third of that compressed; compressing per request would cost
the server that work at every first load.
"""

from __future__ import annotations

import gzip
import mimetypes
import sys
from pathlib import Path

from flask import Blueprint, Response, current_app, request, send_from_directory
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
        response = _send(dist, path)
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
        return response
    if path.startswith("assets/"):
        raise NotFound  # a missing asset is a 404, not the app's page
    return _index(dist)


def _send(dist: Path, path: str) -> Response:
    if "gzip" in request.accept_encodings and (dist / f"{path}.gz").is_file():
        response = send_from_directory(dist, f"{path}.gz", max_age=YEAR)
        response.headers["Content-Encoding"] = "gzip"
        response.content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    else:
        response = send_from_directory(dist, path, max_age=YEAR)
    response.vary.add("Accept-Encoding")
    return response


COMPRESSED = (".js", ".css", ".svg", ".json", ".map")


def compress(dist: Path) -> int:
    """Write ``<file>.gz`` beside each compressible file of the build (mtime 0, so the
    same build gives the same bytes); the number of files written."""
    written = 0
    for path in dist.rglob("*"):
        if path.suffix in COMPRESSED and path.is_file():
            path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes(), 9, mtime=0))
            written += 1
    return written


if __name__ == "__main__":  # python -m backend.admin.console compress console/dist
    if sys.argv[1:2] != ["compress"] or len(sys.argv) != 3:
        sys.exit("usage: python -m backend.admin.console compress DIST")
    print(f"compressed {compress(Path(sys.argv[2]))} files of {sys.argv[2]}")

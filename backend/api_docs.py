"""Swagger UI for /api/v1/docs from a pinned PyPI package (swagger-ui-bundle), not a CDN:
the API docs work on a machine without internet access, and show the version we test.

flask-smorest renders the page (OPENAPI_SWAGGER_UI_URL points here); this blueprint
serves the package's swagger-ui-bundle.js, swagger-ui-standalone-preset.js and
swagger-ui.css. Not part of the OpenAPI document.
"""

from __future__ import annotations

from flask import Blueprint, send_from_directory

ASSETS_URL = "/api/v1/docs/assets/"
DAY = 24 * 3600

blp = Blueprint("api_docs", __name__)


def _assets_dir() -> str:
    from swagger_ui_bundle import swagger_ui_path

    return str(swagger_ui_path)


@blp.get(f"{ASSETS_URL}<path:filename>")
def asset(filename: str):
    return send_from_directory(_assets_dir(), filename, max_age=DAY)

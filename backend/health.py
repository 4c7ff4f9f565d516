"""GET /api/v1/health: is the database and Redis reachable."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from backend.extensions import db, redis_client

blp = Blueprint("health", __name__, url_prefix="/api/v1")


@blp.get("/health")
def health():
    result = {"status": "ok", "db": "ok", "redis": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:
        result["db"] = f"error: {exc.__class__.__name__}"
    try:
        redis_client().ping()
    except Exception as exc:
        result["redis"] = f"error: {exc.__class__.__name__}"
    failing = [part for part in ("db", "redis") if result[part] != "ok"]
    if failing:
        result["status"] = "unavailable"
        result["failing"] = failing
        return jsonify(result), 503
    return jsonify(result)

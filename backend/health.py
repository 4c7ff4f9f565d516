"""GET /api/v1/health: is the database and Redis reachable. And what a worker
checks of the database's settings as it starts (``database_warnings``)."""

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


def database_warnings() -> list[str]:
    """Server settings the money path depends on, read once by each worker at start."""
    if db.engine.dialect.name != "postgresql":
        return []
    if db.session.scalar(text("SHOW autovacuum")) == "on":
        return []
    return ["PostgreSQL runs with autovacuum off: wallets and payouts are updated on every paid order and "
            "will slow down as dead rows pile up; turn it on or run VACUUM on a schedule (docs/operations.md)"]

"""Operators: is Redis in step with the database, and rebuilding it."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from rq.job import Job

from backend.auth.guards import admin_required
from backend.errors import ApiError
from backend.extensions import redis_client
from backend.leaderboard.jobs_rebuild import check_all, enqueue_rebuild
from backend.leaderboard.periods import METRICS, PERIODS

blp = Blueprint("admin_leaderboards", __name__, url_prefix="/api/v1/admin", description="Leaderboards (admin)")


class DriftArgs(Schema):
    metric = fields.String(validate=validate.OneOf(METRICS))
    period = fields.String(validate=validate.OneOf(PERIODS))


@blp.get("/leaderboards/drift")
@admin_required("operator")
@blp.arguments(DriftArgs, location="query")
def drift(args):
    boards = check_all(args.get("metric"), args.get("period"))
    return {"ok": not boards, "boards": boards}


@blp.post("/leaderboards/rebuild")
@admin_required("operator")
def rebuild():
    return {"job_id": enqueue_rebuild(), "status": "queued"}, 202


@blp.get("/leaderboards/rebuild/<job_id>")
@admin_required("operator")
def rebuild_status(job_id):
    try:
        job = Job.fetch(job_id, connection=redis_client())
    except Exception as exc:
        raise ApiError("NOT_FOUND", f"No rebuild {job_id}") from exc
    return {"job_id": job_id, "status": job.get_status().value, "percent": job.meta.get("percent", 0),
            "steps": job.meta.get("steps", 0), "total_steps": job.meta.get("total_steps"),
            "boards": job.return_value()}

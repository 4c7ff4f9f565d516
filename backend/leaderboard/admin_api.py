"""Operators: is Redis in step with the database, and rebuilding it."""

from __future__ import annotations

from rq.job import Job

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.errors import ApiError
from backend.extensions import redis_client
from backend.leaderboard import schemas
from backend.leaderboard.jobs_rebuild import check_all, enqueue_rebuild

blp = Blueprint("admin_leaderboards", __name__, url_prefix="/api/v1/admin", description="Leaderboards (admin)")


@blp.get("/leaderboards/drift")
@admin_required("operator")
@blp.arguments(schemas.DriftArgs, location="query")
@blp.response(200, schemas.DriftReport)
def drift(args):
    boards = check_all(args.get("metric"), args.get("period"))
    return {"ok": not boards, "boards": boards}


@blp.post("/leaderboards/rebuild")
@admin_required("operator")
@blp.response(202, schemas.RebuildQueued)
def rebuild():
    return {"job_id": enqueue_rebuild(), "status": "queued"}


@blp.get("/leaderboards/rebuild/<job_id>")
@admin_required("operator")
@errors("NOT_FOUND")
@blp.response(200, schemas.RebuildStatus)
def rebuild_status(job_id):
    try:
        job = Job.fetch(job_id, connection=redis_client())
    except Exception as exc:
        raise ApiError("NOT_FOUND", f"No rebuild {job_id}") from exc
    return {"job_id": job_id, "status": job.get_status().value, "percent": job.meta.get("percent", 0),
            "steps": job.meta.get("steps", 0), "total_steps": job.meta.get("total_steps"),
            "boards": job.return_value()}

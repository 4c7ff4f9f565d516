"""Operators: fission analytics (read-only aggregates)."""

from __future__ import annotations

from backend.analytics import schemas
from backend.analytics import service as analytics
from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required

blp = Blueprint("admin_analytics", __name__, url_prefix="/api/v1/admin/analytics",
                description="Fission analytics (admin)")


@blp.get("/depth")
@admin_required("operator")
@errors("NOT_FOUND", "NOT_A_TREE_ROOT", "VALIDATION_ERROR")
@blp.arguments(schemas.DepthArgs, location="query")
@blp.response(200, schemas.DepthResult)
def depth(args):
    """Users per depth of the tree of ``root_id`` (0 = the root), or of every tree."""
    root_id = args.get("root_id")
    analytics.check_root(root_id)
    rows = analytics.depth_distribution(root_id)
    return {"root_id": root_id, "total": sum(r["users"] for r in rows), "depths": rows}


@blp.get("/fission")
@admin_required("operator")
@errors("INVALID_DATE_RANGE", "NOT_FOUND", "NOT_A_TREE_ROOT", "VALIDATION_ERROR")
@blp.arguments(schemas.FissionArgs, location="query")
@blp.response(200, schemas.FissionResult)
def fission(args):
    """The share funnel, participants, new customers, K-factor, reflow, level-2 and
    top-20 % shares for ``[from, to)`` (days in Asia/Shanghai), in total and per day.
    Definitions: ``backend/analytics/service.py``."""
    result = analytics.fission(args["from_"], args["to"], args.get("root_id"))
    result["from_"] = result.pop("from")
    return result

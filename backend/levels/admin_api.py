"""Operators: the distributor levels (list, create, change)."""

from __future__ import annotations

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.levels import schemas, service

blp = Blueprint("admin_levels", __name__, url_prefix="/api/v1/admin",
                description="Distributor levels (admin)")


@blp.get("/distributor-levels")
@admin_required("operator")
@blp.response(200, schemas.LevelList)
def list_levels():
    return {"items": [service.level_view(level) for level in service.all_levels()]}


@blp.post("/distributor-levels")
@admin_required()
@errors("MALFORMED_JSON", "LEVEL_EXISTS", "LEVEL_RATES_OVER_CAP", "HEADCOUNT_FIELD_REFUSED")
@blp.arguments(schemas.LevelCreateArgs)
@blp.response(201, schemas.LevelSchema)
def create_level(args):
    """Conditions are on sales only; the rates apply to commissions from now on."""
    return service.level_view(service.create_level(args))


@blp.patch("/distributor-levels/<int:level_id>")
@admin_required()
@errors("MALFORMED_JSON", "LEVEL_NOT_FOUND", "LEVEL_EXISTS", "LEVEL_RATES_OVER_CAP", "HEADCOUNT_FIELD_REFUSED")
@blp.arguments(schemas.LevelUpdateArgs)
@blp.response(200, schemas.LevelSchema)
def update_level(args, level_id):
    """Change the fields given. Commissions already written keep their rates."""
    return service.level_view(service.update_level(level_id, args))

"""A distributor's own level, with progress to the next one."""

from __future__ import annotations

from flask import g

from backend.apidoc import Blueprint
from backend.auth.guards import login_required
from backend.levels import schemas, service

blp = Blueprint("levels", __name__, url_prefix="/api/v1", description="The distributor's level")


@blp.get("/me/level")
@login_required
@blp.response(200, schemas.MyLevelSchema)
def my_level():
    """Measured now over the next level's window (sales only: own GMV net of refunds,
    paying customers, team GMV)."""
    return service.level_of(g.user)

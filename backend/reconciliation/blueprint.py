"""The blueprint every finance route module registers its routes on, and its guard.

Both route modules (``admin_api``: master data, prices, documents; ``statements_api``:
runs and statements) import it from here, so neither imports the other."""

from __future__ import annotations

from backend.apidoc import Blueprint
from backend.auth.guards import admin_required

blp = Blueprint("admin_reconciliation", __name__, url_prefix="/api/v1/admin", description="Reconciliation (finance)")
finance = admin_required("finance")

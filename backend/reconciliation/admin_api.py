"""Finance: reconciliation endpoints under /api/v1/admin (role ``finance``)."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("admin_reconciliation", __name__, url_prefix="/api/v1/admin", description="Reconciliation (finance)")

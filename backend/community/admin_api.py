"""Operators: WeChat groups, live codes and the group-invite funnel."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("admin_community", __name__, url_prefix="/api/v1/admin", description="Group invites (admin)")

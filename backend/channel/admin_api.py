"""Operators: channel health lists, one distributor's figures, the actions, the settings."""

from __future__ import annotations

from dataclasses import asdict

from flask import g

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.channel import actions, schemas, service
from backend.channel.settings import get_settings, save_settings

blp = Blueprint("admin_channel", __name__, url_prefix="/api/v1/admin", description="Channel health (admin)")


@blp.get("/channel/dormant")
@admin_required("operator")
@blp.arguments(schemas.ChannelListArgs, location="query")
@blp.response(200, schemas.HealthPage)
def dormant(args):
    """Approved distributors with no paid level-1 order in ``dormant_days`` days (the nightly snapshot)."""
    return service.listing("dormant", args["page"], args["per_page"], args["sort"], args["direction"])


@blp.get("/channel/at-risk")
@admin_required("operator")
@blp.arguments(schemas.ChannelListArgs, location="query")
@blp.response(200, schemas.HealthPage)
def at_risk(args):
    """Distributors meeting any at-risk rule (settings); ``reasons`` says which."""
    return service.listing("at_risk", args["page"], args["per_page"], args["sort"], args["direction"])


@blp.get("/channel/distributors/<int:user_id>")
@admin_required("operator")
@errors("NOT_FOUND")
@blp.response(200, schemas.DistributorHealth)
def distributor(user_id):
    return service.figures_of(user_id)


for _action in ("warn", "freeze", "unfreeze", "revoke", "restore"):
    def _view(args, user_id, _action=_action):
        actions.act(user_id, _action, args["reason"], g.admin.id)
        return service.figures_of(user_id)

    _view.__name__ = f"channel_{_action}"
    _view.__doc__ = f"{_action.capitalize()} a distributor, with a reason (kept in the history, audited)."
    blp.post(f"/channel/distributors/<int:user_id>/{_action}")(
        # operators act (they approve distributors too); the settings stay with admins
        admin_required("operator")(errors("MALFORMED_JSON", *actions.ACTION_ERRORS)(
            blp.arguments(schemas.ActionArgs)(blp.response(200, schemas.DistributorHealth)(_view)))))


@blp.get("/settings/channel")
@admin_required("operator")
@blp.response(200, schemas.ChannelSettingsSchema)
def read_settings():
    return asdict(get_settings())


@blp.put("/settings/channel")
@admin_required()
@errors("MALFORMED_JSON")
@blp.arguments(schemas.ChannelSettingsSchema)
@blp.response(200, schemas.ChannelSettingsSchema)
def write_settings(args):
    """Change the fields given; the others keep their stored values."""
    return asdict(save_settings(args))

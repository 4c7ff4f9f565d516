"""Campaign boards: operators create them; anyone reads the standings."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from backend.auth.guards import admin_required, current_user_or_none
from backend.errors import ApiError
from backend.extensions import db
from backend.leaderboard import campaigns, service
from backend.leaderboard.jobs import close_campaign
from backend.leaderboard.models import Campaign, CampaignStanding
from backend.leaderboard.periods import METRICS
from backend.timeutil import iso

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="Campaign boards")
admin_blp = Blueprint("admin_campaigns", __name__, url_prefix="/api/v1/admin", description="Campaigns (admin)")


class PrizeTier(Schema):
    from_rank = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    to_rank = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    amount_fen = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10**9))


class CampaignArgs(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    metric = fields.String(required=True, validate=validate.OneOf(METRICS))
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    prizes = fields.List(fields.Nested(PrizeTier), load_default=list, validate=validate.Length(max=20))


class StandingArgs(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=100))


def campaign_view(c: Campaign) -> dict:
    return {"id": c.id, "name": c.name, "metric": c.metric, "starts_at": iso(c.starts_at), "ends_at": iso(c.ends_at),
            "prizes": c.prizes, "status": c.status, "closed_at": iso(c.closed_at)}


def _campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise ApiError("NOT_FOUND", f"No campaign {campaign_id}")
    return campaign


@admin_blp.post("/campaigns")
@admin_required("operator")
@admin_blp.arguments(CampaignArgs)
def create(args):
    campaign = campaigns.create(args["name"], args["metric"], args["starts_at"], args["ends_at"], args["prizes"])
    db.session.commit()
    return campaign_view(campaign), 201


@admin_blp.post("/campaigns/<int:campaign_id>/close")
@admin_required("operator")
def close(campaign_id):
    _campaign(campaign_id)
    close_campaign(campaign_id)  # the same idempotent job the sweeper enqueues
    return campaign_view(_campaign(campaign_id))


@blp.get("/campaigns/<int:campaign_id>")
@blp.arguments(StandingArgs, location="query")
def read(args, campaign_id):
    campaign = _campaign(campaign_id)
    me = current_user_or_none(request)
    rows = campaigns.standings(campaign, args["limit"])
    users = service.hydrate([uid for _, uid, _, _ in rows])
    prizes = {}
    if campaign.status == "closed":
        prizes = dict(db.session.execute(db.select(CampaignStanding.user_id, CampaignStanding.prize_fen)
                                         .where(CampaignStanding.campaign_id == campaign.id)).all())
    items = [{"rank": rank, "user": users.get(uid), "score": score,
              "prize_fen": prizes.get(uid, campaigns.prize_for(campaign, rank) if score > 0 else 0)}
             for rank, uid, score, _ in rows]
    mine = next((i for i in items if me and i["user"] and i["user"]["id"] == me.id), None)
    return {**campaign_view(campaign), "items": items, "me": mine}

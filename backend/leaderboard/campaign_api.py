"""Campaign boards: operators create them; anyone reads the standings."""

from __future__ import annotations

from flask import request
from sqlalchemy import select

from backend.apidoc import Blueprint, errors, get_or_404
from backend.auth.guards import admin_required, current_user_or_none
from backend.auth.service import people
from backend.extensions import db
from backend.leaderboard import campaigns, schemas, service
from backend.leaderboard.jobs import close_campaign
from backend.leaderboard.models import Campaign, CampaignStanding
from backend.schemas import paginate

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="Campaign boards")
admin_blp = Blueprint("admin_campaigns", __name__, url_prefix="/api/v1/admin", description="Campaigns (admin)")


def campaign_view(c: Campaign) -> dict:
    return {"id": c.id, "name": c.name, "metric": c.metric, "starts_at": c.starts_at, "ends_at": c.ends_at,
            "prizes": c.prizes, "status": c.status, "closed_at": c.closed_at}


@admin_blp.post("/campaigns")
@admin_required("operator")
@errors("VALIDATION_ERROR", "MALFORMED_JSON")
@admin_blp.arguments(schemas.CampaignArgs)
@admin_blp.response(201, schemas.CampaignSchema)
def create(args):
    campaign = campaigns.create(args["name"], args["metric"], args["starts_at"], args["ends_at"], args["prizes"])
    return campaign_view(campaign)


@admin_blp.get("/campaigns")
@admin_required("operator", "finance")
@admin_blp.arguments(schemas.CampaignListArgs, location="query")
@admin_blp.response(200, schemas.AdminCampaignPage)
def list_admin(args):
    """Newest first."""
    stmt = select(Campaign).order_by(Campaign.id.desc())
    if args.get("status"):
        stmt = stmt.where(Campaign.status == args["status"])
    return paginate(stmt, args["page"], args["per_page"], lambda c: {**campaign_view(c), "created_at": c.created_at})


@admin_blp.get("/campaigns/<int:campaign_id>")
@admin_required("operator", "finance")
@errors("NOT_FOUND")
@admin_blp.response(200, schemas.AdminCampaignDetail)
def read_admin(campaign_id):
    """The campaign, its prizes, and what its close paid: who, at which rank, how much."""
    campaign = get_or_404(Campaign, campaign_id)
    awards = campaigns.awards(campaign.id)
    names = people(a["user_id"] for a in awards)
    return {**campaign_view(campaign), "created_at": campaign.created_at,
            "paid_fen": sum(a["amount_fen"] for a in awards),
            "awards": [{**a, "user": names.get(a["user_id"], {"id": a["user_id"], "nickname": None})} for a in awards]}


@admin_blp.post("/campaigns/<int:campaign_id>/close")
@admin_required("operator")
@errors("NOT_FOUND", "CONFLICT")
@admin_blp.response(200, schemas.CampaignSchema)
def close(campaign_id):
    get_or_404(Campaign, campaign_id)
    close_campaign(campaign_id)  # the same idempotent job the sweeper enqueues (it commits)
    return campaign_view(get_or_404(Campaign, campaign_id))


@blp.get("/campaigns/<int:campaign_id>")
@errors("NOT_FOUND")
@blp.arguments(schemas.StandingArgs, location="query")
@blp.response(200, schemas.CampaignStandingsSchema)
def read(args, campaign_id):
    campaign = get_or_404(Campaign, campaign_id)
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

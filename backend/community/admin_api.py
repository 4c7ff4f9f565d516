"""Operators: WeChat groups, live codes and the group-invite funnel."""

from __future__ import annotations

from datetime import timedelta

from flask import Response
from sqlalchemy import select

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.community import funnel, groups, joins, schemas
from backend.community.models import CommunityAlert, CommunityGroup, LiveCode
from backend.extensions import db

blp = Blueprint("admin_community", __name__, url_prefix="/api/v1/admin", description="Group invites (admin)")


@blp.post("/community/live-codes")
@admin_required("operator")
@errors("PRODUCT_NOT_FOUND", "NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.LiveCodeIn)
@blp.response(201, schemas.LiveCodeOut)
def create_live_code(args):
    """A pool of groups with its targeting (product, campaign, distributor; empty = any)."""
    code = groups.create_live_code(args)
    return code


@blp.get("/community/live-codes")
@admin_required("operator")
@blp.response(200, schemas.LiveCodeOut(many=True))
def list_live_codes():
    return list(db.session.scalars(select(LiveCode).order_by(LiveCode.id)))


@blp.post("/community/groups")
@admin_required("operator")
@errors("LIVE_CODE_NOT_FOUND", "INVALID_QR_IMAGE", "VALIDATION_ERROR", "CHAT_ID_TAKEN", "MALFORMED_JSON")
@blp.arguments(schemas.GroupIn)
@blp.response(201, schemas.GroupOut)
def create_group(args):
    """A personal group (QR image, expiry, capacity) or a 企业微信 customer group (chat_id)."""
    group = groups.create_group(args)
    return groups.group_view(group)


@blp.get("/community/groups")
@admin_required("operator")
@blp.response(200, schemas.GroupList)
def list_groups():
    return {"items": [groups.group_view(g) for g in db.session.scalars(select(CommunityGroup)
                                                                        .order_by(CommunityGroup.id))]}


@blp.get("/community/groups/attention")
@admin_required("operator")
@blp.arguments(schemas.AttentionArgs, location="query")
@blp.response(200, schemas.GroupList)
def groups_needing_attention(args):
    """Open groups near capacity (``fill_ratio``) or expiring within ``within_hours``."""
    found = groups.needing_attention(args["fill_ratio"], timedelta(hours=args["within_hours"]))
    return {"items": [groups.group_view(g) for g in found]}


@blp.patch("/community/groups/<int:group_id>")
@admin_required("operator")
@errors("GROUP_NOT_FOUND", "INVALID_QR_IMAGE", "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(schemas.GroupUpdate)
@blp.response(200, schemas.GroupOut)
def update_group(args, group_id):
    """Close or reopen a group, change its capacity, or upload a fresh QR."""
    group = groups.update_group(groups.get_group(group_id), args)
    return groups.group_view(group)


@blp.post("/community/groups/<int:group_id>/members")
@admin_required("operator")
@errors("GROUP_NOT_FOUND", "GROUP_INVITE_NOT_FOUND", "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(schemas.MembersImport)
@blp.response(200, schemas.ImportResult)
def import_members(args, group_id):
    """A personal group's member list: sets its member count; rows naming an order are
    joins of that order's invite (counted once, however often imported)."""
    result = joins.import_members(groups.get_group(group_id), args["members"])
    return result


@blp.post("/community/orders/<int:order_id>/join")
@admin_required("operator")
@errors("GROUP_NOT_FOUND", "GROUP_INVITE_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.ConfirmJoinIn)
@blp.response(200, schemas.ConfirmJoinOut)
def confirm_join(args, order_id):
    """An operator confirms by hand that the buyer of this order joined."""
    group = groups.get_group(args["group_id"]) if args.get("group_id") else None
    recorded = joins.confirm_join(order_id, group, args.get("name"))
    return {"order_id": order_id, "recorded": recorded}


@blp.get("/community/alerts")
@admin_required("operator")
@blp.arguments(schemas.AlertArgs, location="query")
@blp.response(200, schemas.AlertList)
def alerts(args):
    query = select(CommunityAlert).order_by(CommunityAlert.id.desc()).limit(200)
    if args["open"]:
        query = query.where(CommunityAlert.resolved_at.is_(None))
    return {"items": list(db.session.scalars(query))}


@blp.get("/community/funnel")
@admin_required("operator")
@errors("INVALID_DATE_RANGE", "VALIDATION_ERROR")
@blp.arguments(schemas.FunnelArgs, location="query")
@blp.response(200, schemas.FunnelResult)
def funnel_report(args):
    """Paid orders → shown → opened → joined (+ contacts), join rate and time to join, over
    ``[from, to)`` by paid day (Asia/Shanghai), distributor, product or group. Finished
    days' paid orders are frozen into the rollup on the way (the request commits them)."""
    result = funnel.report(args["from_"], args["to"], args["by"])
    result["from_"] = result.pop("from")
    return result


@blp.get("/community/funnel.csv")
@admin_required("operator")
@errors("INVALID_DATE_RANGE", "VALIDATION_ERROR")
@blp.arguments(schemas.FunnelArgs, location="query")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="text/csv",
              description="the same figures as /community/funnel, one line per row and a total")
def funnel_csv(args):
    result = funnel.report(args["from_"], args["to"], args["by"])
    name = f"group-funnel-{args['by']}-{args['from_']}-{args['to']}.csv"
    return Response(funnel.to_csv(result), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})

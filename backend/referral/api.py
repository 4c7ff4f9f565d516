"""Distributor application, binding, team and share codes."""

from __future__ import annotations

import io

import qrcode
from flask import current_app, g, send_file

from backend import rate_limits
from backend.apidoc import Blueprint, errors
from backend.auth.guards import login_required
from backend.errors import ApiError
from backend.extensions import wechat
from backend.referral import schemas
from backend.referral import service as referral
from backend.referral.team import team_page
from backend.transactions import commit_before_remote_call, run_in_transaction
from backend.wechat.gateway import WeChatError, WeChatUnavailable

# A PNG image in the OpenAPI document (the body is the file itself).
PNG = {"type": "string", "format": "binary"}

blp = Blueprint("referral", __name__, url_prefix="/api/v1", description="Distributors, binding and teams")


@blp.post("/distributor/apply")
@login_required
@blp.arguments(schemas.ApplyArgs)
@blp.response(200, schemas.ApplyResult)
def apply(args):
    status = referral.apply(g.user, args.get("real_name"), args.get("phone"))
    return {"status": status}


@blp.post("/referral/bind")
@rate_limits.limited("bind", "bind_ip")
@login_required
@errors(*referral.BIND_ERRORS, "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(schemas.BindArgs)
@blp.response(200, schemas.BindResult)
def bind(args):
    # Binds that cross (x→y while y→z) may deadlock on the rows of the team that moves
    # along; the victim runs again and then sees the winner's bind (a cycle is refused).
    with rate_limits.invite_lookup():  # out of tries, even a real code is refused: a guesser learns nothing
        user = run_in_transaction(lambda: referral.bind(g.user, args["invite_code"], source="bind"))
    return {"bound": True, "inviter_id": user.inviter_id}


@blp.get("/me/team")
@login_required
@blp.arguments(schemas.TeamArgs, location="query")
@blp.response(200, schemas.TeamPage)
def my_team(args):
    return team_page(g.user.id, args["level"], args["page"], args["per_page"],
                     sort=args["sort"], q=(args.get("q") or "").strip() or None, cursor=args.get("cursor"))


def _require_code():
    if not g.user.is_distributor or not g.user.invite_code:
        raise ApiError("NOT_A_DISTRIBUTOR", "Only distributors have a share code")
    return g.user.invite_code


@blp.get("/me/share-code")
@rate_limits.limited("share_code", "share_code_ip")
@login_required
@errors("NOT_A_DISTRIBUTOR", "WECHAT_UNAVAILABLE", "WECHAT_ERROR")
@blp.response(200, PNG, content_type="image/png")
def share_code():
    code = _require_code()
    commit_before_remote_call()
    try:
        png = wechat().wxacode_unlimited(scene=f"i={code}", page="pages/index/index")
    except WeChatUnavailable as exc:
        raise ApiError("WECHAT_UNAVAILABLE", "WeChat is not reachable, try again") from exc
    except WeChatError as exc:
        raise ApiError("WECHAT_ERROR", f"WeChat refused the code: {exc}") from exc
    return send_file(io.BytesIO(png), mimetype="image/png", max_age=3600)


@blp.get("/me/share-qr")
@rate_limits.limited("share_code", "share_code_ip")
@login_required
@errors("NOT_A_DISTRIBUTOR")
@blp.response(200, PNG, content_type="image/png")
def share_qr():
    code = _require_code()
    base = current_app.config["FISSION"].extra.get("share_link_base", "https://shop.example.com/s")
    image = qrcode.make(f"{base}?invite_code={code}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return send_file(buffer, mimetype="image/png", max_age=3600)

"""Share events from the mini-program, in batches. A token is optional."""

from __future__ import annotations

import logging
from functools import wraps

from flask import Response, g, request
from sqlalchemy import select

from backend import rate_limits
from backend.apidoc import Blueprint, errors
from backend.auth.guards import current_user_or_none, login_required
from backend.community import invites, schemas
from backend.community import jobs as community_jobs
from backend.community import service as community
from backend.community.models import CommunityGroup
from backend.errors import ApiError
from backend.extensions import db
from backend.risk import client as risk_client
from backend.risk import service as risk
from backend.transactions import after_commit, commit_before_remote_call, unit_of_work
from backend.wechat.errors import WeChatError, WeChatUnavailable
from backend.wechat.wecom import wecom

log = logging.getLogger(__name__)
blp = Blueprint("community", __name__, url_prefix="/api/v1", description="Share events and group invites")


def login_optional(view):
    """Like login_required, before the body is read: a bad token is 401, never 422;
    no token at all makes an anonymous caller (``g.user`` None)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.user = current_user_or_none(request)
        return view(*args, **kwargs)

    return errors("UNAUTHORIZED", "TOKEN_EXPIRED")(wrapper)


@blp.post("/events")
@rate_limits.limited("events", "events_ip")
@login_optional
@blp.arguments(schemas.EventBatch)
@blp.response(202, schemas.EventsAccepted)
def events(args):
    """Record up to 100 events at once (share, visit, open, save, page_view).

    A batch is stored whole or not at all: one invalid event refuses the batch (422)."""
    accepted = community.record_events(args["events"], g.user.id if g.user else None)
    if g.user is not None and args.get("device_id"):
        risk.record_client(g.user.id, args["device_id"], risk_client.client_ip())
    return {"accepted": accepted}


@blp.get("/orders/<int:order_id>/group-invite")
@login_required
@errors("ORDER_NOT_FOUND", "ORDER_NOT_PAID", "NO_GROUP_AVAILABLE", "WECHAT_UNAVAILABLE", "WECHAT_ERROR")
@blp.response(200, schemas.GroupInviteOut)
def group_invite(order_id):
    """The group to join after paying this order (the buyer's own; others get 404).

    The first call records that the invite was shown; later calls return the same
    invite (another group if the first one filled or is about to expire before the
    buyer joined). 409 ORDER_NOT_PAID before payment, 404 NO_GROUP_AVAILABLE when no
    live code has a group to offer (operators are alerted)."""
    # Its own unit of work: the shown invite and a pool alert are recorded whatever the
    # answer (also the 404 NO_GROUP_AVAILABLE that alerts operators), and no transaction
    # is open when 企业微信 is asked below.
    with unit_of_work("show a group invite"):
        shown = invites.show(g.user, order_id)
        after_commit(community_jobs.enqueue_freeze)  # finished days' paid orders, counted off the request path
    if shown is None:
        raise ApiError("NO_GROUP_AVAILABLE", "No group can be offered for this order now")
    invite_id, state, invite = shown.invite.id, shown.invite.state, shown.invite
    contact_userid = shown.code.contact_userid

    def join_way() -> tuple[str, str]:
        chat_ids = invites.wecom_chat_ids(invite)
        commit_before_remote_call()
        config_id = wecom().add_join_way(chat_ids, state, remark=f"order {order_id}")
        return config_id, wecom().get_join_way(config_id).get("qr_code") or ""

    def contact_way() -> tuple[str, str]:
        commit_before_remote_call()
        return wecom().add_contact_way(contact_userid, state)

    try:
        if shown.needs_join_way:
            _ensure_way(invite_id, "join", join_way)
        if shown.needs_contact_way:
            _ensure_way(invite_id, "contact", contact_way)
    except WeChatUnavailable as exc:
        raise ApiError("WECHAT_UNAVAILABLE", "企业微信 is not reachable, try again") from exc
    except WeChatError as exc:
        raise ApiError("WECHAT_ERROR", f"企业微信 refused: {exc.code} {exc.message}") from exc
    shown = invites.show(g.user, order_id)
    return invites.invite_view(shown.invite, shown.group, shown.code)


def _ensure_way(invite_id: int, way: str, create) -> None:
    """The invite's ``way`` in 企业微信, created once however many requests race for it:
    the one that claims it calls ``create`` (which calls 企业微信 and returns the config id
    and QR); the others wait for that one to attach it."""
    if not invites.claim_way(invite_id, way):
        commit_before_remote_call()  # nothing held while waiting for the claimant
        if invites.wait_for_way(invite_id, way):
            return
        if not invites.claim_way(invite_id, way):  # the claimant is still at it
            raise ApiError("WECHAT_UNAVAILABLE", "企业微信 is still preparing this invite, try again")
    commit_before_remote_call()  # the claim is on record before 企业微信 hears of it
    try:
        config_id, qr_code = create()
    except (WeChatUnavailable, WeChatError):
        with unit_of_work("release a way claim"):  # the next request may try at once
            invites.release_way(invite_id, way)
        raise
    if not invites.attach_way(invite_id, way, config_id, qr_code):
        log.warning("invite %s: a %s way was attached while this one was made (claim lapsed); %s is spare",
                    invite_id, way, config_id)


@blp.get("/group-qr/<token>")
@errors("GROUP_NOT_FOUND")
@blp.response(200, {"type": "string", "format": "binary"}, content_type="image/*",
              description="a personal group's QR: a PNG drawn again from the upload (X-Content-Type-Options: nosniff)")
def group_qr(token):
    """The uploaded QR of a personal group (the URL carries an unguessable token)."""
    image = db.session.scalar(select(CommunityGroup.qr_image).where(CommunityGroup.qr_token == token))
    if not image:
        raise ApiError("GROUP_NOT_FOUND", "No such group QR")
    # Uploads are stored as clean PNGs (qr_images.clean_png); a JPEG stored before that
    # is served as one. Either way the browser must not guess another type.
    mimetype = "image/png" if image.startswith(b"\x89PNG") else "image/jpeg"
    return Response(image, mimetype=mimetype, headers={"Cache-Control": "private, max-age=300",
                                                       "X-Content-Type-Options": "nosniff"})

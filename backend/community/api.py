"""Share events from the mini-program, in batches. A token is optional."""

from __future__ import annotations

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
from backend.transactions import after_commit, commit_before_remote_call, unit_of_work
from backend.wechat.errors import WeChatError, WeChatUnavailable
from backend.wechat.wecom import wecom

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
    invite_id, state = shown.invite.id, shown.invite.state
    try:
        if shown.needs_join_way:
            chat_ids = invites.wecom_chat_ids(shown.invite)
            commit_before_remote_call()
            config_id = wecom().add_join_way(chat_ids, state, remark=f"order {order_id}")
            invites.attach_join_way(invite_id, config_id, wecom().get_join_way(config_id).get("qr_code") or "")
        if shown.needs_contact_way:
            userid = shown.code.contact_userid
            commit_before_remote_call()  # also keeps the join way just attached, whatever follows
            config_id, qr_code = wecom().add_contact_way(userid, state)
            invites.attach_contact_way(invite_id, config_id, qr_code)
    except WeChatUnavailable as exc:
        raise ApiError("WECHAT_UNAVAILABLE", "企业微信 is not reachable, try again") from exc
    except WeChatError as exc:
        raise ApiError("WECHAT_ERROR", f"企业微信 refused: {exc.code} {exc.message}") from exc
    shown = invites.show(g.user, order_id)
    return invites.invite_view(shown.invite, shown.group, shown.code)


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

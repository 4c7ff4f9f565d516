"""企业微信 callbacks (URL verification and encrypted events). WeChat's format, not ours.

Verify → decrypt → (for a group change) fetch the group with no transaction open →
record the joins, deduplicated by the database → answer ``success``. A bad signature
is refused with 403 and changes nothing; when 企业微信 cannot be reached we answer 503
and it sends the event again. The request boundary commits what was recorded (a
refused follow-up answers 200 ``success``, so it rolls back explicitly).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from backend.community import joins
from backend.extensions import db
from backend.timeutil import utcnow
from backend.transactions import commit_before_remote_call
from backend.wechat.errors import InvalidSignature, WeChatError, WeChatUnavailable
from backend.wechat.wecom import wecom

log = logging.getLogger(__name__)
blp = Blueprint("wecom_callback", __name__, url_prefix="/api/v1/wecom")


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _query() -> tuple[str, str, str]:
    return (request.args.get("msg_signature", ""), request.args.get("timestamp", ""),
            request.args.get("nonce", ""))


@blp.get("/callback")
def verify():
    """URL verification when an administrator saves the callback URL: echo the
    decrypted ``echostr`` if and only if the signature holds."""
    signature, timestamp, nonce = _query()
    try:
        echo = wecom().verify_url(signature, timestamp, nonce, request.args.get("echostr", ""))
    except InvalidSignature:
        log.warning("企业微信 URL verification with a bad signature refused")
        return _text("invalid signature", 403)
    return _text(echo if isinstance(echo, str) else echo.decode())


@blp.post("/callback")
def event():
    signature, timestamp, nonce = _query()
    try:
        data = wecom().parse_callback(request.get_data(), signature, timestamp, nonce)
    except InvalidSignature:
        log.warning("企业微信 callback with a bad signature refused")
        return _text("invalid signature", 403)
    try:
        handled = _dispatch(data)
    except WeChatUnavailable as exc:
        log.warning("企业微信 callback deferred: %s", exc)
        return _text("retry", 503)  # a 503: the boundary rolls back
    except WeChatError as exc:
        db.session.rollback()  # answered 200: the boundary would commit
        log.error("企业微信 refused a callback follow-up: %s %s", exc.code, exc.message)
        return _text("success")  # retrying would fail the same way
    log.info("企业微信 %s/%s: %s new", data.get("Event"), data.get("ChangeType"), handled)
    return _text("success")


def _dispatch(data: dict) -> int:
    kind, change = data.get("Event"), data.get("ChangeType")
    if kind == "change_external_chat" and change == "update" and data.get("UpdateDetail") == "add_member":
        group = joins.group_by_chat_id(data.get("ChatId"))
        if group is None:
            return 0  # a group the shop did not register here
        group_id = group.id
        commit_before_remote_call()
        chat = wecom().group_chat(data["ChatId"])
        return joins.record_group_members(group_id, chat)
    if kind == "change_external_contact" and change == "add_external_contact":
        userid, external_userid = data.get("UserID") or "", data.get("ExternalUserID") or ""
        if not external_userid:
            return 0
        state, unionid = data.get("State") or None, None
        if not state:
            commit_before_remote_call()
            unionid = wecom().external_contact(external_userid).get("unionid")
        return int(joins.record_contact(userid, external_userid, state, unionid, utcnow()))
    return 0

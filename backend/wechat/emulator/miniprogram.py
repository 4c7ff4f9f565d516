"""公众平台 endpoints a mini-program backend uses: token, login, wxacode, subscribe messages."""

from __future__ import annotations

import base64
import hashlib
import io
import secrets

import qrcode
from flask import Blueprint, Response, jsonify, request

from backend.wechat.emulator.context import ctx
from backend.wechat.emulator.state import now_cn, rfc3339

bp = Blueprint("emulator_miniprogram", __name__)

TOKEN_TTL = 7200


def _error(code: int, message: str):
    # 公众平台 reports errors with HTTP 200 and an errcode, never with a status code.
    return jsonify({"errcode": code, "errmsg": message})


def _credentials_error() -> Response | None:
    cfg = ctx().cfg
    if request.args.get("appid") != cfg.appid:
        return _error(40013, "invalid appid")
    if request.args.get("secret") != cfg.secret:
        return _error(40125, "invalid appsecret")
    return None


def _digest(*parts: str) -> str:
    raw = hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@bp.get("/cgi-bin/token")
def token():
    if request.args.get("grant_type") != "client_credential":
        return _error(40002, "invalid grant_type")
    failure = _credentials_error()
    if failure is not None:
        return failure
    value = secrets.token_urlsafe(48)
    ctx().ledger.issue_token(value, TOKEN_TTL)
    return jsonify({"access_token": value, "expires_in": TOKEN_TTL})


@bp.get("/sns/jscode2session")
def jscode2session():
    failure = _credentials_error()
    if failure is not None:
        return failure
    code = request.args.get("js_code", "")
    if not code or request.args.get("grant_type") != "authorization_code":
        return _error(40029, "invalid code")
    appid = ctx().cfg.appid
    # Stable per (appid, code): a test logs the same user in again by reusing its code.
    return jsonify({
        "openid": "o" + _digest("openid", appid, code)[:27],
        "session_key": base64.b64encode(hashlib.md5(f"{appid}:{code}".encode()).digest()).decode("ascii"),
        "unionid": "u" + _digest("unionid", code)[:27],
    })


def _token_error() -> Response | None:
    if not ctx().ledger.token_valid(request.args.get("access_token")):
        return _error(40001, "invalid credential, access_token is invalid or not latest")
    return None


@bp.post("/wxa/getwxacodeunlimit")
def wxacode_unlimited():
    failure = _token_error()
    if failure is not None:
        return failure
    body = request.get_json(force=True, silent=True) or {}
    scene = str(body.get("scene", ""))
    if not scene or len(scene) > 32:
        return _error(40169, "invalid length for scene, or the data is not json string")
    image = qrcode.make(f"{body.get('page') or ''}?scene={scene}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return Response(buffer.getvalue(), mimetype="image/png")


@bp.post("/cgi-bin/message/subscribe/send")
def subscribe_send():
    failure = _token_error()
    if failure is not None:
        return failure
    body = request.get_json(force=True, silent=True) or {}
    if not body.get("touser") or not body.get("template_id"):
        return _error(47003, "argument invalid! touser/template_id required")
    record = {"touser": body["touser"], "template_id": body["template_id"], "page": body.get("page"),
              "data": body.get("data"), "sent_at": rfc3339(now_cn())}
    with ctx().ledger.lock:
        ctx().ledger.messages.append(record)
    return jsonify({"errcode": 0, "errmsg": "ok", "msgid": secrets.randbelow(10**12)})

"""企业微信 (WeCom) endpoints used for group invites, and the sandbox user who joins.

gettoken, customer-group join ways (加入群聊), groupchat/get, 联系我 contact ways and
externalcontact/get, answering as 企业微信 does (HTTP 200 with an errcode). A sandbox
endpoint plays the customer: they scan a join way or a contact way, the emulator adds
them and POSTs the encrypted callback to the app, with retries, as 企业微信 does.
"""

from __future__ import annotations

import copy
import secrets
import threading
import time
import uuid

import xmltodict
from flask import Blueprint, Flask, current_app, jsonify, request
from wechatpy.enterprise.crypto import WeChatCrypto

from backend.config import WeChatConfig
from backend.wechat.emulator.context import ctx
from backend.wechat.emulator.miniprogram import _digest

bp = Blueprint("emulator_wecom", __name__)

EXTENSION = "wecom_emulator"
TOKEN_TTL = 7200
GROUP_LIMIT = 200  # a customer group holds 200 members joining by QR
CALLBACK_PATH = "/api/v1/wecom/callback"


class WeComState:
    """Everything 企业微信 would remember, behind one lock."""

    def __init__(self, cfg: WeChatConfig) -> None:
        self.cfg = cfg
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, float] = {}
            self.groups: dict[str, dict] = {}
            self.join_ways: dict[str, dict] = {}
            self.contact_ways: dict[str, dict] = {}
            self.contacts: dict[str, dict] = {}
            self.callback_url = f"{self.cfg.notify_base_url}{CALLBACK_PATH}"
            self.callbacks: list[dict] = []  # what was sent, so a sandbox call can replay it

    def crypto(self) -> WeChatCrypto:
        return WeChatCrypto(self.cfg.wecom_token, self.cfg.wecom_aes_key, self.cfg.wecom_corp_id)


def init_app(app: Flask, cfg: WeChatConfig) -> None:
    app.extensions[EXTENSION] = WeComState(cfg)
    app.register_blueprint(bp)


def state() -> WeComState:
    return current_app.extensions[EXTENSION]


def _error(code: int, message: str):
    return jsonify({"errcode": code, "errmsg": message})


def _ok(**fields):
    return jsonify({"errcode": 0, "errmsg": "ok", **fields})


def _authorised() -> bool:
    token = request.args.get("access_token")
    with state().lock:
        return bool(token) and state().tokens.get(token, 0) > time.time()


def _body() -> dict:
    return request.get_json(force=True, silent=True) or {}


# ---- API --------------------------------------------------------------------------

@bp.get("/cgi-bin/gettoken")
def gettoken():
    cfg = state().cfg
    if request.args.get("corpid") != cfg.wecom_corp_id:
        return _error(40013, "invalid corpid")
    if request.args.get("corpsecret") != cfg.wecom_secret:
        return _error(40001, "invalid secret")
    token = secrets.token_urlsafe(48)
    with state().lock:
        state().tokens[token] = time.time() + TOKEN_TTL
    return jsonify({"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": TOKEN_TTL})


@bp.before_request
def _check_token():
    if request.path.startswith("/cgi-bin/externalcontact/") and not _authorised():
        return _error(40014, "invalid access_token")
    return None


@bp.post("/cgi-bin/externalcontact/groupchat/add_join_way")
def add_join_way():
    body = _body()
    chat_ids = body.get("chat_id_list") or []
    stt = str(body.get("state") or "")
    if body.get("scene") not in (1, 2):
        return _error(40058, "invalid scene")
    if not chat_ids or len(chat_ids) > 5:
        return _error(41050, "chat_id_list must hold 1 to 5 groups")
    if len(stt) > 30:
        return _error(40058, "state exceeds 30 characters")
    with state().lock:
        unknown = [c for c in chat_ids if c not in state().groups]
        if unknown:
            return _error(701008, f"unknown chat_id {unknown[0]}")
        config_id = uuid.uuid4().hex
        state().join_ways[config_id] = {
            "config_id": config_id, "type": 1, "scene": body["scene"], "remark": body.get("remark", ""),
            "auto_create_room": body.get("auto_create_room", 0), "chat_id_list": list(chat_ids), "state": stt,
            "qr_code": f"https://wework.qpic.cn/wwpic/joinway/{config_id}/0",
        }
    return _ok(config_id=config_id)


@bp.post("/cgi-bin/externalcontact/groupchat/get_join_way")
def get_join_way():
    with state().lock:
        way = state().join_ways.get(str(_body().get("config_id")))
        if way is None:
            return _error(41044, "invalid config_id")
        return _ok(join_way=copy.deepcopy(way))


@bp.post("/cgi-bin/externalcontact/groupchat/get")
def groupchat_get():
    with state().lock:
        group = state().groups.get(str(_body().get("chat_id")))
        if group is None:
            return _error(701008, "invalid chat_id")
        return _ok(group_chat=copy.deepcopy(group))


@bp.post("/cgi-bin/externalcontact/add_contact_way")
def add_contact_way():
    body = _body()
    stt = str(body.get("state") or "")
    if body.get("type") not in (1, 2) or body.get("scene") not in (1, 2) or not body.get("user"):
        return _error(40058, "type, scene and user are required")
    if len(stt) > 30:
        return _error(40058, "state exceeds 30 characters")
    config_id = uuid.uuid4().hex
    way = {"config_id": config_id, "type": body["type"], "scene": body["scene"], "user": list(body["user"]),
           "state": stt, "qr_code": f"https://wework.qpic.cn/wwpic/contactway/{config_id}/0"}
    with state().lock:
        state().contact_ways[config_id] = way
    return _ok(config_id=config_id, qr_code=way["qr_code"])


@bp.post("/cgi-bin/externalcontact/get_contact_way")
def get_contact_way():
    with state().lock:
        way = state().contact_ways.get(str(_body().get("config_id")))
        if way is None:
            return _error(41044, "invalid config_id")
        return _ok(contact_way=copy.deepcopy(way))


@bp.get("/cgi-bin/externalcontact/get")
def external_contact_get():
    with state().lock:
        contact = state().contacts.get(request.args.get("external_userid", ""))
        if contact is None:
            return _error(84061, "not external contact")
        return _ok(external_contact=copy.deepcopy(contact["external_contact"]),
                   follow_user=copy.deepcopy(contact["follow_user"]))


# ---- sandbox: the shop's groups, the callback URL, the customer who joins ------------

@bp.post("/sandbox/wecom/groups")
def create_group():
    """The shop creates a customer group in the 企业微信 app (the API cannot)."""
    body = _body()
    chat_id = str(body.get("chat_id") or "wr" + uuid.uuid4().hex)
    with state().lock:
        if chat_id in state().groups:
            return jsonify({"code": "EXISTS", "message": "chat_id exists"}), 409
        state().groups[chat_id] = {
            "chat_id": chat_id, "name": str(body.get("name") or chat_id), "owner": str(body.get("owner") or "staff1"),
            "create_time": int(time.time()), "notice": "", "admin_list": [],
            "member_list": [{"userid": str(body.get("owner") or "staff1"), "type": 1, "join_time": int(time.time()),
                             "join_scene": 1}],
        }
        state().groups[chat_id]["limit"] = int(body.get("limit") or GROUP_LIMIT)
    return jsonify({"chat_id": chat_id}), 201


@bp.post("/sandbox/wecom/callback-url")
def set_callback_url():
    """What an administrator types into the 企业微信 console: where callbacks go."""
    url = str(_body().get("url") or "")
    if not url.startswith("http"):
        return jsonify({"code": "PARAM_ERROR", "message": "url required"}), 400
    with state().lock:
        state().callback_url = url
    return jsonify({"url": url})


def _customer(body: dict) -> tuple[str, str, str]:
    """(external_userid, unionid, name): the login ``code`` gives the same unionid as
    jscode2session does, so a buyer of the mini-program is the same person here."""
    code = str(body.get("code") or uuid.uuid4().hex)
    unionid = str(body.get("unionid") or "u" + _digest("unionid", code)[:27])
    external_userid = "wm" + _digest("external", state().cfg.wecom_corp_id, unionid)[:30]
    return external_userid, unionid, str(body.get("name") or external_userid[-6:])


def _has_room(group: dict) -> bool:
    """``limit`` customers (external members) per group; the shop's staff do not count."""
    return sum(member["type"] == 2 for member in group["member_list"]) < group["limit"]


@bp.post("/sandbox/wecom/join")
def join():
    """The customer scans a join way (``config_id`` of 加入群聊) or a contact way (联系我).
    Body: {config_id, code? | unionid?, name?, async?}."""
    body = _body()
    config_id = str(body.get("config_id") or "")
    external_userid, unionid, name = _customer(body)
    now = int(time.time())
    with state().lock:
        join_way, contact_way = state().join_ways.get(config_id), state().contact_ways.get(config_id)
        if join_way is not None:
            # 企业微信 sends the customer to the first group of the list that still has room.
            group = next((state().groups[c] for c in join_way["chat_id_list"] if _has_room(state().groups[c])), None)
            if group is None:
                return jsonify({"code": "GROUPS_FULL", "message": "every group of the join way is full"}), 409
            member = {"userid": external_userid, "type": 2, "join_time": now, "join_scene": 3,
                      "invitor": {"userid": group["owner"]}, "group_nickname": "", "name": name,
                      "unionid": unionid}
            if join_way["state"]:
                member["state"] = join_way["state"]
            existing = next((m for m in group["member_list"] if m["userid"] == external_userid), None)
            if existing is None:
                group["member_list"].append(member)
            event = {"Event": "change_external_chat", "ChatId": group["chat_id"], "ChangeType": "update",
                     "UpdateDetail": "add_member", "JoinScene": 3, "MemChangeCnt": 1,
                     "MemChangeList": {"Item": external_userid}}
            result = {"kind": "group", "chat_id": group["chat_id"]}
        elif contact_way is not None:
            staff = contact_way["user"][0]
            state().contacts[external_userid] = {
                "external_contact": {"external_userid": external_userid, "name": name, "type": 1,
                                     "unionid": unionid},
                "follow_user": [{"userid": staff, "createtime": now, "state": contact_way["state"]}],
            }
            event = {"Event": "change_external_contact", "ChangeType": "add_external_contact", "UserID": staff,
                     "ExternalUserID": external_userid, "State": contact_way["state"],
                     "WelcomeCode": secrets.token_hex(16)}
            result = {"kind": "contact", "userid": staff}
        else:
            return jsonify({"code": "NOT_FOUND", "message": "unknown config_id"}), 404
    outcome = _send_callback(event, sync=not body.get("async", False))
    return jsonify({**result, "external_userid": external_userid, "unionid": unionid, **outcome})


@bp.post("/sandbox/wecom/replay")
def replay():
    """企业微信 sends a callback again (it retries until it reads a 200 in time)."""
    with state().lock:
        if not state().callbacks:
            return jsonify({"code": "NOT_FOUND", "message": "no callback sent yet"}), 404
        last = state().callbacks[-1]
    return jsonify(_deliver(last["url"], last["body"], last["key"], sync=True))


@bp.get("/sandbox/wecom/state")
def view_state():
    with state().lock:
        return jsonify({"groups": copy.deepcopy(state().groups), "join_ways": copy.deepcopy(state().join_ways),
                        "contact_ways": copy.deepcopy(state().contact_ways),
                        "callbacks": [{k: v for k, v in c.items() if k != "body"} for c in state().callbacks]})


def _send_callback(event: dict, sync: bool) -> dict:
    st = state()
    fields = {"ToUserName": st.cfg.wecom_corp_id, "FromUserName": "sys", "CreateTime": int(time.time()),
              "MsgType": "event", **event}
    plain = xmltodict.unparse({"xml": fields}, full_document=False)
    nonce, timestamp = secrets.token_hex(8), str(int(time.time()))
    sealed = xmltodict.parse(st.crypto().encrypt_message(plain, nonce, timestamp))["xml"]
    body = (f"<xml><ToUserName><![CDATA[{st.cfg.wecom_corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>").encode()
    url = f"{st.callback_url}?msg_signature={sealed['MsgSignature']}&timestamp={timestamp}&nonce={nonce}"
    key = f"{event['Event']}:{uuid.uuid4().hex[:8]}"
    with st.lock:
        st.callbacks.append({"key": key, "url": url, "body": body, "event": event})
    return _deliver(url, body, key, sync)


def _deliver(url: str, body: bytes, key: str, sync: bool) -> dict:
    return ctx().notifier.send(kind="wecom_callback", key=key, url=url, body=body,
                               headers={"Content-Type": "text/xml"},
                               acknowledged=lambda r: r.status_code == 200, sync=sync)

"""The emulator's 企业微信 part, through WeComGateway (wechatpy's enterprise client) over HTTP."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace

import pytest
import requests
from conftest import wait_for
from flask import Flask, request
from werkzeug.serving import make_server

from backend import config as app_config
from backend.wechat.errors import InvalidSignature, WeChatError
from backend.wechat.wecom import WeComGateway


@pytest.fixture(scope="module")
def wecom_cfg(cfg):
    return replace(cfg, wecom_corp_id=app_config.SANDBOX_CORP_ID, wecom_secret=app_config.SANDBOX_WECOM_SECRET,
                   wecom_token=app_config.SANDBOX_WECOM_TOKEN, wecom_aes_key=app_config.SANDBOX_WECOM_AES_KEY,
                   wecom_api_base_url="")


@pytest.fixture(scope="module")
def wecom(wecom_cfg):
    return WeComGateway(wecom_cfg)


@pytest.fixture(scope="module")
def callbacks(emulator, wecom):
    """Stands in for the app's callback endpoint: decrypts with the gateway, keeps the events."""
    received: list[dict] = []
    app = Flask("wecom_receiver")

    @app.post("/wecom/callback")
    def callback():
        args = request.args
        received.append(wecom.parse_callback(request.get_data(), args["msg_signature"], args["timestamp"],
                                             args["nonce"]))
        return "success"

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/wecom/callback"
    assert requests.post(emulator.url + "/sandbox/wecom/callback-url", json={"url": url}, timeout=5).ok
    yield received
    server.shutdown()


def new_group(emulator, limit: int = 200) -> str:
    r = requests.post(emulator.url + "/sandbox/wecom/groups", json={"limit": limit}, timeout=5)
    assert r.status_code == 201
    return r.json()["chat_id"]


def join(emulator, config_id: str, code: str) -> dict:
    r = requests.post(emulator.url + "/sandbox/wecom/join", json={"config_id": config_id, "code": code}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_wrong_secret_is_refused(wecom_cfg, emulator):
    with pytest.raises(WeChatError) as refused:
        WeComGateway(replace(wecom_cfg, wecom_secret="wrong")).group_chat(new_group(emulator))
    assert refused.value.code == "40001"


def test_join_way_limits(wecom, emulator):
    chats = [new_group(emulator) for _ in range(6)]
    with pytest.raises(WeChatError):
        wecom.add_join_way(chats, "s")  # at most 5 groups
    with pytest.raises(WeChatError):
        wecom.add_join_way(chats[:1], "x" * 31)  # state at most 30 characters
    with pytest.raises(WeChatError) as unknown:
        wecom.add_join_way(["wr-nope"], "s")
    assert unknown.value.code == "701008"


def test_a_join_reaches_the_callback_with_state_and_rotates_when_full(wecom, emulator, callbacks):
    first, second = new_group(emulator, limit=1), new_group(emulator)
    state = "fo" + uuid.uuid4().hex[:10]
    config_id = wecom.add_join_way([first, second], state, remark="test")
    way = wecom.get_join_way(config_id)
    assert way["chat_id_list"] == [first, second] and way["state"] == state and way["qr_code"].startswith("https")

    one, two = join(emulator, config_id, "code-one"), join(emulator, config_id, "code-two")
    assert (one["chat_id"], two["chat_id"]) == (first, second)  # the first group is full after one customer
    events = wait_for(lambda: [e for e in callbacks if e.get("ChatId") in (first, second)], timeout=5)
    assert {(e["Event"], e["ChangeType"], e["UpdateDetail"]) for e in events} == {
        ("change_external_chat", "update", "add_member")}
    members = [m for m in wecom.group_chat(first)["member_list"] if m["type"] == 2]
    assert len(members) == 1 and members[0]["state"] == state and members[0]["join_scene"] == 3
    assert members[0]["unionid"] == one["unionid"] and members[0]["userid"] == one["external_userid"]
    # the same person is the same unionid as the mini-program's login gives
    assert join(emulator, config_id, "code-one")["unionid"] == one["unionid"]


def test_contact_way_callback_carries_state(wecom, emulator, callbacks):
    config_id, qr_code = wecom.add_contact_way("staff-li", "fo-contact")
    assert qr_code.startswith("https")
    added = join(emulator, config_id, "code-three")
    event = wait_for(lambda: next((e for e in callbacks if e.get("ExternalUserID") == added["external_userid"]),
                                  None), timeout=5)
    assert (event["Event"], event["ChangeType"], event["UserID"], event["State"]) == (
        "change_external_contact", "add_external_contact", "staff-li", "fo-contact")
    assert wecom.external_contact(added["external_userid"])["unionid"] == added["unionid"]


def test_a_callback_signed_otherwise_is_refused(wecom):
    with pytest.raises(InvalidSignature):
        wecom.parse_callback(b"<xml><Encrypt>abc</Encrypt></xml>", "0" * 40, "1", "n")
    with pytest.raises(InvalidSignature):
        wecom.verify_url("0" * 40, "1", "n", "abc")

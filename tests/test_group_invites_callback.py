"""The 企业微信 callback: URL verification, signatures, replays."""

from __future__ import annotations

import time
import uuid

import requests
import xmltodict
from helpers import (
    buy,
    create_product,
    distributor,
    funnel_row,
    join_way_of,
    live_code,
    login,
    point_wecom_callback,
    wecom_group,
    wecom_join,
)
from sqlalchemy import func, select
from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto

from backend.community.models import GroupInvite, GroupJoin
from backend.config import SANDBOX_CORP_ID, SANDBOX_WECOM_AES_KEY, SANDBOX_WECOM_TOKEN
from backend.extensions import db

CRYPTO = WeChatCrypto(SANDBOX_WECOM_TOKEN, SANDBOX_WECOM_AES_KEY, SANDBOX_CORP_ID)


def joins_of(live, order_id: int) -> tuple[int, bool]:
    """(join rows attributed to the order, whether its invite counts as joined)."""
    with live.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(GroupJoin).where(GroupJoin.order_id == order_id))
        joined = db.session.scalar(select(GroupInvite.joined_at).where(GroupInvite.order_id == order_id))
        db.session.remove()
    return count, joined is not None


def sealed(fields: dict, timestamp: str, nonce: str) -> tuple[bytes, str]:
    """An event as 企业微信 sends it: (body, msg_signature)."""
    plain = xmltodict.unparse({"xml": {"ToUserName": SANDBOX_CORP_ID, "MsgType": "event", **fields}},
                              full_document=False)
    out = xmltodict.parse(CRYPTO.encrypt_message(plain, nonce, timestamp))["xml"]
    body = f"<xml><ToUserName>{SANDBOX_CORP_ID}</ToUserName><Encrypt>{out['Encrypt']}</Encrypt></xml>"
    return body.encode(), out["MsgSignature"]


def test_url_verification_echoes_only_with_a_good_signature(live):
    timestamp, nonce, echo = str(int(time.time())), uuid.uuid4().hex[:10], f"echo-{uuid.uuid4().hex}"
    encrypted = PrpCrypto(CRYPTO.key).encrypt(echo, SANDBOX_CORP_ID)
    signature = _get_signature(SANDBOX_WECOM_TOKEN, timestamp, nonce, encrypted)
    params = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce, "echostr": encrypted}
    r = requests.get(live.api("/wecom/callback"), params=params, timeout=10)
    assert r.status_code == 200 and r.text == echo
    r = requests.get(live.api("/wecom/callback"), params={**params, "msg_signature": "0" * 40}, timeout=10)
    assert r.status_code == 403 and echo not in r.text


def test_bad_signature_is_refused_and_changes_nothing_and_a_replay_counts_once(live, ops):
    point_wecom_callback(live)
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"])
    group = wecom_group(live, ops, code["id"])
    seller = distributor(live)
    login_code = f"buyer-{uuid.uuid4().hex}"
    buyer = login(live, invite_code=seller.user["invite_code"], code=login_code)
    order = buy(live, buyer, product["id"])
    assert buyer.get(f"/orders/{order['id']}/group-invite").status_code == 200

    # the buyer joins while the callback is lost on the way: the app knows nothing yet
    r = requests.post(f"{live.emulator_url}/sandbox/faults", json={"target": "notify", "mode": "drop_notify"},
                      timeout=10)
    assert r.status_code == 201, r.text
    wecom_join(live, join_way_of(live, order["id"])["config_id"], login_code)
    assert joins_of(live, order["id"]) == (0, False)

    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    body, signature = sealed({"Event": "change_external_chat", "ChangeType": "update", "ChatId": group["chat_id"],
                              "UpdateDetail": "add_member", "JoinScene": 3, "MemChangeCnt": 1}, timestamp, nonce)
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
    r = requests.post(live.api("/wecom/callback"), data=body, params={**query, "msg_signature": "f" * 40},
                      timeout=10)
    assert r.status_code == 403
    r = requests.post(live.api("/wecom/callback"), data=body.replace(b"<Encrypt>", b"<Encrypt>A"), params=query,
                      timeout=10)
    assert r.status_code == 403
    r = requests.post(live.api("/wecom/callback"), data=body, params={**query, "nonce": "other"}, timeout=10)
    assert r.status_code == 403
    assert joins_of(live, order["id"]) == (0, False)
    assert funnel_row(ops, "distributor", seller.id)["joined"] == 0

    r = requests.post(live.api("/wecom/callback"), data=body, params=query, timeout=10)
    assert r.status_code == 200 and r.text == "success"
    assert joins_of(live, order["id"]) == (1, True)
    # 企业微信 sends its own (lost) callback again, and ours arrives twice: still one join
    replay = requests.post(f"{live.emulator_url}/sandbox/wecom/replay", json={}, timeout=10)
    assert replay.status_code == 200 and replay.json()["delivered"] is True, replay.text
    r = requests.post(live.api("/wecom/callback"), data=body, params=query, timeout=10)
    assert r.status_code == 200
    assert joins_of(live, order["id"]) == (1, True)
    row = funnel_row(ops, "distributor", seller.id)
    assert (row["paid_orders"], row["shown"], row["joined"]) == (1, 1, 1)


def test_a_join_without_state_is_attributed_by_unionid(live, ops):
    """A buyer who joins through the shop's general join way (no state) is still matched
    to their invite through the unionid 企业微信 reports."""
    from backend.wechat.wecom import wecom

    point_wecom_callback(live)
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"])
    group = wecom_group(live, ops, code["id"])
    seller = distributor(live)
    login_code = f"buyer-{uuid.uuid4().hex}"
    buyer = login(live, invite_code=seller.user["invite_code"], code=login_code)
    order = buy(live, buyer, product["id"])
    assert buyer.get(f"/orders/{order['id']}/group-invite").status_code == 200
    with live.app.app_context():
        general_way = wecom().add_join_way([group["chat_id"]], "", remark="poster in the shop")
    joined = wecom_join(live, general_way, login_code)
    assert joined["delivered"] is True
    assert joins_of(live, order["id"]) == (1, True)
    assert funnel_row(ops, "distributor", seller.id)["joined"] == 1

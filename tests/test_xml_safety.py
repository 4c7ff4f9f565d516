"""XML with a DTD (billion laughs, an external entity, or a DTD alone) is refused on every
XML endpoint before any parser reads it, with the endpoint's normal refusal, and changes
nothing. Each test then sends the same body without the DTD and sees it accepted: the
refusal was the DTD's, not some other flaw of the test's body."""

from __future__ import annotations

import time
import uuid

import pytest
import requests
import xmltodict
from helpers import (
    buy,
    create_product,
    distributor,
    drain,
    join_way_of,
    live_code,
    login,
    notify_xml,
    ordered_and_prepaid,
    point_wecom_callback,
    post_notify,
    wecom_group,
    wecom_join,
)
from test_group_invites_callback import CRYPTO, joins_of
from test_payouts import fault
from xml_attacks import ATTACKS, hostile

from backend.config import SANDBOX_APPID, SANDBOX_CORP_ID, SANDBOX_MCH_ID, SANDBOX_PAY_API_KEY
from backend.wechat import xml_safety
from backend.wechat.emulator.signing import parse_xml, refund_encrypt, to_xml


@pytest.mark.parametrize("attack", ATTACKS)
def test_the_check_refuses_every_dtd(attack):
    body = b"<xml><a><![CDATA[x]]></a><b>1 &amp; 2</b></xml>"
    xml_safety.check(body)
    with pytest.raises(xml_safety.UnsafeXml):
        xml_safety.check(hostile(body, attack))
    with pytest.raises(xml_safety.UnsafeXml):
        xml_safety.check(hostile(body.decode(), attack).decode())  # text as well as bytes
    assert parse_xml(hostile(body, attack)) is None  # the emulator's reader (also its notifier's)


def test_the_check_refuses_undeclared_entities_and_junk():
    for body in (b"<xml>&xxe;</xml>", b"<xml>", b"", b"<xml/><xml/>", None):
        with pytest.raises(xml_safety.UnsafeXml):
            xml_safety.check(body)


def test_a_pay_answer_with_a_dtd_is_an_unknown_outcome():
    """WeChat Pay's own answers are read through the check as well (outcome unknown)."""
    from backend.wechat.gateway import WeChatGateway, WeChatUnavailable
    from backend.wechat.v2_xml import CheckedWeChatPay

    class Answer:
        content = hostile(b"<xml><return_code>SUCCESS</return_code><result_code>SUCCESS</result_code></xml>",
                          "billion_laughs")

    client = CheckedWeChatPay(appid="a", api_key="k" * 32, mch_id="m")
    with pytest.raises(WeChatUnavailable):
        WeChatGateway._call_pay(client._handle_result, Answer())


def _order_status(live, buyer, order_id: int) -> str:
    return buyer.get(f"/orders/{order_id}").json()["status"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_payment_notify_with_a_dtd_is_refused_and_the_order_stays_unpaid(live, ops, attack):
    buyer = login(live)
    product = create_product(ops, price_fen=1_000)
    order, openid = ordered_and_prepaid(live, buyer, product["id"])
    body = notify_xml(order["out_trade_no"], 1_000, openid)  # correctly signed

    answer = post_notify(live, hostile(body, attack))
    assert "FAIL" in answer and "SUCCESS" not in answer
    assert _order_status(live, buyer, order["id"]) == "pending_payment"

    assert "SUCCESS" in post_notify(live, body)
    assert _order_status(live, buyer, order["id"]) == "paid"


def _refund_notify_body(out_refund_no: str, out_trade_no: str, inner_attack: str | None = None) -> str:
    inner = {"out_refund_no": out_refund_no, "out_trade_no": out_trade_no, "refund_status": "SUCCESS",
             "refund_id": "50" + uuid.uuid4().hex[:27]}
    plaintext = "<root>" + to_xml(inner)[len("<xml>"):-len("</xml>")] + "</root>"
    if inner_attack:
        plaintext = hostile(plaintext, inner_attack, root="root").decode()
    return to_xml({"return_code": "SUCCESS", "appid": SANDBOX_APPID, "mch_id": SANDBOX_MCH_ID,
                   "nonce_str": uuid.uuid4().hex, "req_info": refund_encrypt(SANDBOX_PAY_API_KEY, plaintext)})


def _post_refund_notify(live, body: bytes) -> str:
    r = requests.post(live.api("/payments/wechat/refund-notify"), data=body,
                      headers={"Content-Type": "text/xml"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.text


@pytest.mark.parametrize("attack", ATTACKS)
def test_refund_notify_with_a_dtd_outside_or_inside_is_refused_and_the_refund_stays_processing(
        live, ops, attack):
    buyer = login(live)
    order = buy(live, buyer, create_product(ops, price_fen=2_000)["id"])
    drain(live)
    fault(live, target="notify", mode="drop_notify")  # the real notify is lost: ours is the only one
    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"reason": "xml"})
    assert r.status_code == 201 and r.json()["status"] == "processing", r.text
    out_refund_no = r.json()["out_refund_no"]

    def refund_status() -> str:
        [refund] = ops.get(f"/admin/orders/{order['id']}").json()["refunds"]
        return refund["status"]

    before = buyer.get(f"/orders/{order['id']}").json()
    outer = hostile(_refund_notify_body(out_refund_no, order["out_trade_no"]), attack)
    inner = _refund_notify_body(out_refund_no, order["out_trade_no"], inner_attack=attack).encode()
    for body in (outer, inner):
        answer = _post_refund_notify(live, body)
        assert "FAIL" in answer and "SUCCESS" not in answer
        assert refund_status() == "processing"
        assert buyer.get(f"/orders/{order['id']}").json() == before

    # a document escaped as the root's text: it must not be parsed a second time, unchecked
    escaped = hostile(_refund_notify_body(out_refund_no, order["out_trade_no"]), attack).decode()
    smuggled = "<xml>" + escaped.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "</xml>"
    answer = _post_refund_notify(live, smuggled.encode())
    assert "FAIL" in answer and refund_status() == "processing"

    assert "SUCCESS" in _post_refund_notify(live, _refund_notify_body(out_refund_no, order["out_trade_no"]).encode())
    assert refund_status() == "succeeded"


def _sealed_plain(plain: str, timestamp: str, nonce: str) -> tuple[bytes, str]:
    """Any plain text encrypted and signed as 企业微信 does: (body, msg_signature)."""
    out = xmltodict.parse(CRYPTO.encrypt_message(plain, nonce, timestamp))["xml"]
    body = f"<xml><ToUserName>{SANDBOX_CORP_ID}</ToUserName><Encrypt>{out['Encrypt']}</Encrypt></xml>"
    return body.encode(), out["MsgSignature"]


@pytest.mark.parametrize("attack", ATTACKS)
def test_wecom_callback_with_a_dtd_outside_or_inside_is_refused_and_records_no_join(live, ops, attack):
    point_wecom_callback(live)
    product = create_product(ops)
    group = wecom_group(live, ops, live_code(ops, product_id=product["id"])["id"])
    seller = distributor(live)
    login_code = f"buyer-{uuid.uuid4().hex}"
    buyer = login(live, invite_code=seller.user["invite_code"], code=login_code)
    order = buy(live, buyer, product["id"])
    assert buyer.get(f"/orders/{order['id']}/group-invite").status_code == 200
    fault(live, target="notify", mode="drop_notify")  # 企业微信's own callback is lost
    wecom_join(live, join_way_of(live, order["id"])["config_id"], login_code)
    assert joins_of(live, order["id"]) == (0, False)

    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    plain = xmltodict.unparse({"xml": {
        "ToUserName": SANDBOX_CORP_ID, "MsgType": "event", "Event": "change_external_chat",
        "ChangeType": "update", "ChatId": group["chat_id"], "UpdateDetail": "add_member", "JoinScene": 3,
        "MemChangeCnt": 1}}, full_document=False)
    body, signature = _sealed_plain(plain, timestamp, nonce)
    query = {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}
    # the DTD on the body as sent (its signature covers only Encrypt, so it still holds) ...
    r = requests.post(live.api("/wecom/callback"), data=hostile(body, attack), params=query, timeout=10)
    assert r.status_code == 403
    # ... and inside the encrypted event, correctly encrypted and signed
    inner_body, inner_signature = _sealed_plain(hostile(plain, attack).decode(), timestamp, nonce)
    r = requests.post(live.api("/wecom/callback"), data=inner_body,
                      params={**query, "msg_signature": inner_signature}, timeout=10)
    assert r.status_code == 403
    assert joins_of(live, order["id"]) == (0, False)

    r = requests.post(live.api("/wecom/callback"), data=body, params=query, timeout=10)
    assert r.status_code == 200 and r.text == "success"
    assert joins_of(live, order["id"]) == (1, True)

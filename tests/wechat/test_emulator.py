"""The emulator exercised through WeChatGateway, i.e. the real SDKs over HTTP."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import xmltodict
from conftest import in_an_hour, wait_for

from backend.wechat.gateway import InvalidSignature, WeChatError, WeChatGateway


def uid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:20]


# ---- mini-program -------------------------------------------------------------------

def test_login_gives_a_stable_openid_per_code(gateway):
    first = gateway.code_to_session("code-alice")
    again = gateway.code_to_session("code-alice")
    other = gateway.code_to_session("code-bob")
    assert first["openid"] == again["openid"] != other["openid"]
    assert first["openid"].startswith("o") and first["session_key"] and first["unionid"]


def test_login_errors_are_business_errors(gateway, cfg):
    with pytest.raises(WeChatError) as bad_code:
        gateway.code_to_session("")
    assert bad_code.value.code == "40029"
    with pytest.raises(WeChatError) as bad_secret:
        WeChatGateway(replace(cfg, secret="wrong")).code_to_session("code-alice")
    assert bad_secret.value.code == "40125"


def test_wxacode_is_a_png_and_long_scenes_are_refused(gateway):
    png = gateway.wxacode_unlimited("ref=abc123", page="pages/index/index")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(WeChatError) as exc:
        gateway.wxacode_unlimited("x" * 33)
    assert exc.value.code == "40169"


def test_subscribe_message_is_recorded(gateway, sandbox):
    openid = uid("o")
    gateway.send_subscribe_message(openid, "tmpl-1", {"amount1": {"value": "1.00"}}, page="pages/me")
    messages = sandbox.ledger(touser=openid)["messages"]
    assert [m["template_id"] for m in messages] == ["tmpl-1"]


# ---- pay v2 ---------------------------------------------------------------------------

def _order(gateway, receiver, total_fen=990, out_trade_no=None):
    out_trade_no = out_trade_no or uid("T")
    prepay_id = gateway.unified_order(out_trade_no=out_trade_no, total_fen=total_fen, openid="o-payer",
                                      body="Fission 测试商品", notify_url=receiver.url + "/notify/pay",
                                      client_ip="127.0.0.1", time_expire=in_an_hour())
    return out_trade_no, prepay_id


def test_no_payment_after_time_expire(gateway, receiver, sandbox):
    out_trade_no = uid("T")
    gateway.unified_order(out_trade_no=out_trade_no, total_fen=1, openid="o", body="b",
                          notify_url=receiver.url + "/notify/pay", client_ip="127.0.0.1",
                          time_expire=datetime.now(UTC) - timedelta(seconds=1))
    refused = sandbox.post(f"/pay/{out_trade_no}")
    assert refused.status_code == 409 and refused.json()["code"] == "ORDER_EXPIRED"
    assert gateway.query_order(out_trade_no)["trade_state"] == "NOTPAY"  # nothing was taken
    gateway.close_order(out_trade_no)
    assert gateway.query_order(out_trade_no)["trade_state"] == "CLOSED"


def test_unified_order_is_idempotent_by_out_trade_no(gateway, receiver, cfg):
    out_trade_no, prepay_id = _order(gateway, receiver)
    assert _order(gateway, receiver, out_trade_no=out_trade_no)[1] == prepay_id
    with pytest.raises(WeChatError) as exc:
        _order(gateway, receiver, total_fen=991, out_trade_no=out_trade_no)
    assert exc.value.code == "INVALID_REQUEST"
    assert gateway.query_order(out_trade_no)["trade_state"] == "NOTPAY"
    params = gateway.jsapi_params(prepay_id)
    assert params["package"] == f"prepay_id={prepay_id}" and params["appId"] == cfg.appid
    signed = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "paySign") + f"&key={cfg.pay_api_key}"
    assert params["paySign"] == hashlib.md5(signed.encode()).hexdigest().upper()


def test_bad_v2_signature_is_refused(cfg):
    with pytest.raises(WeChatError) as exc:
        WeChatGateway(replace(cfg, pay_api_key="0" * 32)).query_order("whatever")
    assert exc.value.message == "签名错误"


def test_query_unknown_order(gateway):
    with pytest.raises(WeChatError) as exc:
        gateway.query_order(uid("T"))
    assert exc.value.code == "ORDERNOTEXIST"


def test_sandbox_pay_sends_a_signed_notify_and_repeats_it(gateway, receiver, sandbox):
    out_trade_no, _ = _order(gateway, receiver, total_fen=1234)
    answer = sandbox.post(f"/pay/{out_trade_no}").json()
    assert answer["delivered"] is True and "SUCCESS" in answer["reply"]
    [notify] = receiver.of("pay", out_trade_no.encode())
    data = gateway.parse_payment_notify(notify.body)
    assert data["out_trade_no"] == out_trade_no and data["total_fee"] == 1234
    assert data["transaction_id"] == answer["transaction_id"] and data["result_code"] == "SUCCESS"
    assert len(data["time_end"]) == 14

    queried = gateway.query_order(out_trade_no)
    assert queried == {**queried, "trade_state": "SUCCESS", "transaction_id": answer["transaction_id"],
                       "total_fee": 1234}

    again = sandbox.post(f"/pay/{out_trade_no}").json()
    assert again["transaction_id"] == answer["transaction_id"]
    first, second = receiver.of("pay", out_trade_no.encode())
    assert first.body == second.body
    assert len(sandbox.ledger(out_trade_no=out_trade_no)["payments"]) == 1

    with pytest.raises(WeChatError) as exc:
        gateway.close_order(out_trade_no)
    assert exc.value.code == "ORDERPAID"


def test_tampered_payment_notify_is_rejected(gateway, receiver, sandbox):
    out_trade_no, _ = _order(gateway, receiver, total_fen=500)
    sandbox.post(f"/pay/{out_trade_no}")
    [notify] = receiver.of("pay", out_trade_no.encode())
    tampered = notify.body.replace(b"<total_fee>500</total_fee>", b"<total_fee>5</total_fee>")
    assert tampered != notify.body
    with pytest.raises(InvalidSignature):
        gateway.parse_payment_notify(tampered)
    with pytest.raises(InvalidSignature):
        gateway.parse_payment_notify(b"not xml at all")


def test_async_pay_and_unknown_order(gateway, receiver, sandbox):
    out_trade_no, _ = _order(gateway, receiver)
    assert sandbox.post(f"/pay/{out_trade_no}", {"async": True}).json()["delivered"] is False
    wait_for(lambda: receiver.of("pay", out_trade_no.encode()))
    assert sandbox.post("/pay/no-such-order").status_code == 404


def test_close_unpaid_order(gateway, receiver):
    out_trade_no, _ = _order(gateway, receiver)
    gateway.close_order(out_trade_no)
    assert gateway.query_order(out_trade_no)["trade_state"] == "CLOSED"


def test_refund_sends_an_encrypted_notify(gateway, receiver, sandbox, cfg):
    out_trade_no, _ = _order(gateway, receiver, total_fen=1000)
    sandbox.post(f"/pay/{out_trade_no}")
    out_refund_no = uid("R")
    kwargs = {"out_trade_no": out_trade_no, "out_refund_no": out_refund_no, "total_fen": 1000, "refund_fen": 400,
                  "notify_url": receiver.url + "/notify/refund", "reason": "买家退货"}
    result = gateway.refund(**kwargs)
    assert result["refund_fee"] == 400 and result["out_refund_no"] == out_refund_no
    assert gateway.refund(**kwargs)["refund_id"] == result["refund_id"]  # idempotent by out_refund_no

    notify = wait_for(lambda: receiver.of("refund", b"req_info"))
    decrypted = [gateway.parse_refund_notify(n.body) for n in notify]
    mine = [d for d in decrypted if d["out_refund_no"] == out_refund_no]
    assert len(mine) == 1
    assert mine[0]["refund_status"] == "SUCCESS" and mine[0]["refund_fee"] == 400
    assert mine[0]["out_trade_no"] == out_trade_no and mine[0]["refund_id"] == result["refund_id"]
    assert len(sandbox.ledger(out_refund_no=out_refund_no)["refunds"]) == 1
    assert gateway.query_order(out_trade_no)["trade_state"] == "REFUND"

    with pytest.raises(WeChatError) as exc:
        gateway.refund(**{**kwargs, "out_refund_no": uid("R"), "refund_fen": 601})
    assert exc.value.code == "INVALID_REQUEST"

    outer = xmltodict.parse(notify[0].body)["xml"]
    outer["req_info"] = outer["req_info"][:-8] + "AAAAAAA="
    with pytest.raises(InvalidSignature):
        gateway.parse_refund_notify(xmltodict.unparse({"xml": outer}).encode())
    with pytest.raises(InvalidSignature):
        WeChatGateway(replace(cfg, pay_api_key="1" * 32)).parse_refund_notify(notify[0].body)

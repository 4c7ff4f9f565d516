"""商家转账 (v3) and legacy 企业付款 (v2) through the gateway."""

from __future__ import annotations

import json
import uuid

import pytest
import requests
from conftest import wait_for
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from wechatpayv3.utils import build_authorization

from backend.wechat import sandbox_keys
from backend.wechat.gateway import InvalidSignature, WeChatError


def uid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:20]


def _bill(gateway, receiver, out_bill_no=None, amount_fen=150, openid="o-earner"):
    return gateway.create_transfer_bill(out_bill_no=out_bill_no or uid("B"), openid=openid, amount_fen=amount_fen,
                                        remark="推广佣金", notify_url=receiver.url + "/notify/transfer")


def _transfer_notifies(gateway, receiver, out_bill_no):
    parsed = [gateway.parse_transfer_notify(n.headers, n.body) for n in receiver.of("transfer")]
    return [p for p in parsed if p["out_bill_no"] == out_bill_no]


def test_create_is_idempotent_and_confirm_sends_a_verified_notify(gateway, receiver, sandbox):
    first = _bill(gateway, receiver)
    assert first.state == "WAIT_USER_CONFIRM" and first.package_info and first.transfer_bill_no
    again = _bill(gateway, receiver, out_bill_no=first.out_bill_no)
    assert (again.transfer_bill_no, again.package_info) == (first.transfer_bill_no, first.package_info)
    with pytest.raises(WeChatError) as exc:
        _bill(gateway, receiver, out_bill_no=first.out_bill_no, amount_fen=151)
    assert exc.value.code == "INVALID_REQUEST"
    assert len(sandbox.ledger(out_bill_no=first.out_bill_no)["transfers"]) == 1

    answer = sandbox.post(f"/transfer-bills/{first.out_bill_no}/confirm").json()
    assert answer["state"] == "SUCCESS" and answer["delivered"] is True
    [notify] = _transfer_notifies(gateway, receiver, first.out_bill_no)
    assert notify["state"] == "SUCCESS" and notify["transfer_amount"] == 150
    assert notify["event_type"] == "MCHTRANSFER.BILL.FINISHED" and notify["openid"] == "o-earner"

    queried = gateway.query_transfer_bill(first.out_bill_no)
    assert (queried.state, queried.amount_fen, queried.transfer_bill_no) == ("SUCCESS", 150, first.transfer_bill_no)


def test_tampered_transfer_notify_is_rejected(gateway, receiver, sandbox):
    bill = _bill(gateway, receiver)
    sandbox.post(f"/transfer-bills/{bill.out_bill_no}/confirm")
    [raw] = [n for n in receiver.of("transfer") if _transfer_notifies_match(gateway, n, bill.out_bill_no)]
    envelope = json.loads(raw.body)
    envelope["summary"] = "changed"
    with pytest.raises(InvalidSignature):
        gateway.parse_transfer_notify(raw.headers, json.dumps(envelope).encode())
    with pytest.raises(InvalidSignature):
        gateway.parse_transfer_notify({**raw.headers, "Wechatpay-Serial": "SOMEONE_ELSE"}, raw.body)
    with pytest.raises(InvalidSignature):
        gateway.parse_transfer_notify({}, raw.body)


def _transfer_notifies_match(gateway, notify, out_bill_no) -> bool:
    return gateway.parse_transfer_notify(notify.headers, notify.body)["out_bill_no"] == out_bill_no


def test_reject_gives_fail_with_reason(gateway, receiver, sandbox):
    bill = _bill(gateway, receiver)
    sandbox.post(f"/transfer-bills/{bill.out_bill_no}/confirm", {"reject": True})
    [notify] = _transfer_notifies(gateway, receiver, bill.out_bill_no)
    assert notify["state"] == "FAIL" and notify["fail_reason"]
    assert gateway.query_transfer_bill(bill.out_bill_no).state == "FAIL"


def test_query_unknown_bill_is_none(gateway):
    assert gateway.query_transfer_bill(uid("B")) is None


def test_small_amounts_are_refused(gateway, receiver):
    with pytest.raises(WeChatError) as exc:
        _bill(gateway, receiver, amount_fen=9)
    assert exc.value.code == "PARAM_ERROR"


def test_cancel(gateway, receiver, sandbox):
    bill = _bill(gateway, receiver)
    cancelled = gateway.cancel_transfer_bill(bill.out_bill_no)
    assert cancelled.state == "PROCESSING"  # CANCELING, folded
    notify = wait_for(lambda: _transfer_notifies(gateway, receiver, bill.out_bill_no))
    assert notify[0]["state"] == "CANCELLED"
    assert gateway.query_transfer_bill(bill.out_bill_no).state == "CANCELLED"
    with pytest.raises(WeChatError) as exc:
        gateway.cancel_transfer_bill(bill.out_bill_no)
    assert exc.value.code == "INVALID_REQUEST"
    assert sandbox.post(f"/transfer-bills/{bill.out_bill_no}/confirm").status_code == 409


def test_v3_requests_must_carry_the_merchant_signature(emulator, cfg):
    path = "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/X"
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = build_authorization(path, "GET", cfg.mch_id, cfg.merchant_cert_serial, stranger)
    for authorization in (forged, "Bearer nothing", forged.replace(cfg.mch_id, "1234567890")):
        response = requests.get(emulator.url + path, headers={"Authorization": authorization}, timeout=5)
        assert response.status_code == 401 and response.json()["code"] == "SIGN_ERROR"
    merchant = load_pem_private_key(sandbox_keys.merchant_keys(cfg.key_dir).private_pem.encode(), None)
    genuine = build_authorization(path, "GET", cfg.mch_id, cfg.merchant_cert_serial, merchant)
    response = requests.get(emulator.url + path, headers={"Authorization": genuine}, timeout=5)
    assert response.status_code == 404 and response.headers["Wechatpay-Serial"] == cfg.platform_public_key_id


def test_failed_notify_is_retried(gateway, receiver, sandbox):
    bill = _bill(gateway, receiver)
    receiver.refuse["transfer"] = 1
    answer = sandbox.post(f"/transfer-bills/{bill.out_bill_no}/confirm").json()
    assert answer["delivered"] is False
    wait_for(lambda: len(_transfer_notifies(gateway, receiver, bill.out_bill_no)) == 2)
    [record] = sandbox.ledger(key=bill.out_bill_no)["notifies"]
    assert record["delivered"] is True and record["attempts"] == 2


def test_legacy_transfer_and_query(gateway, sandbox):
    partner_trade_no = uid("L")
    result = gateway.legacy_transfer(partner_trade_no=partner_trade_no, openid="o-old", amount_fen=100, desc="佣金")
    assert result.state == "SUCCESS" and result.transfer_bill_no
    repeat = gateway.legacy_transfer(partner_trade_no=partner_trade_no, openid="o-old", amount_fen=100, desc="佣金")
    assert repeat.transfer_bill_no == result.transfer_bill_no
    assert len(sandbox.ledger(partner_trade_no=partner_trade_no)["legacy_transfers"]) == 1
    queried = gateway.query_legacy_transfer(partner_trade_no)
    assert (queried.state, queried.amount_fen, queried.transfer_bill_no) == ("SUCCESS", 100, result.transfer_bill_no)
    assert gateway.query_legacy_transfer(uid("L")) is None
    with pytest.raises(WeChatError) as exc:
        gateway.legacy_transfer(partner_trade_no=uid("L"), openid="o-old", amount_fen=29, desc="佣金")
    assert exc.value.code == "AMOUNT_LIMIT"

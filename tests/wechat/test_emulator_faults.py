"""Injected faults: the gateway reports "unknown outcome" and idempotency keys recover it."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace

import pytest
import requests
from conftest import in_an_hour, wait_for

from backend.wechat.gateway import WeChatError, WeChatGateway, WeChatUnavailable


def uid(prefix: str) -> str:
    return prefix + uuid.uuid4().hex[:20]


@pytest.fixture(scope="module")
def impatient(cfg):
    """A gateway that gives up quickly, so "timeout" faults stay cheap."""
    return WeChatGateway(replace(cfg, http_timeout=0.4))


def _create(gateway, receiver, out_bill_no):
    return gateway.create_transfer_bill(out_bill_no=out_bill_no, openid="o-x", amount_fen=200, remark="佣金",
                                        notify_url=receiver.url + "/notify/transfer")


def test_systemerror_is_unavailable_and_not_applied(gateway, receiver, sandbox):
    sandbox.fault(target="transfer_bills.create", mode="systemerror")
    out_bill_no = uid("B")
    with pytest.raises(WeChatUnavailable):
        _create(gateway, receiver, out_bill_no)
    assert sandbox.ledger(out_bill_no=out_bill_no)["transfers"] == []
    assert gateway.query_transfer_bill(out_bill_no) is None

    sandbox.fault(target="unifiedorder", mode="systemerror")
    with pytest.raises(WeChatUnavailable):
        gateway.unified_order(out_trade_no=uid("T"), total_fen=1, openid="o", body="b",
                              notify_url=receiver.url + "/notify/pay", client_ip="127.0.0.1", time_expire=in_an_hour())


def test_systemerror_with_apply_on_legacy_transfer(gateway, sandbox):
    partner_trade_no = uid("L")
    sandbox.fault(target="legacy_transfer", mode="systemerror", apply=True)
    with pytest.raises(WeChatUnavailable):
        gateway.legacy_transfer(partner_trade_no=partner_trade_no, openid="o-x", amount_fen=100, desc="d")
    assert gateway.query_legacy_transfer(partner_trade_no).state == "SUCCESS"
    assert len(sandbox.ledger(partner_trade_no=partner_trade_no)["legacy_transfers"]) == 1


def test_timeout_with_apply_creates_exactly_one_transfer(impatient, gateway, receiver, sandbox):
    out_bill_no = uid("B")
    sandbox.fault(target="transfer_bills.create", mode="timeout", seconds=1.0, apply=True)
    with pytest.raises(WeChatUnavailable):
        _create(impatient, receiver, out_bill_no)
    [bill] = sandbox.ledger(out_bill_no=out_bill_no)["transfers"]
    assert bill["state"] == "WAIT_USER_CONFIRM" and bill["transfer_amount"] == 200
    found = gateway.query_transfer_bill(out_bill_no)
    assert found.state == "WAIT_USER_CONFIRM" and found.transfer_bill_no == bill["transfer_bill_no"]
    retried = _create(gateway, receiver, out_bill_no)  # the retry returns the original bill
    assert retried.transfer_bill_no == bill["transfer_bill_no"] and retried.package_info
    assert len(sandbox.ledger(out_bill_no=out_bill_no)["transfers"]) == 1


def test_timeout_with_apply_on_legacy_transfer(impatient, gateway, sandbox):
    partner_trade_no = uid("L")
    sandbox.fault(target="legacy_transfer", mode="timeout", seconds=1.0, apply=True)
    with pytest.raises(WeChatUnavailable):
        impatient.legacy_transfer(partner_trade_no=partner_trade_no, openid="o-x", amount_fen=100, desc="d")
    assert len(sandbox.ledger(partner_trade_no=partner_trade_no)["legacy_transfers"]) == 1
    assert gateway.query_legacy_transfer(partner_trade_no).state == "SUCCESS"


def test_query_faults(gateway, sandbox):
    sandbox.fault(target="transfer_bills.query", mode="systemerror", times=2)
    for _ in range(2):
        with pytest.raises(WeChatUnavailable):
            gateway.query_transfer_bill(uid("B"))
    assert gateway.query_transfer_bill(uid("B")) is None
    sandbox.fault(target="orderquery", mode="systemerror")
    with pytest.raises(WeChatUnavailable):
        gateway.query_order(uid("T"))
    with pytest.raises(WeChatError):
        gateway.query_order(uid("T"))


def test_unreachable_wechat_is_unavailable(cfg):
    dead = replace(cfg, api_base="http://127.0.0.1:9", pay_api_base="http://127.0.0.1:9", http_timeout=0.5)
    gateway = WeChatGateway(dead)
    with pytest.raises(WeChatUnavailable):
        gateway.code_to_session("code")
    with pytest.raises(WeChatUnavailable):
        gateway.query_order("T1")
    with pytest.raises(WeChatUnavailable):
        gateway.query_transfer_bill("B1")


def test_drop_and_delay_notify(gateway, receiver, sandbox):
    dropped, delayed = uid("T"), uid("T")
    for out_trade_no in (dropped, delayed):
        gateway.unified_order(out_trade_no=out_trade_no, total_fen=1, openid="o", body="b",
                              notify_url=receiver.url + "/notify/pay", client_ip="127.0.0.1", time_expire=in_an_hour())
    sandbox.fault(target="notify", mode="drop_notify")
    assert sandbox.post(f"/pay/{dropped}").json()["dropped"] is True
    sandbox.fault(target="notify", mode="delay_notify", seconds=0.3)
    started = time.monotonic()
    assert sandbox.post(f"/pay/{delayed}").json()["delivered"] is False
    wait_for(lambda: receiver.of("pay", delayed.encode()))
    assert time.monotonic() - started >= 0.3
    assert receiver.of("pay", dropped.encode()) == []


def test_fault_api(sandbox, emulator):
    assert sandbox.post("/faults", {"target": "nope", "mode": "timeout"}).status_code == 400
    assert sandbox.post("/faults", {"target": "notify", "mode": "timeout"}).status_code == 400
    sandbox.fault(target="refund", mode="timeout", seconds=2, times=3)
    [listed] = requests.get(emulator.url + "/sandbox/faults", timeout=5).json()["faults"]
    assert (listed["target"], listed["times"], listed["apply"]) == ("refund", 3, False)
    requests.delete(emulator.url + "/sandbox/faults", timeout=5)
    assert requests.get(emulator.url + "/sandbox/faults", timeout=5).json()["faults"] == []


def test_reset_forgets_everything(gateway, receiver, sandbox):
    out_trade_no = uid("T")
    gateway.unified_order(out_trade_no=out_trade_no, total_fen=1, openid="o", body="b",
                          notify_url=receiver.url + "/notify/pay", client_ip="127.0.0.1", time_expire=in_an_hour())
    sandbox.fault(target="refund", mode="systemerror")
    assert sandbox.post("/reset").json() == {"reset": True}
    assert all(rows == [] for rows in sandbox.ledger().values())
    with pytest.raises(WeChatError):
        gateway.query_order(out_trade_no)
    assert gateway.code_to_session("after-reset")["openid"]  # the cached token is refetched

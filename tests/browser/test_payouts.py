"""Payouts: an operator sees what each transfer waits for, in words, and retries the one
WeChat refused; the API shows it sent again."""

from __future__ import annotations

import requests
from helpers import buy, chain, create_product, drain, set_settings


def test_a_failed_payout_is_retried_and_waiting_ones_say_why(console, live, ops):
    set_settings(ops, payout_rail="wechat_transfer")
    r = requests.post(f"{live.emulator_url}/sandbox/faults", timeout=5,
                      json={"target": "transfer_bills.create", "mode": "refuse", "apply": False, "times": 1})
    assert r.status_code == 201, r.text
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    buy(live, c, product["id"])
    drain(live)
    mine = [p for uid in (a.id, b.id) for p in ops.get("/admin/payouts", params={"user_id": uid}).json()["items"]]
    [failed] = [p for p in mine if p["status"] == "failed"]
    [waiting] = [p for p in mine if p["status"] == "wait_user_confirm"]

    op = console("operator")
    op.open(f"/payouts?user_id={waiting['user_id']}")
    op.page.locator(f"[data-test=waiting-{waiting['id']}]", has_text="等待用户在小程序中确认收款").wait_for()
    op.open("/payouts?status=failed")
    page = op.page
    page.locator(f"[data-test=waiting-{failed['id']}]", has_text="可重试").wait_for()
    op.shot("payouts-failed")

    page.click(f"[data-test=retry-{failed['id']}]")
    page.locator(".el-message-box").wait_for()
    page.locator(".el-message-box .el-button--primary").click()
    page.locator(".el-message--success").wait_for()
    page.locator(f"[data-test=retry-{failed['id']}]").wait_for(state="detached")  # no longer in the failed tab
    again = ops.get("/admin/payouts", params={"user_id": failed["user_id"]}).json()["items"]
    [retried] = [p for p in again if p["id"] == failed["id"]]
    assert retried["status"] != "failed"
    drain(live)
    [retried] = [p for p in ops.get("/admin/payouts", params={"user_id": failed["user_id"]}).json()["items"]
                 if p["id"] == failed["id"]]
    assert retried["status"] == "wait_user_confirm" and retried["attempt"] >= 2
    op.open(f"/payouts?user_id={failed['user_id']}")
    op.page.locator(f"[data-test=payout-status-{failed['id']}]", has_text="待用户确认").wait_for()
    op.shot("payouts")


def test_withdrawals_say_what_they_wait_for_and_can_be_asked_about(console, live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    buy(live, c, product["id"])
    drain(live)
    r = b.post("/me/withdrawals", json={"amount_fen": 500})
    assert r.status_code == 201, r.text
    withdrawal = r.json()
    drain(live)

    op = console("operator")
    op.open(f"/withdrawals?user_id={b.id}")
    page = op.page
    page.locator(f"[data-test=waiting-{withdrawal['id']}]", has_text="等待用户在小程序中确认收款").wait_for()
    page.locator(f"[data-test=withdrawal-status-{withdrawal['id']}]", has_text="待用户确认").wait_for()
    op.shot("withdrawals")

    # the user confirms in the mini-program; the operator asks WeChat instead of waiting for the notify
    listed = op.api.get("/admin/withdrawals", params={"user_id": b.id}).json()["items"]
    [bill] = [w["out_bill_no"] for w in listed if w["id"] == withdrawal["id"]]
    r = requests.post(f"{live.emulator_url}/sandbox/transfer-bills/{bill}/confirm", json={}, timeout=10)
    assert r.status_code == 200, r.text
    page.click(f"[data-test=query-{withdrawal['id']}]")
    page.locator(".el-message--success").wait_for()
    page.locator(f"[data-test=withdrawal-status-{withdrawal['id']}]", has_text="已到账").wait_for()
    assert b.get(f"/me/withdrawals/{withdrawal['id']}").json()["status"] == "succeeded"

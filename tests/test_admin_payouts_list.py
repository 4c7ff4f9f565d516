"""What operators see of money on its way out: payouts and withdrawals with what each
is waiting for, asking WeChat now, and the campaigns with the prizes they paid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from helpers import buy, chain, create_product, drain, finance_client, login, set_settings, sweep
from test_payouts import confirm, fault, payouts_of

from backend.extensions import db
from backend.leaderboard.models import Campaign

WAITING = {"hold_period", "worker", "wechat_result", "user_confirmation", "minimum_amount", "daily_limit",
           "operator_retry", "nothing"}


def test_waiting_for_a_user_confirmation_then_nothing(live, ops):
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "wait_user_confirm"
    assert payout["waiting_for"] == "user_confirmation"
    assert "confirm" in payout["waiting_for_text"] and "mini-program" in payout["waiting_for_text"]

    fault(live, target="notify", mode="drop_notify")  # the user confirms; WeChat's notify is lost
    confirm(live, payout["out_bill_no"])
    [still] = payouts_of(ops, b.id)
    assert still["status"] == "wait_user_confirm"
    r = ops.post(f"/admin/payouts/{payout['id']}/query")  # the operator asks WeChat now
    assert r.status_code == 200, r.text
    assert (r.json()["id"], r.json()["status"], r.json()["waiting_for"]) == (payout["id"], "succeeded", "nothing")
    assert b.get("/me/wallet").json()["withdrawn_fen"] == 1_000
    again = ops.post(f"/admin/payouts/{payout['id']}/query")  # nothing more to ask: the same answer
    assert again.status_code == 200 and again.json()["status"] == "succeeded"
    assert b.get("/me/wallet").json()["withdrawn_fen"] == 1_000


def test_waiting_for_an_operator_after_a_failure(live, ops):
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    fault(live, target="transfer_bills.create", mode="refuse", apply=False, times=1)
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "failed" and payout["waiting_for"] == "operator_retry"
    assert "retry" in payout["waiting_for_text"] and "back in the user's wallet" in payout["waiting_for_text"]
    r = ops.get("/admin/payouts", params={"status": "failed", "per_page": 100})
    assert r.status_code == 200 and payout["id"] in [p["id"] for p in r.json()["items"]]
    assert all(p["waiting_for"] in WAITING and p["waiting_for_text"] for p in r.json()["items"])
    retried = ops.post(f"/admin/payouts/{payout['id']}/retry")
    assert retried.status_code == 200 and retried.json()["waiting_for"] == "worker", retried.text
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["waiting_for"] == "user_confirmation"


def test_waiting_for_the_hold_the_minimum_and_nothing(live, ops):
    set_settings(ops, payout_rail="wechat_transfer", hold_days=2)
    try:
        a, b, c = chain(live)
        buy(live, c, create_product(ops, price_fen=10_000)["id"])
        drain(live)
        [held] = payouts_of(ops, b.id)
        assert (held["status"], held["waiting_for"]) == ("pending", "hold_period")
        assert "hold" in held["waiting_for_text"]
    finally:
        set_settings(ops, hold_days=0)
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=50)["id"])  # 5 fen to B: below WeChat's minimum
    drain(live)
    [small] = payouts_of(ops, b.id)
    assert (small["status"], small["waiting_for"]) == ("in_wallet", "minimum_amount")
    set_settings(ops, payout_rail="wallet")
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    [kept] = payouts_of(ops, b.id)
    assert (kept["status"], kept["waiting_for"]) == ("in_wallet", "nothing")


def test_payout_lists_refuse_bad_filters(live, ops):
    for path in ("/admin/payouts", "/admin/withdrawals"):
        for params in ({"status": "lost"}, {"per_page": 101}, {"user_id": 0}):
            r = ops.get(path, params=params)
            assert (r.status_code, r.json()["error"]["code"]) == (422, "VALIDATION_ERROR"), (path, params, r.text)
    assert ops.post("/admin/payouts/999999999/query").json()["error"]["code"] == "PAYOUT_NOT_FOUND"
    assert ops.post("/admin/withdrawals/999999999/query").json()["error"]["code"] == "WITHDRAWAL_NOT_FOUND"


def test_payout_lists_total_past_the_exact_count(live, ops, monkeypatch):
    """Every commission has its payout, so the unfiltered list is the largest table an
    operator pages through: past ``EXACT_UP_TO`` matching rows its total is the
    database's estimate where it has one (PostgreSQL's planner, MySQL's table statistics
    unfiltered), flagged, as the order list does; below it, exact."""
    from backend import schemas

    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    for _ in range(2):
        buy(live, c, product["id"])
    drain(live)
    with live.app.app_context():
        dialect = db.engine.dialect.name
    mine = ops.get("/admin/payouts", params={"user_id": b.id}).json()
    assert (mine["total"], mine["total_is_estimate"]) == (2, False)

    monkeypatch.setattr(schemas, "EXACT_UP_TO", 1)
    mine = ops.get("/admin/payouts", params={"user_id": b.id}).json()
    assert len(mine["items"]) == 2
    if dialect == "postgresql":
        assert mine["total_is_estimate"] is True and mine["total"] >= 2
    else:  # no cheap estimate of a filtered list: counted to the end
        assert (mine["total"], mine["total_is_estimate"]) == (2, False)
    everything = ops.get("/admin/payouts").json()
    assert everything["total_is_estimate"] is (dialect != "sqlite") and everything["total"] >= 4
    withdrawals = ops.get("/admin/withdrawals").json()
    assert withdrawals["total_is_estimate"] in (True, False) and withdrawals["total"] >= 0


def test_withdrawals_list_and_query(live, ops):
    set_settings(ops, payout_rail="wallet")
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=100_000)["id"])  # B: 10,000 in the wallet
    drain(live)
    set_settings(ops, payout_rail="wechat_transfer")
    r = b.post("/me/withdrawals", json={"amount_fen": 3_000})
    assert r.status_code == 201, r.text
    withdrawal = r.json()
    drain(live)

    r = ops.get("/admin/withdrawals", params={"user_id": b.id})
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert r.json()["total"] == 1
    assert (item["id"], item["amount_fen"], item["out_bill_no"]) == \
        (withdrawal["id"], 3_000, withdrawal["out_bill_no"])
    assert item["user"] == {"id": b.id, "nickname": b.user["nickname"]}
    assert (item["status"], item["waiting_for"]) == ("wait_user_confirm", "user_confirmation")
    assert item["failure_reason"] is None and item["created_at"].endswith("+00:00")
    assert [w["id"] for w in ops.get("/admin/withdrawals", params={"user_id": b.id, "status": "failed"})
            .json()["items"]] == []
    everyone = ops.get("/admin/withdrawals", params={"status": "wait_user_confirm", "per_page": 100}).json()
    assert withdrawal["id"] in [w["id"] for w in everyone["items"]]
    assert all(w["status"] == "wait_user_confirm" for w in everyone["items"])
    # a commission payout is no withdrawal
    [commission_payout] = payouts_of(ops, b.id)
    r = ops.post(f"/admin/withdrawals/{commission_payout['id']}/query")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "WITHDRAWAL_NOT_FOUND")

    fault(live, target="notify", mode="drop_notify")
    confirm(live, withdrawal["out_bill_no"])
    r = ops.post(f"/admin/withdrawals/{withdrawal['id']}/query")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["waiting_for"], r.json()["user"]["id"]) == ("succeeded", "nothing", b.id)
    assert b.get(f"/me/withdrawals/{withdrawal['id']}").json()["status"] == "succeeded"


def test_a_failed_withdrawal_says_why(live, ops):
    set_settings(ops, payout_rail="wallet")
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=100_000)["id"])
    drain(live)
    set_settings(ops, payout_rail="wechat_transfer")
    fault(live, target="transfer_bills.create", mode="refuse", apply=False, times=1)
    r = b.post("/me/withdrawals", json={"amount_fen": 2_000})
    assert r.status_code == 201, r.text
    drain(live)
    [item] = ops.get("/admin/withdrawals", params={"user_id": b.id}).json()["items"]
    assert (item["status"], item["waiting_for"]) == ("failed", "operator_retry")
    assert item["failure_reason"] and "refused" in item["failure_reason"]


def test_campaign_list_and_detail_after_the_close(live, ops):
    start = datetime.now(UTC) - timedelta(seconds=1)
    r = ops.post("/admin/campaigns", json={
        "name": "Admin view", "metric": "commission", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "prizes": [{"from_rank": 1, "to_rank": 1, "amount_fen": 70_000}]})
    assert r.status_code == 201, r.text
    campaign = r.json()
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=5_000_000)["id"])  # B 500,000: first of the window
    drain(live)

    open_ = ops.get(f"/admin/campaigns/{campaign['id']}").json()
    assert (open_["status"], open_["awards"], open_["paid_fen"]) == ("open", [], 0)
    assert campaign["id"] in [x["id"] for x in ops.get("/admin/campaigns", params={"status": "open",
                                                                                    "per_page": 100}).json()["items"]]
    with live.app.app_context():  # the hour passes
        row = db.session.get(Campaign, campaign["id"])
        row.ends_at = datetime.now(UTC)
        db.session.commit()
        db.session.remove()
    sweep(live)
    drain(live)

    r = ops.get(f"/admin/campaigns/{campaign['id']}")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["status"] == "closed" and detail["closed_at"] and detail["prizes"][0]["amount_fen"] == 70_000
    [award] = detail["awards"]
    assert (award["rank"], award["user"]["id"], award["amount_fen"], award["score"]) == (1, b.id, 70_000, 500_000)
    assert award["user"]["nickname"] == b.user["nickname"]
    assert award["payout_id"] and award["payout_status"] == "in_wallet"
    assert detail["paid_fen"] == 70_000
    closed = ops.get("/admin/campaigns", params={"status": "closed", "per_page": 100}).json()
    assert campaign["id"] in [x["id"] for x in closed["items"]] and all(x["status"] == "closed"
                                                                         for x in closed["items"])
    assert ops.get("/admin/campaigns", params={"status": "done"}).status_code == 422
    assert ops.get("/admin/campaigns/999999999").json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("method", "path"), [
    ("get", "/admin/payouts"), ("post", "/admin/payouts/1/query"), ("get", "/admin/withdrawals"),
    ("post", "/admin/withdrawals/1/query"), ("get", "/admin/campaigns"), ("get", "/admin/campaigns/1")])
def test_consumers_are_turned_away(live, ops, method, path):
    consumer = login(live)
    r = getattr(consumer, method)(path)
    assert r.status_code in (401, 403) and r.json()["error"]["code"] in ("UNAUTHORIZED", "FORBIDDEN"), r.text
    assert getattr(finance_client(live), method)(path).status_code in (200, 404)

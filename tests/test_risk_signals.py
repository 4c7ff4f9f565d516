"""Risk control's order-level signals: each fires on its abuse pattern and holds exactly
those orders' commissions (no payout until an operator decides); normal traffic is
almost never held."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
import requests
from helpers import Client, buy, create_product, distributor, drain, login

from backend.risk.settings import RiskSettings

# every rule and threshold at its default (the fixtures put them back after each test)
DEFAULTS = {k: v for k, v in dataclasses.asdict(RiskSettings()).items() if k != "version"}


@pytest.fixture
def risk(ops):
    r = ops.put("/admin/settings/risk", json=DEFAULTS)
    assert r.status_code == 200, r.text
    yield ops
    ops.put("/admin/settings/risk", json=DEFAULTS)


def login_with(live, device_id: str | None = None, invite_code: str | None = None, headers=None) -> Client:
    body = {"code": f"code-{uuid.uuid4().hex}"}
    if device_id:
        body["device_id"] = device_id
    if invite_code:
        body["invite_code"] = invite_code
    r = requests.post(live.api("/auth/wechat-login"), json=body, headers=headers or {}, timeout=30)
    assert r.status_code == 200, r.text
    client = Client(live, r.json()["token"])
    client.user = r.json()["user"]
    return client


def device() -> str:
    return f"dev-{uuid.uuid4().hex[:16]}"


def held_orders(ops) -> set[int]:
    r = ops.get("/admin/risk/reviews", params={"status": "pending", "per_page": 100})
    assert r.status_code == 200, r.text
    return {item["order_id"] for item in r.json()["items"]}


def review_of(ops, order_id: int) -> dict:
    r = ops.get("/admin/risk/reviews", params={"status": "pending", "per_page": 100})
    return next(item for item in r.json()["items"] if item["order_id"] == order_id)


def test_a_second_account_on_the_distributors_device_is_held(live, risk):
    ops = risk
    product = create_product(ops, price_fen=10_000)
    shared = device()
    b = distributor(live)
    login_with(live, device_id=shared, invite_code=None)  # another account on b's phone…
    b_again = requests.post(live.api("/events"), json={"events": [{"type": "share"}], "device_id": shared},
                            headers={"Authorization": f"Bearer {b.token}"}, timeout=30)
    assert b_again.status_code == 202, b_again.text  # … b's events report the device
    c = login_with(live, device_id=shared, invite_code=b.user["invite_code"])
    honest = login_with(live, device_id=device(), invite_code=b.user["invite_code"])
    held = buy(live, c, product["id"])
    fine = buy(live, honest, product["id"])
    drain(live)

    assert held["id"] in held_orders(ops) and fine["id"] not in held_orders(ops)
    review = review_of(ops, held["id"])
    assert review["signals"] == ["second_account"] and review["distributor_id"] == b.id
    assert review["evidence"]["second_account"]["shared"] == [
        {"with_user_id": b.id, "fact": "device_id", "value": shared}]
    assert review["commission_fen"] == 1_000
    # the honest order's 1,000 is paid out at once (hold_days 0), the held one's stays pending
    assert b.get("/me/wallet").json() == {"pending_fen": 1_000, "available_fen": 1_000, "withdrawn_fen": 0,
                                          "total_earned_fen": 2_000, "in_transit_fen": 0}


def test_a_buyer_with_the_distributors_phone_is_held_and_the_rule_switches_off(live, risk):
    ops = risk
    product = create_product(ops, price_fen=10_000)
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    b = login(live)
    assert b.post("/distributor/apply", json={"phone": phone, "real_name": "B"}).status_code == 200
    b.user = b.get("/me").json()
    c = login(live, invite_code=b.user["invite_code"])
    assert c.post("/distributor/apply", json={"phone": phone, "real_name": "C"}).status_code == 200
    first = buy(live, c, product["id"])
    assert review_of(ops, first["id"])["evidence"]["second_account"]["shared"] == [
        {"with_user_id": b.id, "fact": "phone", "value": phone}]

    assert ops.put("/admin/settings/risk", json={"second_account": False}).status_code == 200
    second = buy(live, c, product["id"])
    drain(live)
    assert second["id"] not in held_orders(ops)
    assert b.get("/me/wallet").json()["available_fen"] == 1_000


def test_a_bind_farm_from_one_device_holds_its_buyers_orders(live, risk):
    ops = risk
    assert ops.put("/admin/settings/risk", json={"bind_farm_binds": 3, "bind_farm_minutes": 10}).status_code == 200
    product = create_product(ops, price_fen=10_000)
    b = distributor(live)
    farm_device = device()
    farmed = [login_with(live, device_id=farm_device, invite_code=b.user["invite_code"]) for _ in range(3)]
    others = [login_with(live, device_id=device(), invite_code=b.user["invite_code"]) for _ in range(3)]
    orders = {c.id: buy(live, c, product["id"])["id"] for c in farmed + others}
    drain(live)

    held = held_orders(ops) & set(orders.values())
    assert held == {orders[c.id] for c in farmed}
    evidence = review_of(ops, orders[farmed[0].id])["evidence"]["bind_farm"]
    assert (evidence["inviter_id"], evidence["device_id"]) == (b.id, farm_device)
    assert b.get("/me/wallet").json()["available_fen"] == 3_000  # the three others' orders
    assert b.get("/me/wallet").json()["pending_fen"] == 3_000


def test_a_bind_farm_from_one_client_ip_behind_the_trusted_proxy(live, risk):
    ops = risk
    assert ops.put("/admin/settings/risk", json={"bind_farm_binds": 3, "bind_farm_minutes": 10}).status_code == 200
    product = create_product(ops, price_fen=10_000)
    b = distributor(live)
    config = live.app.config["FISSION"]
    live.app.config["FISSION"] = dataclasses.replace(config, trusted_proxy_header="X-Forwarded-For",
                                                     trusted_proxy_hops=1)
    try:
        farm_ip = f"203.0.113.{uuid.uuid4().int % 250 + 1}"
        # what the client wrote itself (left of our proxy's entry) is never believed
        farmed = [login_with(live, invite_code=b.user["invite_code"],
                             headers={"X-Forwarded-For": f"10.9.9.{i}, {farm_ip}"}) for i in range(3)]
        other = login_with(live, invite_code=b.user["invite_code"],
                           headers={"X-Forwarded-For": f"{farm_ip}, 198.51.100.7"})
    finally:
        live.app.config["FISSION"] = config
    orders = {c.id: buy(live, c, product["id"])["id"] for c in [*farmed, other]}
    assert held_orders(ops) & set(orders.values()) == {orders[c.id] for c in farmed}
    assert review_of(ops, orders[farmed[0].id])["evidence"]["bind_farm"]["ip"] == farm_ip


@pytest.mark.parametrize(("changes", "field"), [
    ({"bind_farm_binds": 1}, "bind_farm_binds"), ({"bind_farm_minutes": 0}, "bind_farm_minutes"),
    ({"refund_after_payout_rate_bp": 10_001}, "refund_after_payout_rate_bp"),
    ({"refund_loop_days": 400}, "refund_loop_days")])
def test_risk_settings_out_of_range_are_refused(risk, changes, field):
    r = risk.put("/admin/settings/risk", json=changes)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "INVALID_RISK_SETTINGS"
    assert r.json()["error"]["details"]["field"] == field
    assert risk.get("/admin/settings/risk").json()["bind_farm_binds"] == 5


def test_risk_settings_reject_unknown_fields_and_wrong_types(risk):
    assert risk.put("/admin/settings/risk", json={"bind_farm_binds": "5"}).status_code == 422
    assert risk.put("/admin/settings/risk", json={"everything": True}).status_code == 422
    r = risk.put("/admin/settings/risk", json={"bind_farm_binds": 7, "refund_loop": False})
    assert r.status_code == 200 and (r.json()["bind_farm_binds"], r.json()["refund_loop"]) == (7, False)


def test_a_device_id_out_of_bounds_is_refused(live):
    r = requests.post(live.api("/auth/wechat-login"), json={"code": "c-x", "device_id": "x" * 65}, timeout=30)
    assert r.status_code == 422
    r = requests.post(live.api("/auth/wechat-login"), json={"code": "c-y", "device_id": "a b<"}, timeout=30)
    assert r.status_code == 422


def test_an_order_paid_by_the_distributors_own_wechat_account_is_held(live, risk):
    from helpers import notify_xml, ordered_and_prepaid, post_notify

    from backend.auth.models import User
    from backend.extensions import db

    ops = risk
    product = create_product(ops, price_fen=10_000)
    b = distributor(live)
    c = login(live, invite_code=b.user["invite_code"])
    with live.app.app_context():
        b_openid = db.session.get(User, b.id).openid
        db.session.remove()
    order, _buyer_openid = ordered_and_prepaid(live, c, product["id"])
    assert "SUCCESS" in post_notify(live, notify_xml(order["out_trade_no"], 10_000, b_openid))
    review = review_of(ops, order["id"])
    assert review["evidence"]["second_account"]["shared"] == [
        {"with_user_id": b.id, "fact": "payer_openid", "value": b_openid}]
    # the buyer paying themselves, as always: nothing held
    other, openid = ordered_and_prepaid(live, c, product["id"])
    assert "SUCCESS" in post_notify(live, notify_xml(other["out_trade_no"], 10_000, openid))
    assert other["id"] not in held_orders(ops)

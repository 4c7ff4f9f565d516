"""The distributor-level signals of the nightly pass: refund after payout, buy-and-refund
loops, conversion outliers. A distributor who trips one is put under review and their
new orders are held; an operator takes them off review."""

from __future__ import annotations

import pytest
import requests
from helpers import buy, create_product, distributor, drain, login
from sqlalchemy import update
from test_risk_signals import DEFAULTS, held_orders, review_of

from backend.extensions import db
from backend.risk import review_pass
from backend.risk.models import DistributorWatch

ALL_OFF = {"refund_after_payout": False, "refund_loop": False, "conversion_outlier": False}


@pytest.fixture
def risk(ops, live):
    yield ops
    ops.put("/admin/settings/risk", json=DEFAULTS)
    with live.app.app_context():  # the pass looked at every distributor of the session: nobody stays watched
        db.session.execute(update(DistributorWatch).values(under_review=False))
        db.session.commit()
        db.session.remove()


def run_pass(live) -> dict:
    with live.app.app_context():
        stats = review_pass.evaluate()
        db.session.commit()
        db.session.remove()
    return stats


def watched(ops) -> dict[int, dict]:
    r = ops.get("/admin/risk/distributors", params={"per_page": 100})
    assert r.status_code == 200, r.text
    return {item["user_id"]: item for item in r.json()["items"]}


def refund(ops, order_id: int) -> None:
    r = ops.post(f"/admin/orders/{order_id}/refund", json={"reason": "changed mind"})
    assert r.status_code == 201, r.text


def test_refunds_after_payout_put_the_distributor_under_review_and_hold_new_orders(live, risk):
    ops = risk
    assert ops.put("/admin/settings/risk", json={**ALL_OFF, "refund_after_payout": True,
                                                  "refund_after_payout_count": 3,
                                                  "refund_after_payout_rate_bp": 5000}).status_code == 200
    product = create_product(ops, price_fen=10_000)
    b, honest = distributor(live), distributor(live)
    customers = [login(live, invite_code=b.user["invite_code"]) for _ in range(4)]
    orders = [buy(live, c, product["id"]) for c in customers]
    honest_customer = login(live, invite_code=honest.user["invite_code"])
    honest_orders = [buy(live, honest_customer, product["id"]) for _ in range(4)]
    drain(live)  # paid out (hold_days 0)
    for order in orders[:3]:
        refund(ops, order["id"])
    refund(ops, honest_orders[0]["id"])  # one of four: below the count
    drain(live)

    run_pass(live)
    flagged = watched(ops)
    assert b.id in flagged and honest.id not in flagged
    assert flagged[b.id]["signals"] == ["refund_after_payout"]
    assert flagged[b.id]["evidence"]["refund_after_payout"] == {"refunded_after_payout": 3, "paid_out_orders": 4}

    new = buy(live, customers[3], product["id"])
    fine = buy(live, honest_customer, product["id"])
    held = held_orders(ops)
    assert new["id"] in held and fine["id"] not in held
    assert review_of(ops, new["id"])["signals"] == ["distributor_under_review"]

    r = ops.post(f"/admin/risk/distributors/{b.id}/clear")
    assert r.status_code == 200 and r.json()["under_review"] is False
    later = buy(live, customers[3], product["id"])
    assert later["id"] not in held_orders(ops)
    assert ops.post("/admin/risk/distributors/999999999/clear").json()["error"]["code"] == \
        "DISTRIBUTOR_NOT_UNDER_REVIEW"


def test_a_buy_and_refund_loop_among_one_distributors_customers(live, risk):
    ops = risk
    assert ops.put("/admin/settings/risk", json={**ALL_OFF, "refund_loop": True, "refund_loop_orders": 4,
                                                  "refund_loop_days": 7}).status_code == 200
    product = create_product(ops, price_fen=5_000)
    b, other = distributor(live), distributor(live)
    ring = [login(live, invite_code=b.user["invite_code"]) for _ in range(2)]
    for i in range(4):
        refund(ops, buy(live, ring[i % 2], product["id"])["id"])
    customer = login(live, invite_code=other.user["invite_code"])
    for _ in range(3):  # three: below the threshold
        refund(ops, buy(live, customer, product["id"])["id"])
    drain(live)

    run_pass(live)
    flagged = watched(ops)
    assert other.id not in flagged
    assert flagged[b.id]["signals"] == ["refund_loop"]
    assert flagged[b.id]["evidence"]["refund_loop"] == {"refunded_orders": 4, "customers": 2, "days": 7}
    assert buy(live, ring[0], product["id"])["id"] in held_orders(ops)


def test_a_conversion_far_above_the_shops_norm(live, risk):
    ops = risk
    assert ops.put("/admin/settings/risk", json={**ALL_OFF, "conversion_outlier": True, "conversion_factor": 5,
                                                  "conversion_min_orders": 3}).status_code == 200
    product = create_product(ops, price_fen=5_000)
    b, small = distributor(live), distributor(live)
    # three orders through b's share link and not one visit of it: no real audience
    for _ in range(3):
        buy(live, login(live), product["id"], share_code=b.user["invite_code"])
    # two orders through small's link: under the minimum volume, whatever the rate
    for _ in range(2):
        buy(live, login(live), product["id"], share_code=small.user["invite_code"])
    visitor = login(live)
    r = requests.post(live.api("/events"), json={"events": [
        {"type": "visit", "share_code": small.user["invite_code"]}] * 5},
        headers={"Authorization": f"Bearer {visitor.token}"}, timeout=30)
    assert r.status_code == 202, r.text
    drain(live)

    run_pass(live)
    flagged = watched(ops)
    assert small.id not in flagged
    assert flagged[b.id]["signals"] == ["conversion_outlier"]
    assert flagged[b.id]["evidence"]["conversion_outlier"]["orders"] == 3
    assert flagged[b.id]["evidence"]["conversion_outlier"]["visits"] == 0

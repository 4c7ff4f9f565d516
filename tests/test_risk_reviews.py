"""The review queue: approve releases as usual, reject reverses through the ledger, each
decision once (also for two operators racing), audited; a refund of a held order
claws back like any pending commission."""

from __future__ import annotations

import threading

from helpers import admin, buy, create_product, distributor, drain, login, set_settings
from sqlalchemy import select
from test_risk_signals import DEFAULTS, device, login_with, review_of

from backend.commission.models import LedgerEntry, Payout
from backend.extensions import db


def held_order(live, ops, price_fen: int = 10_000):
    """A ← B ← C where C is B's second account (same device): (a, b, c, order, review)."""
    assert ops.put("/admin/settings/risk", json=DEFAULTS).status_code == 200
    shared = device()
    a = distributor(live)
    b = login_with(live, device_id=shared, invite_code=a.user["invite_code"])
    assert b.post("/distributor/apply", json={}).status_code == 200
    b.user = b.get("/me").json()
    c = login_with(live, device_id=shared, invite_code=b.user["invite_code"])
    order = buy(live, c, create_product(ops, price_fen=price_fen)["id"])
    drain(live)
    return a, b, c, order, review_of(ops, order["id"])


def wallet(client) -> dict:
    return client.get("/me/wallet").json()


def audit_of(ops, review_id: int, action: str) -> list[dict]:
    r = ops.get("/admin/audit", params={"per_page": 100, "action": action, "target_id": str(review_id)})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_a_held_order_is_listed_with_both_levels_and_pays_nothing_out(live, ops):
    a, b, c, order, review = held_order(live, ops)
    assert review["signals"] == ["second_account"] and review["order_paid_fen"] == 10_000
    assert [(x["user_id"], x["level"], x["amount_fen"], x["status"]) for x in review["commissions"]] == [
        (b.id, 1, 1_000, "pending"), (a.id, 2, 500, "pending")]
    assert wallet(b)["pending_fen"] == 1_000 and wallet(b)["available_fen"] == 0
    assert wallet(a)["pending_fen"] == 500 and wallet(a)["available_fen"] == 0
    with live.app.app_context():
        ids = [x["id"] for x in review["commissions"]]
        assert db.session.scalars(select(Payout).where(Payout.commission_id.in_(ids))).all() == []
        db.session.remove()


def test_approve_releases_as_usual_once(live, ops):
    a, b, _c, _order, review = held_order(live, ops)
    r = ops.post(f"/admin/risk/reviews/{review['id']}/approve", json={"note": "same family, checked"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["decided_by"] is not None
    drain(live)
    assert wallet(b)["available_fen"] == 1_000 and wallet(b)["pending_fen"] == 0
    assert wallet(a)["available_fen"] == 500
    again = ops.post(f"/admin/risk/reviews/{review['id']}/reject", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "REVIEW_ALREADY_DECIDED"
    [entry] = audit_of(ops, review["id"], "admin_risk.approve_review")
    assert entry["after"] == {"status": "approved", "note": "same family, checked"}


def test_approve_keeps_the_normal_hold(live, ops):
    set_settings(ops, hold_days=7)
    try:
        _a, b, _c, _order, review = held_order(live, ops)
        assert ops.post(f"/admin/risk/reviews/{review['id']}/approve", json={}).status_code == 200
        drain(live)
        assert wallet(b)["pending_fen"] == 1_000 and wallet(b)["available_fen"] == 0
    finally:
        set_settings(ops, hold_days=0)


def test_reject_reverses_through_the_ledger_once(live, ops):
    a, b, _c, _order, review = held_order(live, ops)
    r = ops.post(f"/admin/risk/reviews/{review['id']}/reject", json={"note": "self-referral"})
    assert r.status_code == 200, r.text
    assert [(x["status"], x["reversed_fen"]) for x in r.json()["commissions"]] == [("reversed", 1_000),
                                                                                   ("reversed", 500)]
    drain(live)
    for client in (a, b):
        assert wallet(client) == {"pending_fen": 0, "available_fen": 0, "withdrawn_fen": 0, "total_earned_fen": 0,
                                  "in_transit_fen": 0}
    with live.app.app_context():
        keys = sorted(db.session.scalars(select(LedgerEntry.idempotency_key).where(
            LedgerEntry.kind == "commission_reversed", LedgerEntry.idempotency_key.like(f"risk:{review['id']}:%"))))
        assert keys == sorted(f"risk:{review['id']}:commission:{x['id']}" for x in review["commissions"])
        db.session.remove()
    assert ops.post(f"/admin/risk/reviews/{review['id']}/approve", json={}).status_code == 409
    assert ops.post("/admin/risk/reviews/999999999/approve", json={}).json()["error"]["code"] == "REVIEW_NOT_FOUND"
    assert ops.get("/admin/risk/reviews", params={"status": "rejected"}).json()["total"] >= 1


def test_a_refund_of_a_held_order_claws_back_from_pending(live, ops):
    a, b, _c, order, review = held_order(live, ops)
    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 5_000, "reason": "half"})
    assert r.status_code == 201, r.text
    drain(live)
    assert wallet(b)["pending_fen"] == 500 and wallet(a)["pending_fen"] == 250
    assert ops.post(f"/admin/risk/reviews/{review['id']}/approve", json={}).status_code == 200
    drain(live)
    assert (wallet(b)["available_fen"], wallet(b)["pending_fen"]) == (500, 0)
    assert (wallet(a)["available_fen"], wallet(a)["pending_fen"]) == (250, 0)


def test_a_fully_refunded_held_order_leaves_nothing_to_approve(live, ops):
    _a, b, _c, order, review = held_order(live, ops)
    assert ops.post(f"/admin/orders/{order['id']}/refund", json={"reason": "all"}).status_code == 201
    assert ops.post(f"/admin/risk/reviews/{review['id']}/approve", json={}).status_code == 200
    drain(live)
    assert wallet(b) == {"pending_fen": 0, "available_fen": 0, "withdrawn_fen": 0, "total_earned_fen": 0,
                         "in_transit_fen": 0}


def test_two_operators_racing_get_one_decision(live, ops, admin_token):
    """Real parallel requests (row lock on the review; on SQLite the writers queue)."""
    for _ in range(3):
        a, b, _c, _order, review = held_order(live, ops)
        first, second = admin(live, admin_token), admin(live, admin_token)
        barrier, replies = threading.Barrier(2), {}

        def decide(client, verb, barrier=barrier, replies=replies, review_id=review["id"]):
            barrier.wait(timeout=30)
            replies[verb] = client.post(f"/admin/risk/reviews/{review_id}/{verb}", json={})

        threads = [threading.Thread(target=decide, args=(first, "approve")),
                   threading.Thread(target=decide, args=(second, "reject"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        codes = sorted(r.status_code for r in replies.values())
        assert codes == [200, 409], {k: r.text for k, r in replies.items()}
        loser = next(r for r in replies.values() if r.status_code == 409)
        assert loser.json()["error"]["code"] == "REVIEW_ALREADY_DECIDED"
        winner = next(verb for verb, r in replies.items() if r.status_code == 200)
        drain(live)
        expected = 1_000 if winner == "approve" else 0
        assert wallet(b)["available_fen"] == expected and wallet(b)["pending_fen"] == 0
        assert wallet(b)["total_earned_fen"] == expected


def test_many_operators_racing_on_one_review(live, ops, admin_token):
    _a, b, _c, _order, review = held_order(live, ops)
    barrier, replies, lock = threading.Barrier(6), [], threading.Lock()

    def decide(verb):
        barrier.wait(timeout=30)
        r = admin(live, admin_token).post(f"/admin/risk/reviews/{review['id']}/{verb}", json={})
        with lock:
            replies.append(r)

    threads = [threading.Thread(target=decide, args=("approve" if i % 2 else "reject",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r.status_code for r in replies) == [200] + [409] * 5
    drain(live)
    assert wallet(b)["pending_fen"] == 0
    assert login(live).get("/admin/risk/reviews").status_code in (401, 403)

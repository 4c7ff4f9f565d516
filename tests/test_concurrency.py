"""Real parallelism against the live (threaded) server: what must happen exactly once
happens once, and what is scarce is never handed out twice.

Every race is started with a barrier so the requests leave together. The claims are
meant for PostgreSQL and MariaDB (row locks, conditional UPDATEs); on SQLite the
writers queue on the database lock, and the same assertions must still hold.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from helpers import (
    admin,
    buy,
    chain,
    create_product,
    distributor,
    drain,
    login,
    notify_xml,
    ordered_and_prepaid,
    post_notify,
    set_settings,
)

from backend.auth.models import User
from backend.commission.models import Commission, LedgerEntry, Payout
from backend.extensions import db


def in_parallel(calls: list) -> list:
    """Run the zero-argument callables at the same moment; results in call order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def error_code(response) -> str | None:
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None


def db_read(live, fn):
    """Read rows directly (a fresh session, closed afterwards)."""
    with live.app.app_context():
        try:
            return fn()
        finally:
            db.session.remove()


# --- the payment notify, built and signed like WeChat Pay v2 --------------------------

def test_ten_identical_payment_notifies_pay_once(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, level1_bp=1000, level2_bp=500, cap_bp=3000, payout_rail="wallet", hold_days=0,
                 self_purchase=False)
    a, b, c = chain(live)
    product = create_product(ops, price_fen=12_345)
    order, openid = ordered_and_prepaid(live, c, product["id"], quantity=2)  # 24,690 fen
    xml = notify_xml(order["out_trade_no"], 24_690, openid)

    replies = in_parallel([lambda: post_notify(live, xml)] * 10)
    drain(live)

    assert all("SUCCESS" in reply for reply in replies), replies
    seen = c.get(f"/orders/{order['id']}").json()
    assert (seen["status"], seen["paid_fen"]) == ("paid", 24_690)
    # 10% of 24,690 = 2,469 to B; 5% = 1,234 to A — once, not ten times
    assert b.get("/me/wallet").json() == {"pending_fen": 0, "available_fen": 2_469, "withdrawn_fen": 0,
                                          "total_earned_fen": 2_469, "in_transit_fen": 0}
    assert a.get("/me/wallet").json() == {"pending_fen": 0, "available_fen": 1_234, "withdrawn_fen": 0,
                                          "total_earned_fen": 1_234, "in_transit_fen": 0}
    lines_b = [(x["order_id"], x["level"], x["amount_fen"]) for x in b.get("/me/commissions").json()["items"]]
    lines_a = [(x["order_id"], x["level"], x["amount_fen"]) for x in a.get("/me/commissions").json()["items"]]
    assert lines_b == [(order["id"], 1, 2_469)]
    assert lines_a == [(order["id"], 2, 1_234)]

    def rows():
        commission_ids = list(db.session.scalars(
            db.select(Commission.id).where(Commission.order_id == order["id"])))
        payouts = Counter(db.session.scalars(
            db.select(Payout.user_id).where(Payout.commission_id.in_(commission_ids))))
        earned = db.session.scalar(db.select(db.func.count()).select_from(LedgerEntry).where(
            LedgerEntry.order_id == order["id"], LedgerEntry.kind == "commission_earned"))
        return len(commission_ids), payouts, earned

    n_commissions, payouts, earned = db_read(live, rows)
    assert n_commissions == 2
    assert payouts == Counter({a.id: 1, b.id: 1})
    assert earned == 2


def test_forged_wrong_amount_or_currency_notify_changes_nothing(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, level1_bp=1000, level2_bp=500, cap_bp=3000, payout_rail="wallet", hold_days=0)
    a, b, c = chain(live)
    product = create_product(ops, price_fen=5_000)
    order, openid = ordered_and_prepaid(live, c, product["id"])

    forged = notify_xml(order["out_trade_no"], 5_000, openid, key="NotTheMerchantKey" + "0" * 15)
    underpaid = notify_xml(order["out_trade_no"], 1, openid)  # correctly signed, wrong amount
    # correctly signed, the right number, but of another currency or kind of payment
    in_dollars = notify_xml(order["out_trade_no"], 5_000, openid, fee_type="USD")
    native_qr = notify_xml(order["out_trade_no"], 5_000, openid, trade_type="NATIVE")

    assert "FAIL" in post_notify(live, forged)
    assert "FAIL" in post_notify(live, underpaid)
    assert "FAIL" in post_notify(live, in_dollars)
    assert "FAIL" in post_notify(live, native_qr)
    # the same forged body from ten hands at once fails ten times
    assert all("FAIL" in reply for reply in in_parallel([lambda: post_notify(live, forged)] * 10))
    drain(live)

    assert c.get(f"/orders/{order['id']}").json()["status"] == "pending_payment"
    assert b.get("/me/commissions").json()["items"] == []
    assert a.get("/me/commissions").json()["items"] == []
    assert b.get("/me/wallet").json()["total_earned_fen"] == 0


def assert_no_loops(live, user_ids) -> None:
    """Walking inviter_id up from each of these users never meets a user twice."""
    parents = dict(db_read(live, lambda: db.session.execute(db.select(User.id, User.inviter_id)).all()))
    for start in user_ids:
        seen, node = set(), start
        while node is not None:
            assert node not in seen, f"inviter chain from user {start} loops at user {node}"
            seen.add(node)
            node = parents.get(node)


def test_crossed_binds_never_make_a_cycle(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, bind_mode="permanent")
    mine = []
    for _ in range(10):
        x, y = distributor(live), distributor(live)
        mine += [x.id, y.id]
        rx, ry = in_parallel([
            lambda x=x, y=y: x.post("/referral/bind", json={"invite_code": y.user["invite_code"]}),
            lambda x=x, y=y: y.post("/referral/bind", json={"invite_code": x.user["invite_code"]}),
        ])
        statuses = sorted([rx.status_code, ry.status_code])
        assert statuses == [200, 409], (rx.text, ry.text)
        loser = rx if rx.status_code == 409 else ry
        assert error_code(loser) == "REFERRAL_CYCLE", loser.text
        x_inviter, y_inviter = x.get("/me").json()["inviter_id"], y.get("/me").json()["inviter_id"]
        assert (x_inviter, y_inviter) in ((y.id, None), (None, x.id))
        assert_no_loops(live, mine)


def test_three_way_crossed_binds_never_make_a_cycle(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, bind_mode="permanent")
    for _ in range(10):
        x, y, z = distributor(live), distributor(live), distributor(live)
        ring = [(x, y), (y, z), (z, x)]  # x → y → z → x if all three went through
        replies = in_parallel([
            lambda u=u, v=v: u.post("/referral/bind", json={"invite_code": v.user["invite_code"]})
            for u, v in ring])
        ok = [r for r in replies if r.status_code == 200]
        refused = [r for r in replies if r.status_code != 200]
        assert len(ok) == 2, [r.text for r in replies]
        assert [(r.status_code, error_code(r)) for r in refused] == [(409, "REFERRAL_CYCLE")]
        inviters = [u.get("/me").json()["inviter_id"] for u, _ in ring]
        assert sum(i is not None for i in inviters) == 2
        for u, _ in ring:
            ancestors = [a["id"] for a in ops.get(f"/admin/users/{u.id}/tree").json()["ancestors"]]
            assert len(ancestors) == len(set(ancestors)) <= 2 and u.id not in ancestors
        assert_no_loops(live, [x.id, y.id, z.id])


def test_one_customer_bound_from_two_links_at_once_keeps_the_first(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, bind_mode="permanent")
    for _ in range(10):
        x, y, customer = distributor(live), distributor(live), login(live)
        replies = in_parallel([
            lambda c=customer, v=v: c.post("/referral/bind", json={"invite_code": v.user["invite_code"]})
            for v in (x, y)])
        assert sorted(r.status_code for r in replies) == [200, 409], [r.text for r in replies]
        winner = next(r for r in replies if r.status_code == 200)
        loser = next(r for r in replies if r.status_code == 409)
        assert error_code(loser) == "ALREADY_BOUND"
        assert customer.get("/me").json()["inviter_id"] == winner.json()["inviter_id"]
        team_sizes = [v.get("/me/team").json()["total"] for v in (x, y)]
        assert sorted(team_sizes) == [0, 1]


def _distributor_with_3_500_available(live, ops):
    """A distributor whose customer bought 35,000 fen: 3,500 fen (10%) in the wallet."""
    b = distributor(live)
    c = login(live, invite_code=b.user["invite_code"])
    buy(live, c, create_product(ops, price_fen=35_000)["id"])
    drain(live)
    assert b.get("/me/wallet").json()["available_fen"] == 3_500
    return b


def test_parallel_withdrawals_never_overdraw(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, level1_bp=1000, level2_bp=500, cap_bp=3000, payout_rail="wallet", hold_days=0,
                 min_transfer_fen=10, daily_transfer_limit_fen=10**9)
    try:
        b = _distributor_with_3_500_available(live, ops)

        set_settings(ops, payout_rail="wechat_transfer")
        replies = in_parallel([lambda: b.post("/me/withdrawals", json={"amount_fen": 1_000})] * 8)

        ok = [r for r in replies if r.status_code == 201]
        refused = [r for r in replies if r.status_code != 201]
        assert len(ok) == 3, [r.text for r in replies]  # 3 × 1,000 fit in 3,500
        assert {(r.status_code, error_code(r)) for r in refused} == {(422, "INSUFFICIENT_BALANCE")}
        assert b.get("/me/wallet").json() == {"pending_fen": 0, "available_fen": 500, "withdrawn_fen": 0,
                                              "total_earned_fen": 3_500, "in_transit_fen": 3_000}
        for r in ok:
            assert b.get(f"/me/withdrawals/{r.json()['id']}").json()["amount_fen"] == 1_000

        openid = db_read(live, lambda: db.session.get(User, b.id).openid)
        transfers = requests.get(f"{live.emulator_url}/sandbox/ledger", params={"openid": openid},
                                 timeout=10).json()["transfers"]
        assert sorted(t["out_bill_no"] for t in transfers) == sorted(r.json()["out_bill_no"] for r in ok)
        assert [t["transfer_amount"] for t in transfers] == [1_000] * 3
    finally:
        set_settings(ops, payout_rail="wallet")


def test_last_units_go_to_exactly_as_many_buyers(live, admin_token):
    ops = admin(live, admin_token)
    product = create_product(ops, price_fen=100, stock=5)
    buyers = [login(live) for _ in range(12)]

    replies = in_parallel([
        lambda u=u: u.post("/orders", json={"items": [{"product_id": product["id"], "quantity": 1}]})
        for u in buyers])

    assert Counter(r.status_code for r in replies) == Counter({201: 5, 409: 7}), [r.text for r in replies]
    assert {error_code(r) for r in replies if r.status_code == 409} == {"OUT_OF_STOCK"}
    assert requests.get(live.api(f"/products/{product['id']}"), timeout=10).json()["stock"] == 0
    for buyer, reply in zip(buyers, replies, strict=True):
        if reply.status_code == 201:
            assert buyer.get(f"/orders/{reply.json()['id']}").json()["items"][0]["quantity"] == 1


def test_parallel_withdrawals_never_pass_the_daily_limit(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, level1_bp=1000, level2_bp=500, cap_bp=3000, payout_rail="wallet", hold_days=0,
                 min_transfer_fen=10, daily_transfer_limit_fen=10**9)
    try:
        b = _distributor_with_3_500_available(live, ops)

        set_settings(ops, payout_rail="wechat_transfer", daily_transfer_limit_fen=2_000)
        replies = in_parallel([lambda: b.post("/me/withdrawals", json={"amount_fen": 1_000})] * 8)

        ok = [r for r in replies if r.status_code == 201]
        assert len(ok) == 2, [r.text for r in replies]  # 2 × 1,000 is today's limit
        assert {(r.status_code, error_code(r)) for r in replies if r.status_code != 201} == {
            (422, "DAILY_LIMIT_EXCEEDED")}
        wallet = b.get("/me/wallet").json()
        assert (wallet["available_fen"], wallet["in_transit_fen"]) == (1_500, 2_000)
    finally:
        set_settings(ops, payout_rail="wallet", daily_transfer_limit_fen=200_000)

"""Flows a distributor, a customer and an operator walk through."""

from __future__ import annotations

from datetime import datetime, timedelta

import requests
from helpers import admin, buy, chain, create_product, distributor, drain, ledger, login, set_settings, sweep
from test_payouts import confirm, payouts_of

from backend.extensions import db
from backend.orders.models import Order
from backend.timeutil import SHOP_TZ, utcnow


def test_withdrawal_is_confirmed_by_the_user_and_arrives(live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    buy(live, c, product["id"])
    drain(live)
    assert b.get("/me/wallet").json()["available_fen"] == 1_000

    small = b.post("/me/withdrawals", json={"amount_fen": 5})
    assert small.status_code == 422 and small.json()["error"]["code"] == "AMOUNT_TOO_SMALL"
    too_much = b.post("/me/withdrawals", json={"amount_fen": 1_001})
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "INSUFFICIENT_BALANCE"
    assert b.get("/me/wallet").json()["available_fen"] == 1_000  # refusals change nothing

    r = b.post("/me/withdrawals", json={"amount_fen": 600})
    assert r.status_code == 201, r.text
    withdrawal = r.json()
    assert withdrawal["status"] == "wait_user_confirm" and withdrawal["package_info"]
    confirm(live, withdrawal["out_bill_no"])
    assert b.get(f"/me/withdrawals/{withdrawal['id']}").json()["status"] == "succeeded"
    wallet = b.get("/me/wallet").json()
    assert (wallet["available_fen"], wallet["withdrawn_fen"]) == (400, 600)
    assert c.get(f"/me/withdrawals/{withdrawal['id']}").status_code == 404  # not C's


def test_rejected_transfer_returns_money_and_operator_retry_uses_a_new_bill(live, ops):
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    r = requests.post(f"{live.emulator_url}/sandbox/transfer-bills/{payout['out_bill_no']}/confirm",
                      json={"reject": True}, timeout=10)
    assert r.status_code == 200, r.text
    [failed] = payouts_of(ops, b.id)
    assert failed["status"] == "failed"
    assert b.get("/me/wallet").json()["available_fen"] == 1_000  # back in the wallet

    # The retry is money leaving today: it obeys the user's daily limit like any transfer.
    set_settings(ops, daily_transfer_limit_fen=999)
    over = ops.post(f"/admin/payouts/{failed['id']}/retry")
    assert over.status_code == 422 and over.json()["error"]["code"] == "DAILY_LIMIT_EXCEEDED"
    assert payouts_of(ops, b.id)[0]["status"] == "failed"
    assert b.get("/me/wallet").json()["available_fen"] == 1_000  # nothing held

    set_settings(ops, daily_transfer_limit_fen=1_000)
    r = ops.post(f"/admin/payouts/{failed['id']}/retry")
    assert r.status_code == 200, r.text
    # Counted towards today at once: a withdrawal cannot slip in before the job runs.
    assert b.post("/me/withdrawals", json={"amount_fen": 10}).json()["error"]["code"] == "DAILY_LIMIT_EXCEEDED"
    drain(live)
    [retried] = payouts_of(ops, b.id)
    assert retried["status"] == "wait_user_confirm" and retried["out_bill_no"] != failed["out_bill_no"]
    confirm(live, retried["out_bill_no"])
    assert b.get("/me/wallet").json()["withdrawn_fen"] == 1_000
    again = ops.post(f"/admin/payouts/{failed['id']}/retry")
    assert again.status_code == 409 and again.json()["error"]["code"] == "PAYOUT_NOT_RETRYABLE"


def test_legacy_rail_pushes_without_confirmation(live, ops):
    set_settings(ops, payout_rail="wechat_legacy_transfer")
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    [payout] = payouts_of(ops, b.id)
    assert payout["status"] == "succeeded"
    legacy = [t for t in ledger(live)["legacy_transfers"] if t["partner_trade_no"] == payout["out_bill_no"]]
    assert len(legacy) == 1
    assert b.get("/me/wallet").json()["withdrawn_fen"] == 1_000


def test_unpaid_order_is_cancelled_and_stock_returned(live, ops):
    c = login(live)
    product = create_product(ops, price_fen=500, stock=3)
    r = c.post("/orders", json={"items": [{"product_id": product["id"], "quantity": 2}]})
    assert r.status_code == 201
    order = r.json()
    paying = c.post(f"/orders/{order['id']}/pay")
    assert paying.status_code == 200  # WeChat knows it, unpaid
    # ...and takes no payment after our own deadline (Beijing time on the wire)
    [at_wechat] = [p for p in ledger(live)["payments"] if p["out_trade_no"] == paying.json()["out_trade_no"]]
    deadline = datetime.fromisoformat(order["expires_at"]).astimezone(SHOP_TZ)
    assert at_wechat["time_expire"] == deadline.strftime("%Y%m%d%H%M%S")
    assert c.get(f"/products/{product['id']}").json()["stock"] == 1
    with live.app.app_context():
        db.session.get(Order, order["id"]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert sweep(live)["cancelled_orders"] >= 1
    assert c.get(f"/orders/{order['id']}").json()["status"] == "cancelled"
    assert c.get(f"/products/{product['id']}").json()["stock"] == 3
    assert c.post(f"/orders/{order['id']}/pay").json()["error"]["code"] == "ORDER_NOT_PAYABLE"


def test_team_tree_and_share_codes(live, ops, admin_token):
    a = distributor(live)
    b = distributor(live, invite_code=a.user["invite_code"])
    c1 = login(live, invite_code=b.user["invite_code"])
    login(live, invite_code=b.user["invite_code"])
    product = create_product(ops, price_fen=2_000)
    buy(live, c1, product["id"], quantity=2)
    drain(live)

    level1 = a.get("/me/team", params={"level": 1}).json()
    assert [m["user_id"] for m in level1["items"]] == [b.id] and level1["total"] == 1
    level2 = a.get("/me/team", params={"level": 2}).json()
    assert level2["total"] == 2
    row = next(m for m in level2["items"] if m["user_id"] == c1.id)
    assert (row["orders_count"], row["gmv_fen"], row["commission_to_me_fen"]) == (1, 4_000, 200)

    tree = admin(live, admin_token).get(f"/admin/users/{c1.id}/tree").json()
    assert [x["id"] for x in tree["ancestors"]] == [b.id, a.id]
    assert tree["depth"] == 2
    assert admin(live, admin_token).get(f"/admin/users/{a.id}/tree").json()["level2"] == {"count": 2}

    png = a.get("/me/share-code")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    qr = a.get("/me/share-qr")
    assert qr.status_code == 200 and qr.content.startswith(b"\x89PNG")
    assert c1.get("/me/share-code").json()["error"]["code"] == "NOT_A_DISTRIBUTOR"


def test_protection_period_allows_rebind_only_after_it(live, ops):
    set_settings(ops, bind_mode="protection", protection_days=7)
    try:
        x, y = distributor(live), distributor(live)
        c = login(live, invite_code=x.user["invite_code"])
        r = c.post("/referral/bind", json={"invite_code": y.user["invite_code"]})
        assert r.status_code == 409 and r.json()["error"]["code"] == "ALREADY_BOUND"
        from backend.auth.models import User

        with live.app.app_context():
            db.session.get(User, c.id).bound_at = utcnow() - timedelta(days=8)
            db.session.commit()
        r = c.post("/referral/bind", json={"invite_code": y.user["invite_code"]})
        assert r.status_code == 200 and r.json()["inviter_id"] == y.id
    finally:
        set_settings(ops, bind_mode="permanent")


def test_share_link_without_binding_still_pays_the_sharer(live, ops):
    set_settings(ops, bind_mode="until_first_order")
    try:
        sharer = distributor(live)
        c = login(live)
        first = create_product(ops, price_fen=1_000)
        buy(live, c, first["id"])  # a paid order: the rules no longer allow binding c
        buy(live, c, first["id"], share_code=sharer.user["invite_code"])
        drain(live)
        assert c.get("/me").json()["inviter_id"] is None
        assert sharer.get("/me/wallet").json()["available_fen"] == 100
    finally:
        set_settings(ops, bind_mode="permanent")


def test_openapi_document_is_served(live):
    doc = requests.get(live.api("/openapi.json"), timeout=10).json()
    assert "/api/v1/orders" in doc["paths"] and "/api/v1/me/withdrawals" in doc["paths"]
    assert requests.get(live.api("/health"), timeout=10).json() == {"status": "ok", "db": "ok", "redis": "ok"}


def test_hold_period_keeps_commission_pending_until_it_ends(live, ops):
    from backend.commission.models import Commission, Payout

    set_settings(ops, hold_days=7)
    try:
        a = distributor(live)
        c = login(live, invite_code=a.user["invite_code"])
        buy(live, c, create_product(ops, price_fen=10_000)["id"])
        drain(live)
        assert a.get("/me/wallet").json()["pending_fen"] == 1_000
        assert a.get("/me/commissions").json()["items"][0]["status"] == "pending"
        sweep(live)
        drain(live)
        assert a.get("/me/wallet").json()["available_fen"] == 0  # still on hold
        with live.app.app_context():  # seven days pass: the hold and the payout's next try are due
            commission = db.session.scalar(db.select(Commission).where(Commission.user_id == a.id))
            commission.available_at = utcnow() - timedelta(seconds=1)
            db.session.execute(db.update(Payout).where(Payout.user_id == a.id)
                               .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
        sweep(live)
        drain(live)
        wallet = a.get("/me/wallet").json()
        assert (wallet["pending_fen"], wallet["available_fen"]) == (0, 1_000)
    finally:
        set_settings(ops, hold_days=0)


def test_earned_message_sent_once_per_interval(live, ops):
    from backend.auth.models import User

    a = distributor(live)
    c = login(live, invite_code=a.user["invite_code"])
    product = create_product(ops, price_fen=1_000)
    buy(live, c, product["id"])
    buy(live, c, product["id"])
    drain(live)
    with live.app.app_context():
        openid = db.session.get(User, a.id).openid
    messages = [m for m in ledger(live)["messages"] if m.get("touser", m.get("openid")) == openid]
    assert len(messages) == 1  # two commissions, one nudge; the wallet shows both
    assert a.get("/me/wallet").json()["available_fen"] == 200


def test_level_two_follows_a_move(live, ops, admin_token):
    a, b, c = chain(live)
    a2 = distributor(live)
    assert [m["user_id"] for m in a.get("/me/team", params={"level": 2}).json()["items"]] == [c.id]
    r = admin(live, admin_token).post(f"/admin/users/{b.id}/move",
                                      json={"invite_code": a2.user["invite_code"], "reason": "wrong sharer"})
    assert r.status_code == 200, r.text
    assert a.get("/me/team", params={"level": 2}).json()["total"] == 0
    assert a.get("/me/team", params={"level": 1}).json()["total"] == 0
    moved = a2.get("/me/team", params={"level": 2}).json()
    assert [(m["user_id"], m["via"]["id"]) for m in moved["items"]] == [(c.id, b.id)]
    tree = admin(live, admin_token).get(f"/admin/users/{a2.id}/tree").json()
    assert (tree["level1"], tree["level2"]) == ({"count": 1}, {"count": 1})


def _ordered_paying_and_past_its_deadline(live, client, product) -> dict:
    """One unit ordered and handed to WeChat Pay, then the payment deadline passes."""
    order = client.post("/orders", json={"items": [{"product_id": product["id"], "quantity": 1}]}).json()
    assert client.post(f"/orders/{order['id']}/pay").status_code == 200
    with live.app.app_context():
        db.session.get(Order, order["id"]).expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    return order


def test_order_paid_between_the_sweepers_query_and_close_is_recorded(live, ops, monkeypatch):
    """The sweeper asks WeChat (NOTPAY), the user pays that instant, closeorder
    answers ORDERPAID: the order is paid and earns commission, never cancelled."""
    from test_payouts import fault

    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000, stock=5)
    order = _ordered_paying_and_past_its_deadline(live, c, product)
    gateway = live.app.extensions["wechat_gateway"]
    real_query = gateway.query_order

    def query_then_user_pays(out_trade_no):
        answer = real_query(out_trade_no)
        if out_trade_no == order["out_trade_no"]:
            fault(live, target="notify", mode="drop_notify")  # its notify is late
            requests.post(f"{live.emulator_url}/sandbox/pay/{out_trade_no}", json={}, timeout=10)
        return answer

    with monkeypatch.context() as patched:
        patched.setattr(gateway, "query_order", query_then_user_pays)
        sweep(live)
    assert c.get(f"/orders/{order['id']}").json()["status"] == "paid"
    assert c.get(f"/products/{product['id']}").json()["stock"] == 4
    sweep(live)
    drain(live)
    assert b.get("/me/wallet").json()["available_fen"] == 1_000


def test_an_order_the_user_is_still_paying_is_not_cancelled(live, ops, monkeypatch):
    c = login(live)
    product = create_product(ops, price_fen=500, stock=3)
    order = _ordered_paying_and_past_its_deadline(live, c, product)
    gateway = live.app.extensions["wechat_gateway"]
    real_query = gateway.query_order
    with monkeypatch.context() as patched:
        patched.setattr(gateway, "query_order", lambda no: {**real_query(no), "trade_state": "USERPAYING"})
        sweep(live)
    assert c.get(f"/orders/{order['id']}").json()["status"] == "pending_payment"
    assert c.get(f"/products/{product['id']}").json()["stock"] == 2
    sweep(live)  # the user gave up: now it is closed and cancelled
    assert c.get(f"/orders/{order['id']}").json()["status"] == "cancelled"
    assert c.get(f"/products/{product['id']}").json()["stock"] == 3


def test_you_earned_message_once_per_payout_and_at_most_one_per_interval(live, ops):
    from backend.auth.models import User
    from backend.commission.messages import send_earned_messages
    from backend.commission.models import Payout
    from backend.extensions import redis_client

    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    with live.app.app_context():
        openids = {who: db.session.get(User, who.id).openid for who in (a, b)}

    def received(who) -> list[str]:
        return [m["data"]["amount1"]["value"] for m in ledger(live)["messages"] if m["touser"] == openids[who]]

    buy(live, c, product["id"])
    drain(live)
    assert (received(b), received(a)) == (["10.00"], ["5.00"])  # level 1 and level 2, each told once

    buy(live, c, product["id"])  # within the interval: the wallet shows it, no second message
    drain(live)
    assert b.get("/me/wallet").json()["available_fen"] == 2_000
    assert (received(b), received(a)) == (["10.00"], ["5.00"])

    with live.app.app_context():  # the same payouts handed over again
        ids = list(db.session.scalars(db.select(Payout.id).where(Payout.user_id.in_([a.id, b.id]))))
        assert send_earned_messages(ids) == 0  # the first two were claimed, the others still throttled
        prefix = live.app.config["FISSION"].queue_prefix
        redis_client().delete(*(f"{prefix}:earned-msg:{{{who.id}}}" for who in (a, b)))  # the interval passes
        assert send_earned_messages(ids) == 2  # only the throttled ones were never claimed
        assert send_earned_messages(ids) == 0
    assert (received(b), received(a)) == (["10.00", "10.00"], ["5.00", "5.00"])

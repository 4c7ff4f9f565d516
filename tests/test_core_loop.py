"""The whole story: A ← B ← C, C pays, B earns level 1 and A level 2."""

from __future__ import annotations

from helpers import admin, buy, create_product, distributor, drain, login, set_settings


def test_two_level_commission_lands_in_both_wallets(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, level1_bp=1000, level2_bp=500, cap_bp=3000, payout_rail="wallet", hold_days=0)
    a = distributor(live)
    b = distributor(live, invite_code=a.user["invite_code"])
    assert b.user["inviter_id"] == a.id
    c = login(live, invite_code=b.user["invite_code"])
    assert c.user["inviter_id"] == b.id
    product = create_product(ops, price_fen=9_999)

    order = buy(live, c, product["id"], quantity=2)
    drain(live)

    assert c.get(f"/orders/{order['id']}").json()["status"] == "paid"
    # 19,998 fen paid: 10% → 1,999 (rounded down), 5% → 999
    assert b.get("/me/wallet").json() == {"pending_fen": 0, "available_fen": 1_999, "withdrawn_fen": 0,
                                          "total_earned_fen": 1_999, "in_transit_fen": 0}
    assert a.get("/me/wallet").json()["available_fen"] == 999
    b_commissions = b.get("/me/commissions").json()["items"]
    assert [(x["order_id"], x["level"], x["amount_fen"], x["status"]) for x in b_commissions] == [
        (order["id"], 1, 1_999, "available")]
    assert b_commissions[0]["buyer"]["id"] == c.id
    assert a.get("/me/commissions").json()["items"][0]["level"] == 2

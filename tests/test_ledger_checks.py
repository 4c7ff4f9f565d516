"""Wallets always equal what the ledger's own entries add up to."""

from __future__ import annotations

from helpers import buy, chain, create_product, drain, set_settings
from test_payouts import confirm, payouts_of


def test_wallets_match_the_ledger_after_payouts_and_refunds(live, ops):
    set_settings(ops, payout_rail="wechat_transfer")
    a, b, c = chain(live)
    first = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    confirm(live, payouts_of(ops, b.id)[0]["out_bill_no"])
    refund = ops.post(f"/admin/orders/{first['id']}/refund", json={"amount_fen": 4_000, "reason": "part"})
    assert refund.status_code == 201
    buy(live, c, create_product(ops, price_fen=3_000)["id"])
    drain(live)
    for person in (a, b):
        check = ops.get(f"/admin/users/{person.id}/wallet-check").json()
        assert check == {"user_id": person.id, "ok": True, "drift": {}}
    assert b.get("/admin/users/1/wallet-check").status_code == 403  # not for distributors
    # the team page's "brought me" follows the clawback and the next order, by level
    [seen_by_b] = b.get("/me/team", params={"sort": "contribution"}).json()["items"]
    assert (seen_by_b["user_id"], seen_by_b["commission_to_me_fen"]) == (c.id, 1_000 - 400 + 300)
    [seen_by_a] = a.get("/me/team", params={"level": 2, "sort": "contribution"}).json()["items"]
    assert (seen_by_a["user_id"], seen_by_a["commission_to_me_fen"]) == (c.id, 500 - 200 + 150)

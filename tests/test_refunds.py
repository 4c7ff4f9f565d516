"""Refunds WeChat refuses put everything back where it was."""

from __future__ import annotations

from helpers import chain, create_product, drain, notify_xml, ordered_and_prepaid, post_notify


def test_refused_refund_restores_order_and_commission(live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    # Paid as far as we know (a correctly signed notify), but WeChat's books say
    # otherwise, so WeChat refuses the refund (TRADE_STATE_ERROR).
    order, openid = ordered_and_prepaid(live, c, product["id"])
    assert "SUCCESS" in post_notify(live, notify_xml(order["out_trade_no"], 10_000, openid))
    drain(live)
    assert b.get("/me/wallet").json()["available_fen"] == 1_000

    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"reason": "damaged"})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "failed"
    assert c.get(f"/orders/{order['id']}").json()["status"] == "paid"
    assert c.get(f"/orders/{order['id']}").json()["refunded_fen"] == 0
    assert b.get("/me/wallet").json()["available_fen"] == 1_000
    assert a.get("/me/wallet").json()["available_fen"] == 500
    [line] = b.get("/me/commissions").json()["items"]
    assert (line["status"], line["reversed_fen"]) == ("available", 0)
    # the clawback and its undo cancel out on the team page too
    [member] = b.get("/me/team", params={"sort": "contribution"}).json()["items"]
    assert (member["user_id"], member["commission_to_me_fen"]) == (c.id, 1_000)

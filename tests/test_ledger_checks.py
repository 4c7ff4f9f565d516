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


def _ledger_check(live, batch: int = 2):
    return live.app.test_cli_runner().invoke(args=["fission", "ledger-check", "--batch", str(batch)])


def test_the_ledger_check_walks_every_wallet_and_names_each_drift(live, ops):
    """``flask fission ledger-check``: every wallet against its ledger, in batches (a
    batch of 2 here, so the keyset walk crosses several), exit 1 naming each drift."""
    from sqlalchemy import text

    from backend.extensions import db

    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    clean = _ledger_check(live)
    assert clean.exit_code == 0, clean.output
    assert "every wallet equals its ledger" in clean.output
    with live.app.app_context():
        db.session.execute(text("UPDATE wallets SET available_fen = available_fen + 7 WHERE user_id = :u"),
                           {"u": b.id})
        db.session.commit()
    try:
        found = _ledger_check(live)
        assert found.exit_code == 1
        assert f"user {b.id}: available_fen stored 1007, ledger says 1000" in found.output
        assert "1 wallet(s) differ from the ledger" in found.output
        assert ops.get(f"/admin/users/{b.id}/wallet-check").json()["drift"] == {
            "available_fen": {"stored": 1007, "ledger": 1000}}
    finally:
        with live.app.app_context():
            db.session.execute(text("UPDATE wallets SET available_fen = available_fen - 7 WHERE user_id = :u"),
                               {"u": b.id})
            db.session.commit()
    assert _ledger_check(live).exit_code == 0

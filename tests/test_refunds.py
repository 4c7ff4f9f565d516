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


def refund_notify(live, out_refund_no: str, out_trade_no: str, status: str) -> str:
    """A refund notify as WeChat Pay v2 sends it: req_info encrypted with md5(API key)."""
    import uuid

    import requests

    from backend.config import SANDBOX_APPID, SANDBOX_MCH_ID, SANDBOX_PAY_API_KEY
    from backend.wechat.emulator.signing import refund_encrypt, to_xml

    inner = {"out_refund_no": out_refund_no, "out_trade_no": out_trade_no, "refund_status": status,
             "refund_id": "50" + uuid.uuid4().hex[:27]}
    plaintext = "<root>" + to_xml(inner)[len("<xml>"):-len("</xml>")] + "</root>"
    body = to_xml({"return_code": "SUCCESS", "appid": SANDBOX_APPID, "mch_id": SANDBOX_MCH_ID,
                   "nonce_str": uuid.uuid4().hex, "req_info": refund_encrypt(SANDBOX_PAY_API_KEY, plaintext)})
    r = requests.post(live.api("/payments/wechat/refund-notify"), data=body.encode(),
                      headers={"Content-Type": "text/xml"}, timeout=30)
    assert r.status_code == 200 and "SUCCESS" in r.text, r.text
    return r.text


def test_a_failed_first_refund_leaves_exactly_the_pro_rata_clawback(live, ops):
    """Paid 10,000; refunds of 3,333 and then 6,667 (the second completes the order, so
    it reverses the rest). When the first turns out to have failed, 6,667 stays refunded:
    the commission reversed is 6,667 / 10,000 of it, rounded down, not a fen more."""
    from helpers import buy
    from test_payouts import fault

    a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    fault(live, target="notify", mode="drop_notify")  # the first refund's notify is lost
    first = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 3_333, "reason": "one"})
    assert first.status_code == 201 and first.json()["status"] == "processing", first.text
    second = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 6_667, "reason": "rest"})
    assert second.status_code == 201, second.text
    refund_notify(live, first.json()["out_refund_no"], order["out_trade_no"], "REFUNDCLOSE")

    assert c.get(f"/orders/{order['id']}").json()["refunded_fen"] == 6_667
    [line_b] = b.get("/me/commissions").json()["items"]
    [line_a] = a.get("/me/commissions").json()["items"]
    assert line_b["reversed_fen"] == 1_000 * 6_667 // 10_000  # 666
    assert line_a["reversed_fen"] == 500 * 6_667 // 10_000  # 333
    assert b.get("/me/wallet").json()["available_fen"] == 1_000 - 666
    assert a.get("/me/wallet").json()["available_fen"] == 500 - 333


def test_a_refund_whose_notify_is_lost_is_settled_by_asking_wechat(live, ops):
    """WeChat made the refund but its notify never arrived: the sweeper's next pass asks
    WeChat (refundquery) and completes the refund, without sending it a second time."""
    from datetime import timedelta

    from helpers import buy, ledger, sweep
    from test_payouts import fault

    from backend.extensions import db
    from backend.orders.models import Refund
    from backend.timeutil import utcnow

    a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    fault(live, target="notify", mode="drop_notify")
    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 4_000, "reason": "lost notify"})
    assert r.status_code == 201 and r.json()["status"] == "processing", r.text
    out_refund_no = r.json()["out_refund_no"]

    def state() -> str:
        with live.app.app_context():
            try:
                return db.session.scalar(db.select(Refund.status).where(Refund.out_refund_no == out_refund_no))
            finally:
                db.session.remove()

    assert state() == "processing"
    with live.app.app_context():  # the minute the notify normally takes has passed
        db.session.execute(db.update(Refund).where(Refund.out_refund_no == out_refund_no)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()
    assert sweep(live)["refunds"] == 1
    drain(live)
    assert state() == "succeeded"
    assert sweep(live)["refunds"] == 0  # nothing left to ask about
    made = [x for x in ledger(live)["refunds"] if x["out_refund_no"] == out_refund_no]
    assert len(made) == 1 and made[0]["refund_fee"] == 4_000
    assert c.get(f"/orders/{order['id']}").json()["refunded_fen"] == 4_000


def test_a_refund_that_fails_after_the_commission_was_withdrawn_leaves_it_withdrawn(live, ops):
    """The commission went out by transfer, then a full refund took it back (a debt in
    the wallet), then WeChat closed the refund: everything is as before the refund,
    and the commission reads ``withdrawn``, not ``available`` (its money has left)."""
    from helpers import buy, set_settings
    from test_payouts import fault

    set_settings(ops, payout_rail="wechat_legacy_transfer")
    a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    [line] = b.get("/me/commissions").json()["items"]
    assert line["status"] == "withdrawn"
    before = b.get("/me/wallet").json()
    assert (before["available_fen"], before["withdrawn_fen"]) == (0, 1_000)

    fault(live, target="notify", mode="drop_notify")
    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"reason": "returned"})
    assert r.status_code == 201 and r.json()["status"] == "processing", r.text
    assert b.get("/me/wallet").json()["available_fen"] == -1_000  # the clawback: a debt for now
    [line] = b.get("/me/commissions").json()["items"]
    assert (line["status"], line["reversed_fen"]) == ("reversed", 1_000)

    refund_notify(live, r.json()["out_refund_no"], order["out_trade_no"], "REFUNDCLOSE")
    [line] = b.get("/me/commissions").json()["items"]
    assert (line["status"], line["reversed_fen"]) == ("withdrawn", 0)
    assert b.get("/me/wallet").json() == before

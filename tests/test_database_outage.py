"""A database connection cut during a request (a server restart, a failover): the
request answers 503 SERVICE_UNAVAILABLE with Retry-After, not a 500 that reads as a
bug, and nothing of it is kept. bench/chaos.py restarts PostgreSQL under load; this
is the same moment, made to happen in one chosen request."""

from __future__ import annotations

import requests
from helpers import chain, create_product, notify_xml, ordered_and_prepaid, post_notify
from sqlalchemy.exc import OperationalError

from backend.orders import payment


class ServerClosedTheConnection(Exception):
    pass


class DeadlockDetected(Exception):
    """A driver's error as MySQL drivers raise it: (code, message)."""


def test_a_notify_whose_connection_was_cut_answers_503_and_the_next_one_pays(live, ops, monkeypatch):
    _, _, c = chain(live)
    product = create_product(ops, price_fen=3_000)
    order, openid = ordered_and_prepaid(live, c, product["id"])
    real_mark_paid = payment.mark_paid

    def cut(*args, **kwargs):
        real_mark_paid(*args, **kwargs)  # written, then the server goes away before the commit
        raise OperationalError("UPDATE orders ...", {}, ServerClosedTheConnection("terminating connection"),
                               connection_invalidated=True)

    monkeypatch.setattr(payment, "mark_paid", cut)
    xml = notify_xml(order["out_trade_no"], 3_000, openid)
    r = requests.post(live.api("/payments/wechat/notify"), data=xml, headers={"Content-Type": "text/xml"},
                      timeout=30)
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert r.headers["Retry-After"] == "1"
    assert c.get(f"/orders/{order['id']}").json()["status"] == "pending_payment"  # nothing of it was kept

    monkeypatch.setattr(payment, "mark_paid", real_mark_paid)
    assert "SUCCESS" in post_notify(live, xml)  # WeChat's repeat of the same notify
    assert c.get(f"/orders/{order['id']}").json()["status"] == "paid"


def test_a_deadlock_victim_answers_503_and_keeps_nothing(live, ops, monkeypatch):
    """A request the database picked as a deadlock victim, on a path no retry covers: the
    database rolled it all back, so it is "try again", like a cut connection."""
    _, _, c = chain(live)
    product = create_product(ops, price_fen=3_000)
    order, openid = ordered_and_prepaid(live, c, product["id"])
    real_mark_paid = payment.mark_paid

    def victim(*args, **kwargs):
        real_mark_paid(*args, **kwargs)
        raise OperationalError("UPDATE wallets ...", {}, DeadlockDetected(1213, "Deadlock found"))

    monkeypatch.setattr(payment, "mark_paid", victim)
    xml = notify_xml(order["out_trade_no"], 3_000, openid)
    r = requests.post(live.api("/payments/wechat/notify"), data=xml, headers={"Content-Type": "text/xml"},
                      timeout=30)
    assert (r.status_code, r.json()["error"]["code"], r.headers["Retry-After"]) == (503, "SERVICE_UNAVAILABLE", "1")
    assert c.get(f"/orders/{order['id']}").json()["status"] == "pending_payment"
    monkeypatch.setattr(payment, "mark_paid", real_mark_paid)
    assert "SUCCESS" in post_notify(live, xml)
    assert c.get(f"/orders/{order['id']}").json()["status"] == "paid"


def test_other_database_errors_stay_internal_errors(live, ops, monkeypatch):
    _, _, c = chain(live)
    product = create_product(ops, price_fen=3_000)
    order, openid = ordered_and_prepaid(live, c, product["id"])

    def broken(*args, **kwargs):
        raise OperationalError("SELECT ...", {}, ServerClosedTheConnection("syntax"), connection_invalidated=False)

    monkeypatch.setattr(payment, "mark_paid", broken)
    r = requests.post(live.api("/payments/wechat/notify"), data=notify_xml(order["out_trade_no"], 3_000, openid),
                      headers={"Content-Type": "text/xml"}, timeout=30)
    assert r.status_code == 500 and r.json()["error"]["code"] == "INTERNAL_ERROR"

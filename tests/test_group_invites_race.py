"""Racing first calls of GET /orders/{id}/group-invite (a page's onLoad and onShow, a
double tap) create ONE join way and ONE contact way in 企业微信, and all of them show
that one. Before: 2-4 join ways and 4-5 contact ways for one invite, never shown, never
cleaned up (issue 15)."""

from __future__ import annotations

import threading

import requests
from helpers import buy, create_product, distributor, live_code, login, wecom_group, wecom_state

from backend.community.invites import WAYS
from backend.wechat.errors import WeChatUnavailable
from backend.wechat.wecom import WeComGateway

RACERS = 8


def _paid_order_with_an_invite_to_make(live, ops):
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"], contact_userid="staff-li")
    wecom_group(live, ops, code["id"])
    seller = distributor(live)
    buyer = login(live, invite_code=seller.user["invite_code"])
    return buyer, buy(live, buyer, product["id"])


def _ways_of(live, order_id: int) -> tuple[list, list]:
    state = wecom_state(live)
    joins = [w for w in state["join_ways"].values() if w["remark"] == f"order {order_id}"]
    states = {w["state"] for w in joins}
    contacts = [w for w in state["contact_ways"].values() if w["state"] in states]
    return joins, contacts


def test_racing_first_calls_make_one_join_way_and_one_contact_way(live, ops):
    buyer, order = _paid_order_with_an_invite_to_make(live, ops)
    url = live.api(f"/orders/{order['id']}/group-invite")
    barrier, answers = threading.Barrier(RACERS), []

    def call():
        barrier.wait()
        answers.append(requests.get(url, headers={"Authorization": f"Bearer {buyer.token}"}, timeout=60))

    threads = [threading.Thread(target=call) for _ in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)

    assert [a.status_code for a in answers] == [200] * RACERS, [a.text for a in answers]
    joins, contacts = _ways_of(live, order["id"])
    assert len(joins) == 1 and len(contacts) == 1, (joins, contacts)
    shown = {(a.json()["qr_image_url"], a.json()["contact_qr_url"]) for a in answers}
    assert shown == {(joins[0]["qr_code"], contacts[0]["qr_code"])}  # every racer shows the one made


def test_a_failed_call_gives_the_claim_back_and_the_next_call_makes_the_way(live, ops, monkeypatch):
    buyer, order = _paid_order_with_an_invite_to_make(live, ops)
    real = WeComGateway.add_join_way

    def unreachable(self, *args, **kwargs):
        raise WeChatUnavailable("企业微信 timed out")

    monkeypatch.setattr(WeComGateway, "add_join_way", unreachable)
    r = buyer.get(f"/orders/{order['id']}/group-invite")
    assert r.status_code == 502 and r.json()["error"]["code"] == "WECHAT_UNAVAILABLE"
    with live.app.app_context():
        from backend.community.models import GroupInvite
        from backend.extensions import db

        invite = db.session.query(GroupInvite).filter_by(order_id=order["id"]).one()
        claim = getattr(invite, WAYS["join"][2].key)
        db.session.remove()
    assert claim is None  # given back: the next call need not wait for it to lapse

    monkeypatch.setattr(WeComGateway, "add_join_way", real)
    r = buyer.get(f"/orders/{order['id']}/group-invite")  # at once, not after the claim's 10 s
    assert r.status_code == 200, r.text
    joins, contacts = _ways_of(live, order["id"])
    assert len(joins) == 1 and len(contacts) == 1
    assert r.json()["qr_image_url"] == joins[0]["qr_code"]

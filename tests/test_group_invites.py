"""Group invites after payment: shown, opened, joined through 企业微信, attributed; the
live code's rotation and low-pool alert; only the buyer sees the invite."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import requests
from helpers import (
    buy,
    create_product,
    distributor,
    funnel_row,
    join_way_of,
    live_code,
    login,
    personal_group,
    point_wecom_callback,
    wecom_group,
    wecom_join,
)
from sqlalchemy import select

from backend.community.models import GroupJoin
from backend.extensions import db


def open_invite(buyer, order_id: int, kind: str = "open"):
    r = buyer.post("/events", json={"events": [{"type": kind, "order_id": order_id, "page": "pages/paid"}]})
    assert r.status_code == 202, r.text


def test_buyer_pays_sees_opens_joins_and_the_funnel_counts_one_of_each(live, ops):
    point_wecom_callback(live)
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"], text="进群领优惠券")
    group = wecom_group(live, ops, code["id"])
    seller = distributor(live)
    login_code = f"buyer-{uuid.uuid4().hex}"
    buyer = login(live, invite_code=seller.user["invite_code"], code=login_code)
    order = buy(live, buyer, product["id"])

    r = buyer.get(f"/orders/{order['id']}/group-invite")
    assert r.status_code == 200, r.text
    invite = r.json()
    assert invite["group"] == {"id": group["id"], "name": group["name"], "kind": "wecom"}
    assert invite["text"] == "进群领优惠券" and invite["qr_image_url"].startswith("https://")
    assert invite["opened"] is False and invite["joined"] is False
    again = buyer.get(f"/orders/{order['id']}/group-invite").json()
    assert again["qr_image_url"] == invite["qr_image_url"] and again["shown_at"] == invite["shown_at"]

    open_invite(buyer, order["id"])
    open_invite(buyer, order["id"])  # the mini-program reports twice: counted once
    open_invite(buyer, order["id"], "save")
    way = join_way_of(live, order["id"])
    assert way["chat_id_list"][0] == group["chat_id"] and len(way["state"]) <= 30
    joined = wecom_join(live, way["config_id"], login_code)
    assert joined["delivered"] is True and joined["chat_id"] == group["chat_id"]

    assert buyer.get(f"/orders/{order['id']}/group-invite").json()["joined"] is True
    row = funnel_row(ops, "distributor", seller.id)
    assert {k: row[k] for k in ("paid_orders", "shown", "opened", "saved", "joined")} == {
        "paid_orders": 1, "shown": 1, "opened": 1, "saved": 1, "joined": 1}
    assert row["join_rate"] == 1.0 and row["avg_join_seconds"] is not None
    assert row["label"] == seller.user["nickname"]
    by_group = funnel_row(ops, "group", group["id"])
    assert (by_group["shown"], by_group["joined"], by_group["paid_orders"]) == (1, 1, None)
    by_product = funnel_row(ops, "product", product["id"])
    assert (by_product["paid_orders"], by_product["joined"]) == (1, 1)
    with live.app.app_context():
        rows = db.session.scalars(select(GroupJoin).where(GroupJoin.order_id == order["id"])).all()
        assert [(j.source, j.distributor_id, j.group_id) for j in rows] == [("wecom_group", seller.id, group["id"])]
        db.session.remove()
    groups = {g["id"]: g for g in ops.get("/admin/community/groups").json()["items"]}
    assert groups[group["id"]]["member_count"] == 2  # the owner and the buyer, as 企业微信 reports


def test_contact_way_adds_the_buyer_as_a_contact(live, ops):
    point_wecom_callback(live)
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"], contact_userid="staff-zhang")
    wecom_group(live, ops, code["id"])
    seller = distributor(live)
    login_code = f"buyer-{uuid.uuid4().hex}"
    buyer = login(live, invite_code=seller.user["invite_code"], code=login_code)
    order = buy(live, buyer, product["id"])
    invite = buyer.get(f"/orders/{order['id']}/group-invite").json()
    assert invite["contact_qr_url"].startswith("https://")

    ways = requests.get(f"{live.emulator_url}/sandbox/wecom/state", timeout=10).json()["contact_ways"]
    way = next(w for w in ways.values() if invite["contact_qr_url"] == w["qr_code"])
    assert way["user"] == ["staff-zhang"]
    added = wecom_join(live, way["config_id"], login_code)
    assert added["delivered"] is True and added["kind"] == "contact"
    row = funnel_row(ops, "distributor", seller.id)
    assert (row["shown"], row["contacts"], row["joined"]) == (1, 1, 0)


def test_full_and_expiring_groups_are_skipped_and_a_low_pool_alerts(live, ops):
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"], low_water=1)
    soon_full = personal_group(ops, code["id"], capacity=1)
    expiring = personal_group(ops, code["id"], expires_at=(datetime.now(UTC) + timedelta(hours=12)).isoformat())
    roomy = personal_group(ops, code["id"], capacity=50)
    assert expiring["offerable"] is False

    def alerts():
        items = ops.get("/admin/community/alerts").json()["items"]
        return [a for a in items if a["live_code_id"] == code["id"]]

    first = login(live)
    order1 = buy(live, first, product["id"])
    shown1 = first.get(f"/orders/{order1['id']}/group-invite").json()
    assert shown1["group"]["id"] == soon_full["id"]
    assert alerts() == []  # two groups still to offer
    image = requests.get(live.url + shown1["qr_image_url"], timeout=10)
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"

    r = ops.post(f"/admin/community/orders/{order1['id']}/join", json={})  # the operator saw them join
    assert r.status_code == 200 and r.json()["recorded"] is True, r.text
    assert ops.post(f"/admin/community/orders/{order1['id']}/join", json={}).json()["recorded"] is False

    second, third = login(live), login(live)
    order2, order3 = buy(live, second, product["id"]), buy(live, third, product["id"])
    shown2 = second.get(f"/orders/{order2['id']}/group-invite").json()
    shown3 = third.get(f"/orders/{order3['id']}/group-invite").json()
    assert shown2["group"]["id"] == shown3["group"]["id"] == roomy["id"]  # full one and expiring one skipped
    raised = alerts()
    assert len(raised) == 1 and raised[0]["usable_groups"] == 1 and raised[0]["kind"] == "pool_low"

    # the roomy group closes before the third buyer joined: they are shown a fresh group
    fresh = personal_group(ops, code["id"])
    r = requests.patch(live.api(f"/admin/community/groups/{roomy['id']}"), json={"status": "closed"},
                       headers=ops._headers(), timeout=10)
    assert r.status_code == 200 and r.json()["offerable"] is False
    assert third.get(f"/orders/{order3['id']}/group-invite").json()["group"]["id"] == fresh["id"]
    assert first.get(f"/orders/{order1['id']}/group-invite").json()["group"]["id"] == soon_full["id"]  # joined
    row = funnel_row(ops, "group", roomy["id"])
    assert row["shown"] == 1  # the third buyer's invite moved to the fresh group
    assert funnel_row(ops, "group", fresh["id"])["shown"] == 1
    attention = ops.get("/admin/community/groups/attention").json()["items"]
    assert {soon_full["id"], expiring["id"]} <= {g["id"] for g in attention}


def test_only_the_buyer_gets_the_invite_and_only_once_paid(live, ops):
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"])
    personal_group(ops, code["id"])
    buyer, stranger = login(live), login(live)
    order = buy(live, buyer, product["id"])

    r = stranger.get(f"/orders/{order['id']}/group-invite")
    assert r.status_code == 404 and r.json()["error"]["code"] == "ORDER_NOT_FOUND"
    assert requests.get(live.api(f"/orders/{order['id']}/group-invite"), timeout=10).status_code == 401
    open_invite(stranger, order["id"])  # someone else's open event counts for nothing
    unpaid = buyer.post("/orders", json={"items": [{"product_id": product["id"], "quantity": 1}]}).json()
    r = buyer.get(f"/orders/{unpaid['id']}/group-invite")
    assert r.status_code == 409 and r.json()["error"]["code"] == "ORDER_NOT_PAID"
    assert buyer.get(f"/orders/{order['id']}/group-invite").json()["opened"] is False


def test_bad_admin_input_is_refused(live, ops):
    code = live_code(ops)
    r = ops.post("/admin/community/groups", json={"live_code_id": code["id"], "kind": "personal", "name": "x",
                                                    "qr_image": "bm90IGFuIGltYWdl"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_QR_IMAGE"
    r = ops.post("/admin/community/groups", json={"live_code_id": 999999, "kind": "wecom", "name": "x",
                                                    "chat_id": "wrX"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "LIVE_CODE_NOT_FOUND"
    r = ops.get("/admin/community/funnel", params={"from": "2026-01-10", "to": "2026-01-01"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_DATE_RANGE"
    r = ops.post("/admin/community/orders/999999/join", json={})
    assert r.status_code == 404 and r.json()["error"]["code"] == "GROUP_INVITE_NOT_FOUND"
    # a 企业微信 group has no QR and no imported member list; an expiry comes with its QR
    own = live_code(ops, product_id=create_product(ops)["id"])  # offered for its product only
    wecom = wecom_group(live, ops, own["id"])
    personal = personal_group(ops, own["id"])
    for group, body in ((wecom, {"qr_image": "bm90IGFuIGltYWdl"}), (personal, {"expires_at": "2030-01-01T00:00:00Z"})):
        r = ops.patch(f"/admin/community/groups/{group['id']}", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text
    r = ops.post(f"/admin/community/groups/{wecom['id']}/members", json={"members": [{"name": "x"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    listed = {g["id"]: g for g in ops.get("/admin/community/groups").json()["items"]}
    assert listed[wecom["id"]]["member_count"] == 0 and listed[personal["id"]]["expires_at"] == personal["expires_at"]


def test_personal_group_member_import_counts_each_join_once(live, ops):
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"])
    group = personal_group(ops, code["id"], capacity=3)
    seller = distributor(live)
    buyer = login(live, invite_code=seller.user["invite_code"])
    order = buy(live, buyer, product["id"])
    assert buyer.get(f"/orders/{order['id']}/group-invite").json()["group"]["id"] == group["id"]

    members = [{"name": "店长"}, {"name": "小王", "order_id": order["id"]}, {"name": "路人"}]
    for _ in range(2):  # the operator imports the same list twice
        r = ops.post(f"/admin/community/groups/{group['id']}/members", json={"members": members})
        assert r.status_code == 200, r.text
    assert r.json() == {"member_count": 3, "joins_recorded": 0}
    row = funnel_row(ops, "distributor", seller.id)
    assert (row["shown"], row["joined"]) == (1, 1)
    listed = {g["id"]: g for g in ops.get("/admin/community/groups").json()["items"]}[group["id"]]
    assert listed["member_count"] == 3 and listed["offerable"] is False  # full now: not offered again
    later = login(live)
    r = later.get(f"/orders/{buy(live, later, product['id'])['id']}/group-invite")
    assert r.status_code == 404 and r.json()["error"]["code"] == "NO_GROUP_AVAILABLE"
    assert any(a["live_code_id"] == code["id"] and a["usable_groups"] == 0
               for a in ops.get("/admin/community/alerts").json()["items"])


def test_unknown_or_out_of_range_ids_are_refused_with_a_code_not_a_500(live, ops):
    buyer = login(live)
    r = buyer.post("/events", json={"events": [{"type": "open", "order_id": 10**10}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text
    r = requests.post(live.api("/events"), json={"events": [{"type": "save", "order_id": 2**31}]}, timeout=10)
    assert r.status_code == 422, r.text
    for field, error in (("product_id", "PRODUCT_NOT_FOUND"), ("campaign_id", "NOT_FOUND"),
                         ("distributor_id", "NOT_FOUND")):
        r = ops.post("/admin/community/live-codes", json={"name": "x", field: 99999999})
        assert r.status_code == 404 and r.json()["error"]["code"] == error, r.text
    code = live_code(ops)
    group = personal_group(ops, code["id"])
    r = ops.post(f"/admin/community/groups/{group['id']}/members",
                 json={"members": [{"name": "a", "order_id": 10**10}]})
    assert r.status_code == 422, r.text
    r = ops.post("/admin/community/orders/1/join", json={"group_id": 10**10})
    assert r.status_code == 422, r.text
    r = ops.post("/admin/community/groups", json={"live_code_id": 10**10, "kind": "wecom", "name": "x",
                                                    "chat_id": "wrX"})
    assert r.status_code == 422, r.text
    r = requests.patch(live.api(f"/admin/community/groups/{group['id']}"), json={"member_count": 10**10},
                       headers=ops._headers(), timeout=10)
    assert r.status_code == 422, r.text
    r = ops.get("/admin/community/funnel", params={"from": "0001-01-01", "to": "0001-06-01"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_DATE_RANGE", r.text


def test_a_contact_moves_with_its_invite_to_the_next_group(live, ops):
    """Repicking a group moves every count of the invite in the group dimension, as a
    rebuild from the invites would put it."""
    point_wecom_callback(live)
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"], contact_userid="staff-li")
    first = personal_group(ops, code["id"], capacity=5)
    login_code = f"buyer-{uuid.uuid4().hex}"
    buyer = login(live, code=login_code)
    order = buy(live, buyer, product["id"])
    invite = buyer.get(f"/orders/{order['id']}/group-invite").json()
    assert invite["group"]["id"] == first["id"]
    ways = requests.get(f"{live.emulator_url}/sandbox/wecom/state", timeout=10).json()["contact_ways"]
    way = next(w for w in ways.values() if invite["contact_qr_url"] == w["qr_code"])
    assert wecom_join(live, way["config_id"], login_code)["delivered"] is True
    assert (funnel_row(ops, "group", first["id"])["contacts"]) == 1

    r = requests.patch(live.api(f"/admin/community/groups/{first['id']}"), json={"member_count": 5},
                       headers=ops._headers(), timeout=10)
    assert r.status_code == 200, r.text
    second = personal_group(ops, code["id"])
    assert buyer.get(f"/orders/{order['id']}/group-invite").json()["group"]["id"] == second["id"]
    old, new = funnel_row(ops, "group", first["id"]), funnel_row(ops, "group", second["id"])
    assert (old["shown"], old["contacts"]) == (0, 0)
    assert (new["shown"], new["contacts"]) == (1, 1)

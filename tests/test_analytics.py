"""Fission analytics against figures worked out by hand on a small tree.

The tree is built over HTTP; then the moments (binds, payments, events) are moved
to days of 2031 that no other test touches, written in UTC in the database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from helpers import admin, buy, create_product, distributor, drain, login, set_settings
from sqlalchemy import select, update

from backend.auth.models import User
from backend.commission.models import Commission
from backend.community.models import ShareEvent
from backend.extensions import db
from backend.orders.models import Order
from backend.referral.models import BindHistory
from backend.timeutil import SHOP_TZ

D0, D1, D2 = "2031-05-10", "2031-05-11", "2031-05-12"
RANGE = {"from": D0, "to": "2031-05-13"}


def at(day: str, hhmm: str, shift_days: int = 0) -> datetime:
    """A Shanghai wall-clock moment, as the UTC instant the database stores."""
    local = datetime.fromisoformat(f"{day}T{hhmm}:00").replace(tzinfo=SHOP_TZ) + timedelta(days=shift_days)
    return local.astimezone(UTC)


def send(live, client, events: list[tuple[str, str | None, datetime]], marks: dict) -> None:
    """Post (type, share_code, when) events as ``client`` (None: anonymous), remembering when each happened."""
    body = []
    for kind, code, when in events:
        page = f"t-{uuid.uuid4().hex}"
        marks[page] = when
        body.append({"type": kind, "share_code": code, "page": page})
    headers = {"Authorization": f"Bearer {client.token}"} if client else {}
    r = requests.post(live.api("/events"), json={"events": body}, headers=headers, timeout=30)
    assert r.status_code == 202, r.text


@pytest.fixture(scope="module")
def tree(live, admin_token):
    """R's tree (and a small second tree R2), with the moments of the hand computation:

    R ── A ── B ── C2          R2 ── E
    │    ├── C1
    │    ├── O (an old customer)
    │    ├── W (bound, never buys)
    │    └── X (bound by its order)
    └── D
    """
    ops = admin(live, admin_token)
    set_settings(ops, level1_bp=1000, level2_bp=500, cap_bp=3000, payout_rail="wallet", hold_days=0,
                 bind_mode="permanent", self_purchase=False, mode="everyone")
    product = create_product(ops, price_fen=1000, stock=1000)["id"]
    r = distributor(live)
    a = distributor(live, r.user["invite_code"])
    b = distributor(live, a.user["invite_code"])
    c1 = login(live, a.user["invite_code"])
    c2 = login(live, b.user["invite_code"])
    d = login(live, r.user["invite_code"])
    o = login(live, a.user["invite_code"])
    w = login(live, a.user["invite_code"])
    x = login(live)
    r2 = distributor(live)
    e = login(live, r2.user["invite_code"])
    code_a, code_b, code_r, code_r2 = (u.user["invite_code"] for u in (a, b, r, r2))

    bound = {a: at(D0, "10:00", -10), b: at(D0, "09:00"), c1: at(D0, "14:00"), c2: at(D1, "08:00"),
             d: at(D1, "07:00"), o: at(D0, "10:00", -6), w: at(D2, "09:00"), x: at(D2, "13:00"),
             e: at(D0, "10:00")}
    paid = [
        (o, None, at(D0, "10:00", -5)),  # before the range: O's first order
        (c1, None, at(D1, "10:00")),
        (c2, None, at(D1, "11:00")),
        (c2, None, at(D2, "11:00")),  # C2's second order
        (d, None, at(D1, "15:00")),
        (r, code_a, at(D2, "09:00")),  # R cannot bind under A (a cycle): the chain comes from the share
        (x, code_a, at(D2, "13:05")),  # X is bound to A by this order (source "order")
        (o, None, at(D2, "14:00")),  # O's second order
        (e, None, at(D1, "12:00")),
    ]
    orders = [(buy(live, buyer, product, share_code=code)["id"], when) for buyer, code, when in paid]

    marks: dict[str, datetime] = {}
    send(live, a, [("share", code_a, at(D0, "10:00")), ("share", code_a, at(D0, "11:00")),
                   ("page_view", None, at(D2, "12:00"))], marks)
    send(live, b, [("share", code_b, at(D0, "12:00"))], marks)
    send(live, r, [("share", code_r, at(D1, "00:30"))], marks)  # 16:30 UTC on D0: a D1 event in Shanghai
    send(live, None, [("share", code_a, at(D0, "12:30")), ("visit", code_a, at(D1, "09:30"))], marks)
    send(live, x, [("visit", code_a, at(D0, "13:00"))], marks)
    send(live, c1, [("visit", code_a, at(D0, "13:00")), ("visit", code_a, at(D2, "11:00"))], marks)
    send(live, c2, [("visit", code_b, at(D1, "09:00"))], marks)
    send(live, o, [("visit", code_a, at(D2, "10:00"))], marks)
    send(live, d, [("visit", None, at(D1, "08:00"))], marks)  # no share code: not a share visit
    send(live, r2, [("share", code_r2, at(D0, "09:00"))], marks)
    send(live, e, [("share", None, at(D0, "18:00"))], marks)  # no code: the sender's tree

    with live.app.app_context():
        for user, when in bound.items():
            db.session.execute(update(User).where(User.id == user.id).values(bound_at=when))
            db.session.execute(update(BindHistory).where(BindHistory.user_id == user.id).values(created_at=when))
        for order_id, when in orders:  # before the worker credits them, as the leaderboards expect
            db.session.execute(update(Order).where(Order.id == order_id).values(paid_at=when))
            db.session.execute(update(Commission).where(Commission.order_id == order_id).values(created_at=when))
        for page, when in marks.items():
            db.session.execute(update(ShareEvent).where(ShareEvent.page == page).values(created_at=when))
        db.session.commit()
        chains = {oid: db.session.execute(select(Order.chain_source, Order.level1_id, Order.level2_id)
                                          .where(Order.id == oid)).one() for oid, _ in orders}
        sources = dict(db.session.execute(select(User.id, User.bind_source).where(User.id == x.id)).all())
    drain(live)
    # the premises of the hand computation
    assert chains[orders[5][0]] == ("share", a.id, None)
    assert chains[orders[6][0]] == ("binding", a.id, r.id) and sources[x.id] == "order"
    assert chains[orders[4][0]] == ("binding", r.id, None)
    return {"ops": ops, "r": r, "a": a, "r2": r2}


def fission(ops, **params):
    r = ops.get("/admin/analytics/fission", params={**RANGE, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_depth_distribution(tree):
    ops, r = tree["ops"], tree["r"]
    body = ops.get("/admin/analytics/depth", params={"root_id": r.id}).json()
    assert body == {"root_id": r.id, "total": 9, "depths": [
        {"depth": 0, "users": 1}, {"depth": 1, "users": 2}, {"depth": 2, "users": 5}, {"depth": 3, "users": 1}]}
    body = ops.get("/admin/analytics/depth", params={"root_id": tree["r2"].id}).json()
    assert body["depths"] == [{"depth": 0, "users": 1}, {"depth": 1, "users": 1}]
    everyone = ops.get("/admin/analytics/depth").json()
    assert everyone["root_id"] is None and everyone["total"] >= 11
    assert {row["depth"] for row in everyone["depths"]} >= {0, 1, 2, 3}


def test_fission_of_one_tree(tree):
    ops, r = tree["ops"], tree["r"]
    body = fission(ops, root_id=r.id)
    assert (body["from"], body["to"], body["root_id"]) == (D0, "2031-05-13", r.id)
    totals = body["totals"]
    assert {k: v for k, v in totals.items() if not k.endswith(("_factor", "_share"))} == {
        "shares": 5,  # A ×2, B, R, one anonymous with A's code
        "visitors": 4,  # X, C1, C2, O (D's visit has no share code)
        "anonymous_visits": 1,
        "binds": 6,  # B, C1, C2, D, W, X (A and O were bound before the range)
        "first_orders": 4,  # C1, C2, D, X (B and W never paid; R was never bound)
        "participants": 3,  # A, B, R
        "new_customers": 5,  # C1, C2, D, X by their binding; R by the share chain
        "reflow": 2,  # O (paid 5 days before), C1 (paid on D1, back on D2)
        "paid_orders": 7,
        "level2_orders": 5,  # all but D's (level 1 is the root) and R's (level 2 would be the buyer)
        "distributors": 3,  # A 4 orders, B 2, R 1
        "top_distributors": 1,
        "top_orders": 4,
    }
    assert totals["k_factor"] == pytest.approx(5 / 3)
    assert totals["level2_share"] == pytest.approx(5 / 7)
    assert totals["top_share"] == pytest.approx(4 / 7)

    days = {day["date"]: day for day in body["days"]}
    assert list(days) == [D0, D1, D2]
    per_day = {name: [days[d][name] for d in (D0, D1, D2)] for name in totals if name in days[D0]}
    assert per_day == {
        "shares": [4, 1, 0],  # R's share at 00:30 in Shanghai is a D1 share
        "visitors": [2, 1, 2],
        "anonymous_visits": [0, 1, 0],
        "binds": [2, 2, 2],
        "first_orders": [0, 3, 1],
        "participants": [2, 1, 0],
        "new_customers": [0, 3, 2],
        "reflow": [0, 0, 2],
        "paid_orders": [0, 3, 4],
        "level2_orders": [0, 2, 3],
        "k_factor": [0.0, 3.0, None],
        "level2_share": [None, pytest.approx(2 / 3), pytest.approx(3 / 4)],
    }


def test_fission_of_everything_in_the_range(tree):
    """Without a root: both trees (nothing else in the session lives in May 2031)."""
    totals = fission(tree["ops"])["totals"]
    assert {k: v for k, v in totals.items() if not k.endswith(("_factor", "_share"))} == {
        "shares": 7, "visitors": 4, "anonymous_visits": 1, "binds": 7, "first_orders": 5, "participants": 5,
        "new_customers": 6, "reflow": 2, "paid_orders": 8, "level2_orders": 5,
        "distributors": 4, "top_distributors": 1, "top_orders": 4,
    }
    assert totals["k_factor"] == pytest.approx(6 / 5)
    assert totals["top_share"] == pytest.approx(4 / 8)


def test_one_day_and_an_empty_range(tree):
    ops, r = tree["ops"], tree["r"]
    body = fission(ops, root_id=r.id, **{"from": D1, "to": D2})
    assert [d["date"] for d in body["days"]] == [D1]
    assert body["totals"]["shares"] == body["days"][0]["shares"] == 1
    # C2 and D: C1 paid on D1 too, but was bound on D0, before this range
    assert body["totals"]["new_customers"] == 2 and body["totals"]["first_orders"] == 2
    empty = fission(ops, root_id=r.id, **{"from": "2031-06-01", "to": "2031-06-03"})["totals"]
    assert empty["paid_orders"] == 0 and empty["k_factor"] is None and empty["top_share"] is None
    assert empty["distributors"] == empty["top_distributors"] == empty["top_orders"] == 0


def test_bad_requests(tree, live):
    ops, a = tree["ops"], tree["a"]
    for params, code in [({"from": D1, "to": D1}, "INVALID_DATE_RANGE"),
                         ({"from": "2031-01-01", "to": "2032-06-01"}, "INVALID_DATE_RANGE"),
                         ({"from": "2031-13-01", "to": D1}, "VALIDATION_ERROR"),
                         ({"to": D1}, "VALIDATION_ERROR"),
                         ({**RANGE, "root_id": a.id}, "NOT_A_TREE_ROOT")]:
        r = ops.get("/admin/analytics/fission", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (params, r.text)
    r = ops.get("/admin/analytics/depth", params={"root_id": 10**9})
    assert r.status_code == 404
    assert requests.get(live.api("/admin/analytics/fission"), params=RANGE, timeout=30).status_code == 401
    assert tree["r"].get("/admin/analytics/depth").status_code == 403


def test_extreme_dates_and_ids_are_refused_not_500(tree):
    ops = tree["ops"]
    for params in ({"from": "0001-01-01", "to": "0001-01-03"}, {**RANGE, "root_id": 10**20}):
        r = ops.get("/admin/analytics/fission", params=params)
        assert 400 <= r.status_code < 500, (params, r.text)
        assert r.json()["error"]["code"] in ("VALIDATION_ERROR", "INVALID_DATE_RANGE", "NOT_FOUND"), r.text
    r = ops.get("/admin/analytics/depth", params={"root_id": 10**20})
    assert r.status_code in (404, 422) and r.json()["error"]["code"] in ("VALIDATION_ERROR", "NOT_FOUND"), r.text

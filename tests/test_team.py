"""GET /me/team: a small tree built over HTTP, every number computed by hand.

    A ← B1, B2          (distributors)
    B1 ← C1, C2         C1 buys twice at 10,000 fen
    B2 ← C3             C3 buys once at 8,000 fen

Rates 10% / 5%: B1 earns 1,000 + 1,000 from C1, B2 earns 800 from C3, A earns
500 + 500 from C1 and 400 from C3 at level 2.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from helpers import admin, buy, create_product, distributor, drain, login, set_settings


def rename(client, nickname: str) -> None:
    r = requests.patch(client.live.api("/me"), json={"nickname": nickname}, headers=client._headers(), timeout=30)
    assert r.status_code == 200, r.text
    client.user["nickname"] = nickname


def team(client, **params) -> dict:
    r = client.get("/me/team", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def summary(page: dict) -> list[tuple]:
    return [(m["nickname"], m["level"], m["orders_count"], m["gmv_fen"], m["commission_to_me_fen"],
             m["via"]["nickname"] if m["via"] else None) for m in page["items"]]


@pytest.fixture(scope="module")
def tree(live, admin_token):
    ops = admin(live, admin_token)
    set_settings(ops, level1_bp=1000, level2_bp=500, cap_bp=3000, payout_rail="wallet", hold_days=0,
                 bind_mode="permanent", self_purchase=False, mode="everyone")
    tag = uuid.uuid4().hex[:8]
    a = distributor(live)
    b1 = distributor(live, invite_code=a.user["invite_code"])
    b2 = distributor(live, invite_code=a.user["invite_code"])
    c1 = login(live, invite_code=b1.user["invite_code"])
    c2 = login(live, invite_code=b1.user["invite_code"])
    c3 = login(live, invite_code=b2.user["invite_code"])
    # "_" and "%" in names: a search that forgot to escape them would match too much
    names = {"a": f"A{tag}", "b1": f"Bo_{tag}", "b2": f"Bob{tag}", "c1": f"Cx{tag}", "c2": f"Cy%{tag}",
             "c3": f"cz{tag}"}
    people = {"a": a, "b1": b1, "b2": b2, "c1": c1, "c2": c2, "c3": c3}
    for key, client in people.items():
        rename(client, names[key])
    assert c1.user["inviter_id"] == b1.id and c2.user["inviter_id"] == b1.id and c3.user["inviter_id"] == b2.id
    ten, eight = create_product(ops, price_fen=10_000), create_product(ops, price_fen=8_000)
    buy(live, c1, ten["id"])
    buy(live, c1, ten["id"])
    buy(live, c3, eight["id"])
    drain(live)
    return tag, people, names


def test_level1_newest_first_with_hand_computed_numbers(tree):
    tag, p, n = tree
    page = team(p["a"])
    assert (page["page"], page["per_page"], page["total"]) == (1, 20, 2)
    # B1 and B2 buy nothing themselves: nothing to A "from" them at level 1
    assert summary(page) == [(n["b2"], 1, 0, 0, 0, None), (n["b1"], 1, 0, 0, 0, None)]
    assert [m["user_id"] for m in page["items"]] == [p["b2"].id, p["b1"].id]
    assert all(m["bound_at"] for m in page["items"])
    assert page["items"][0]["bound_at"] >= page["items"][1]["bound_at"]
    assert team(p["a"], level=1, sort="joined") == page

    b1 = team(p["b1"])
    assert b1["total"] == 2
    assert summary(b1) == [(n["c2"], 1, 0, 0, 0, None), (n["c1"], 1, 2, 20_000, 2_000, None)]
    assert summary(team(p["b2"])) == [(n["c3"], 1, 1, 8_000, 800, None)]


def test_level2_carries_via_and_level2_commission(tree):
    tag, p, n = tree
    page = team(p["a"], level=2)
    assert page["total"] == 3
    assert summary(page) == [
        (n["c3"], 2, 1, 8_000, 400, n["b2"]),
        (n["c2"], 2, 0, 0, 0, n["b1"]),
        (n["c1"], 2, 2, 20_000, 1_000, n["b1"]),
    ]
    assert [m["via"]["id"] for m in page["items"]] == [p["b2"].id, p["b1"].id, p["b1"].id]
    assert [m["user_id"] for m in page["items"]] == [p["c3"].id, p["c2"].id, p["c1"].id]


def test_sort_by_contribution(tree):
    tag, p, n = tree
    assert summary(team(p["a"], level=2, sort="contribution")) == [
        (n["c1"], 2, 2, 20_000, 1_000, n["b1"]),
        (n["c3"], 2, 1, 8_000, 400, n["b2"]),
        (n["c2"], 2, 0, 0, 0, n["b1"]),
    ]
    # a tie (0 and 0) falls back to newest first
    assert [m["nickname"] for m in team(p["a"], sort="contribution")["items"]] == [n["b2"], n["b1"]]
    assert summary(team(p["b1"], sort="contribution")) == [
        (n["c1"], 1, 2, 20_000, 2_000, None), (n["c2"], 1, 0, 0, 0, None)]


def test_search_by_nickname(tree):
    tag, p, n = tree
    everyone = team(p["a"], level=2, q=tag)
    assert everyone["total"] == 3
    # case-insensitive
    found = team(p["a"], level=2, q=f"CZ{tag.upper()}")
    assert (found["total"], [m["nickname"] for m in found["items"]]) == (1, [n["c3"]])
    # % and _ are taken literally
    found = team(p["a"], level=2, q="%")
    assert (found["total"], [m["nickname"] for m in found["items"]]) == (1, [n["c2"]])
    found = team(p["a"], level=1, q="o_")
    assert (found["total"], [m["nickname"] for m in found["items"]]) == (1, [n["b1"]])
    assert team(p["a"], level=1, q=n["c1"]) == {"items": [], "page": 1, "per_page": 20, "total": 0,
                                              "next_cursor": None}
    # search and the contribution order together
    found = team(p["a"], level=2, q="c", sort="contribution")
    assert [m["nickname"] for m in found["items"]] == [n["c1"], n["c3"], n["c2"]]


@pytest.mark.parametrize("sort", ["joined", "contribution"])
def test_cursor_pages_through_everything_like_page_numbers(tree, sort):
    tag, p, n = tree
    whole = team(p["a"], level=2, sort=sort)["items"]
    seen, cursor = [], None
    for _ in range(4):
        params = {"level": 2, "sort": sort, "per_page": 1} | ({"cursor": cursor} if cursor else {})
        page = team(p["a"], **params)
        assert page["total"] == 3
        seen += page["items"]
        cursor = page["next_cursor"]
        if not page["items"]:
            break
    assert seen == whole and cursor is None
    # two at a time crosses the contributors → everyone-else boundary inside a page
    first = team(p["a"], level=2, sort=sort, per_page=2)
    rest = team(p["a"], level=2, sort=sort, per_page=2, cursor=first["next_cursor"])
    assert first["items"] + rest["items"] == whole and rest["next_cursor"] is None


def test_a_forged_cursor_is_refused(tree):
    tag, p, n = tree
    for bad in ("not-a-cursor", "WyJ4IiwxLDJd", "WyJjIiwxMCwxXQ"):  # junk, ["x",1,2], a contribution cursor
        r = p["a"].get("/me/team", params={"cursor": bad, "sort": "joined"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", (bad, r.text)


@pytest.mark.parametrize("sort", ["joined", "contribution"])
def test_per_page_one_pages_through_everything(tree, sort):
    tag, p, n = tree
    whole = team(p["a"], level=2, sort=sort)["items"]
    seen = []
    for number in (1, 2, 3):
        page = team(p["a"], level=2, sort=sort, per_page=1, page=number)
        assert (page["page"], page["per_page"], page["total"]) == (number, 1, 3)
        assert len(page["items"]) == 1
        seen += page["items"]
    assert seen == whole
    assert team(p["a"], level=2, sort=sort, per_page=1, page=4)["items"] == []


def test_a_team_is_private(live, tree):
    tag, p, n = tree
    other = distributor(live)
    stranger = login(live, invite_code=other.user["invite_code"])
    rename(stranger, f"stranger{tag}")
    ids_of_a = {m["user_id"] for level in (1, 2) for m in team(p["a"], level=level, per_page=100)["items"]}
    assert ids_of_a == {p[k].id for k in ("b1", "b2", "c1", "c2", "c3")}
    assert stranger.id not in ids_of_a

    assert [m["user_id"] for m in team(other)["items"]] == [stranger.id]
    assert team(other, level=2)["total"] == 0
    assert team(other, q=tag)["total"] == 1  # A's people share the tag, none shows up
    # B1 sees its own customers only, not its sibling's, nor its inviter's
    assert {m["user_id"] for m in team(p["b1"], per_page=100)["items"]} == {p["c1"].id, p["c2"].id}
    assert team(p["b1"], level=2)["total"] == 0
    assert team(p["c1"])["total"] == 0


@pytest.mark.parametrize("params", [{"level": 3}, {"level": 0}, {"sort": "gmv"}, {"per_page": 101},
                                    {"page": 0}])
def test_bad_arguments_are_refused(tree, params):
    tag, p, n = tree
    r = p["a"].get("/me/team", params=params)
    assert r.status_code == 422, r.text


def test_needs_a_login(live):
    assert requests.get(live.api("/me/team"), timeout=30).status_code == 401


def test_a_first_bind_brings_the_own_team_along(live, ops):
    """X has a team (Y) but no inviter, then binds under A: Y is now A's level 2."""
    a = distributor(live)
    x = distributor(live)
    y = login(live, invite_code=x.user["invite_code"])
    r = x.post("/referral/bind", json={"invite_code": a.user["invite_code"]})
    assert r.status_code == 200, r.text
    level2 = team(a, level=2)
    assert level2["total"] == 1
    assert [(m["user_id"], m["via"]["id"]) for m in level2["items"]] == [(y.id, x.id)]
    assert [m["user_id"] for m in team(a)["items"]] == [x.id]
    tree_ = ops.get(f"/admin/users/{y.id}/tree").json()
    assert (tree_["depth"], tree_["root_id"]) == (2, a.id)
    assert [u["id"] for u in tree_["ancestors"]] == [x.id, a.id]
    # and Y cannot take A under itself now: that would be a cycle
    y_dist = y.post("/distributor/apply", json={})
    assert y_dist.status_code == 200, y_dist.text
    y.user = y.get("/me").json()
    r = ops.post(f"/admin/users/{a.id}/move", json={"invite_code": y.user["invite_code"], "reason": "test"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "REFERRAL_CYCLE", r.text


def test_an_operator_move_keeps_level2_and_counters(live, ops):
    """A ← X ← Y and TOP ← B2: move X under B2. A loses X and Y; B2 gains them (Y at
    level 2); TOP gains X at level 2."""
    a, top = distributor(live), distributor(live)
    b2 = distributor(live, invite_code=top.user["invite_code"])
    x = distributor(live, invite_code=a.user["invite_code"])
    y = login(live, invite_code=x.user["invite_code"])
    r = ops.post(f"/admin/users/{x.id}/move", json={"invite_code": b2.user["invite_code"], "reason": "test"})
    assert r.status_code == 200, r.text
    assert (team(a)["total"], team(a, level=2)["total"], team(a)["items"], team(a, level=2)["items"]) == (0, 0, [], [])
    assert [m["user_id"] for m in team(b2)["items"]] == [x.id] and team(b2)["total"] == 1
    assert [m["user_id"] for m in team(b2, level=2)["items"]] == [y.id] and team(b2, level=2)["total"] == 1
    assert [m["user_id"] for m in team(top, level=2)["items"]] == [x.id] and team(top, level=2)["total"] == 1
    tree_ = ops.get(f"/admin/users/{y.id}/tree").json()
    assert (tree_["depth"], tree_["root_id"]) == (3, top.id)


@pytest.mark.parametrize("raw", [["j", "2026-01-01T00:00:00+00:00", 10**30], ["c", 10**30, 1], ["c", 1, -10**30],
                                 ["j", "0001-01-01T00:00:00+14:00", 1], ["j", 5, 1], ["c", "x", 1]])
def test_a_forged_cursor_with_huge_numbers_is_refused(tree, raw):
    import base64
    import json

    tag, p, n = tree
    cursor = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    r = p["a"].get("/me/team", params={"cursor": cursor, "sort": "contribution", "level": 2})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", (raw, r.text)

"""The operators' user pages: search, one user's page, reject/approve, own rates.

Everything is built over HTTP (chain, buy, pay, drain) and read back as an operator
sees it. The database is shared by the session: every search carries a unique tag.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import requests
from helpers import buy, chain, create_product, distributor, drain, finance_client, login, set_settings

from backend.auth.models import User
from backend.extensions import db


def rename(client, nickname: str) -> None:
    r = client.patch("/me", json={"nickname": nickname})
    assert r.status_code == 200, r.text
    client.user["nickname"] = nickname


def users(ops, **params) -> dict:
    r = ops.get("/admin/users", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def ids(page: dict) -> list[int]:
    return [item["id"] for item in page["items"]]


def error_of(r: requests.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


def set_created(live, user_id: int, when: datetime) -> None:
    with live.app.app_context():
        db.session.get(User, user_id).created_at = when
        db.session.commit()
        db.session.remove()


@pytest.fixture
def tagged(live, ops):
    """A ← B ← C with tagged nicknames; C bought once (10% / 5%)."""
    tag = uuid.uuid4().hex[:8]
    a, b, c = chain(live)
    for client, name in ((a, f"Ann{tag}"), (b, f"Bob{tag}"), (c, f"Cat{tag}")):
        rename(client, name)
    product = create_product(ops, price_fen=10_000)
    buy(live, c, product["id"])
    drain(live)
    return tag, a, b, c, product


def test_search_by_nickname_prefix_invite_code_and_id(ops, tagged):
    tag, a, b, c, _ = tagged
    found = users(ops, q=f"Bob{tag}")
    assert ids(found) == [b.id] and found["total"] == 1 and found["total_estimated"] is False
    [item] = found["items"]
    assert item == {
        "id": b.id, "nickname": f"Bob{tag}", "avatar_url": item["avatar_url"], "invite_code": b.user["invite_code"],
        "distributor_status": "approved", "inviter": {"id": a.id, "nickname": f"Ann{tag}"},
        "created_at": item["created_at"], "level1_count": 1, "level2_count": 0, "has_paid_order": False,
    }
    assert item["created_at"].endswith("+00:00")
    assert users(ops, q="Bo")["total"] >= 1
    assert ids(users(ops, q=f"ob{tag}")) == []  # a prefix, not a substring
    # invite codes in any case; digits are an id (or a code)
    assert ids(users(ops, q=a.user["invite_code"].lower())) == [a.id]
    assert ids(users(ops, q=str(c.id))) == [c.id]
    assert users(ops, q=f"Cat{tag}")["items"][0]["has_paid_order"] is True
    assert users(ops, q=f"Ann{tag}")["items"][0]["level2_count"] == 1
    assert ids(users(ops, q="99999999999")) == []  # past any id: no error
    assert ids(users(ops, q=f"%{tag}")) == []  # wildcards match themselves


def test_filters_combine_newest_first(live, ops, tagged):
    tag, a, b, c, _ = tagged
    assert ids(users(ops, inviter_id=a.id)) == [b.id]
    assert ids(users(ops, inviter_id=b.id)) == [c.id]
    approved = users(ops, distributor_status="approved", per_page=100)
    assert {a.id, b.id} <= set(ids(approved)) and c.id not in ids(approved)
    assert all(i["distributor_status"] == "approved" for i in approved["items"])
    assert ids(users(ops, distributor_status="none", inviter_id=b.id)) == [c.id]
    newest = users(ops, per_page=100)
    assert ids(newest).index(c.id) < ids(newest).index(b.id) < ids(newest).index(a.id)
    assert newest["total"] >= 3

    # 2026-01-01 16:30 UTC is 2 January in Shanghai: the days are the shop's
    set_created(live, c.id, datetime(2026, 1, 1, 16, 30, tzinfo=UTC))
    assert ids(users(ops, inviter_id=b.id, joined_from="2026-01-02", joined_to="2026-01-02")) == [c.id]
    assert ids(users(ops, inviter_id=b.id, joined_to="2026-01-01")) == []
    assert ids(users(ops, inviter_id=b.id, joined_from="2026-01-03")) == []
    assert ids(users(ops, inviter_id=b.id, joined_from="2026-01-01")) == [c.id]


@pytest.mark.parametrize("params", [
    {"distributor_status": "rejected"}, {"joined_from": "yesterday"}, {"joined_from": "2026-02-01",
                                                                      "joined_to": "2026-01-31"},
    {"inviter_id": "x"}, {"inviter_id": 0}, {"per_page": 101}, {"page": 0}, {"q": "x" * 65},
])
def test_bad_filters_are_422(ops, params):
    assert error_of(ops.get("/admin/users", params=params)) == (422, "VALIDATION_ERROR")


def test_finance_and_customers_may_not(live, ops, tagged):
    _, a, b, c, _ = tagged
    finance = finance_client(live)
    for path in ("/admin/users", f"/admin/users/{b.id}", f"/admin/users/{b.id}/team",
                 f"/admin/users/{b.id}/commissions", f"/admin/users/{b.id}/withdrawals",
                 f"/admin/users/{b.id}/bind-history"):
        assert error_of(finance.get(path)) == (403, "FORBIDDEN"), path
        assert error_of(c.get(path)) == (403, "FORBIDDEN"), path
    assert error_of(finance.put(f"/admin/users/{b.id}/rates", json={"level1_bp": 1, "level2_bp": 1})) == (
        403, "FORBIDDEN")
    assert error_of(finance.post(f"/admin/users/{b.id}/reject-distributor", json={"reason": "x"})) == (
        403, "FORBIDDEN")
    operator = finance_client(live, role="operator")
    assert ids(operator.get("/admin/users", params={"inviter_id": a.id}).json()) == [b.id]


def test_detail_team_commissions_and_bind_history(live, ops, tagged):
    tag, a, b, c, _ = tagged
    body = ops.get(f"/admin/users/{c.id}").json()
    assert body["ancestors"] == [{"id": b.id, "nickname": f"Bob{tag}", "level": 1},
                                 {"id": a.id, "nickname": f"Ann{tag}", "level": 2}]
    user = body["user"]
    assert (user["depth"], user["root_id"], user["bind_source"]) == (2, a.id, "login")
    assert user["inviter"] == {"id": b.id, "nickname": f"Bob{tag}"} and user["bound_at"].endswith("+00:00")
    assert user["level1_bp_override"] is None and user["real_name"] is None
    assert body["wallet"]["total_earned_fen"] == 0

    b_detail = ops.get(f"/admin/users/{b.id}").json()
    assert b_detail["wallet"]["available_fen"] == 1_000 and b_detail["wallet"]["total_earned_fen"] == 1_000
    assert b_detail["user"]["level1_count"] == 1
    assert ops.get(f"/admin/users/{a.id}").json()["ancestors"] == []

    team = ops.get(f"/admin/users/{a.id}/team", params={"level": 2}).json()
    assert [(m["user_id"], m["orders_count"], m["gmv_fen"], m["commission_to_me_fen"]) for m in team["items"]] == [
        (c.id, 1, 10_000, 500)]
    assert team["total"] == 1
    assert [m["user_id"] for m in ops.get(f"/admin/users/{a.id}/team").json()["items"]] == [b.id]
    assert error_of(ops.get(f"/admin/users/{a.id}/team", params={"level": 3})) == (422, "VALIDATION_ERROR")

    commissions = ops.get(f"/admin/users/{a.id}/commissions").json()
    [one] = commissions["items"]
    assert (one["level"], one["amount_fen"], one["buyer"]) == (2, 500, {"id": c.id, "nickname": f"Cat{tag}"})
    assert one["status"] == a.get("/me/commissions").json()["items"][0]["status"]
    assert ops.get(f"/admin/users/{a.id}/commissions", params={"status": "reversed"}).json()["items"] == []
    assert ops.get(f"/admin/users/{a.id}/commissions", params={"status": one["status"]}).json()["total"] == 1
    assert error_of(ops.get(f"/admin/users/{a.id}/commissions", params={"status": "x"})) == (
        422, "VALIDATION_ERROR")

    history = ops.get(f"/admin/users/{c.id}/bind-history").json()
    [bound] = history["items"]
    assert bound["old_inviter"] is None and bound["new_inviter"] == {"id": b.id, "nickname": f"Bob{tag}"}
    assert (bound["source"], bound["operator"]) == ("login", None)

    # an operator moves C under A: the history names them and the reason
    assert error_of(ops.post(f"/admin/users/{c.id}/move", json={"invite_code": a.user["invite_code"]})) == (
        422, "VALIDATION_ERROR")
    assert error_of(ops.post(f"/admin/users/{c.id}/move",
                             json={"invite_code": a.user["invite_code"], "reason": "   "})) == (422, "VALIDATION_ERROR")
    r = ops.post(f"/admin/users/{c.id}/move", json={"invite_code": a.user["invite_code"], "reason": "asked"})
    assert r.status_code == 200, r.text
    history = ops.get(f"/admin/users/{c.id}/bind-history", params={"per_page": 1}).json()
    assert history["total"] == 2 and len(history["items"]) == 1
    [moved] = history["items"]
    assert moved["old_inviter"]["id"] == b.id and moved["new_inviter"]["id"] == a.id
    assert (moved["source"], moved["reason"], moved["operator"]["username"]) == ("admin", "asked", "admin")
    assert ops.get(f"/admin/users/{c.id}").json()["ancestors"] == [{"id": a.id, "nickname": f"Ann{tag}",
                                                                    "level": 1}]


def test_withdrawals_of_one_user(live, ops, tagged):
    _, a, b, c, _ = tagged
    r = b.post("/me/withdrawals", json={"amount_fen": 600})
    assert r.status_code == 201, r.text
    page = ops.get(f"/admin/users/{b.id}/withdrawals").json()
    [w] = page["items"]
    assert (w["id"], w["amount_fen"], w["status"], w["out_bill_no"]) == (
        r.json()["id"], 600, r.json()["status"], r.json()["out_bill_no"])
    assert w["failure_reason"] is None and w["updated_at"].endswith("+00:00")
    assert ops.get(f"/admin/users/{a.id}/withdrawals").json() == {"items": [], "page": 1, "per_page": 20,
                                                                  "total": 0}


def test_missing_users_are_404(ops):
    missing = 2**31 - 1
    for path in ("", "/team", "/commissions", "/withdrawals", "/bind-history"):
        assert error_of(ops.get(f"/admin/users/{missing}{path}")) == (404, "NOT_FOUND"), path
    assert error_of(ops.post(f"/admin/users/{missing}/reject-distributor", json={"reason": "x"})) == (
        404, "NOT_FOUND")
    assert error_of(ops.put(f"/admin/users/{missing}/rates", json={"level1_bp": 1, "level2_bp": 1})) == (
        404, "NOT_FOUND")
    assert error_of(ops.post(f"/admin/users/{missing}/approve-distributor")) == (404, "NOT_FOUND")


def test_reject_and_approve_only_pending_applications(live, ops):
    set_settings(ops, mode="approval")
    try:
        applicant = login(live)
        assert applicant.post("/distributor/apply", json={"real_name": "Li", "phone": "138"}).json() == {
            "status": "pending"}
        assert ids(users(ops, q=str(applicant.id), distributor_status="pending")) == [applicant.id]
        assert error_of(ops.post(f"/admin/users/{applicant.id}/reject-distributor", json={})) == (
            422, "VALIDATION_ERROR")
        r = ops.post(f"/admin/users/{applicant.id}/reject-distributor", json={"reason": "no shop photo"})
        assert r.status_code == 200, r.text
        assert r.json()["distributor_status"] == "none" and r.json()["invite_code"] is None
        detail = ops.get(f"/admin/users/{applicant.id}").json()["user"]
        assert (detail["distributor_rejection_reason"], detail["real_name"], detail["phone"]) == (
            "no shop photo", "Li", "138")
        assert applicant.get("/me").json()["distributor_status"] == "none"
        # nothing pending any more: neither can be done again
        assert error_of(ops.post(f"/admin/users/{applicant.id}/reject-distributor", json={"reason": "x"})) == (
            409, "APPLICATION_NOT_PENDING")
        assert error_of(ops.post(f"/admin/users/{applicant.id}/approve-distributor")) == (
            409, "APPLICATION_NOT_PENDING")

        assert applicant.post("/distributor/apply", json={}).json() == {"status": "pending"}
        r = ops.post(f"/admin/users/{applicant.id}/approve-distributor")
        assert r.status_code == 200 and r.json()["distributor_status"] == "approved", r.text
        assert ops.post(f"/admin/users/{applicant.id}/approve-distributor").status_code == 200  # a double click
        assert error_of(ops.post(f"/admin/users/{applicant.id}/reject-distributor", json={"reason": "x"})) == (
            409, "APPLICATION_NOT_PENDING")
        assert ops.get(f"/admin/users/{applicant.id}").json()["user"]["distributor_rejection_reason"] is None
    finally:
        set_settings(ops, mode="everyone")


def test_own_rates_show_in_the_detail_and_pay_the_next_order(live, ops, tagged):
    _, a, b, c, product = tagged
    for body in ({"level1_bp": 10001, "level2_bp": None}, {"level1_bp": -1, "level2_bp": None},
                 {"level1_bp": "10", "level2_bp": None}, {"level1_bp": 1.5, "level2_bp": None},
                 {"level1_bp": 100}):
        assert error_of(ops.put(f"/admin/users/{b.id}/rates", json=body)) == (422, "VALIDATION_ERROR"), body
    assert error_of(ops.put(f"/admin/users/{c.id}/rates", json={"level1_bp": 1, "level2_bp": 1})) == (
        409, "USER_NOT_A_DISTRIBUTOR")

    r = ops.put(f"/admin/users/{b.id}/rates", json={"level1_bp": 2000, "level2_bp": None})
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": b.id, "level1_bp_override": 2000, "level2_bp_override": None,
                        "before": {"level1_bp_override": None, "level2_bp_override": None},
                        "after": {"level1_bp_override": 2000, "level2_bp_override": None}}
    detail = ops.get(f"/admin/users/{b.id}").json()["user"]
    assert (detail["level1_bp_override"], detail["level2_bp_override"]) == (2000, None)

    buy(live, c, product["id"])
    drain(live)
    newest = ops.get(f"/admin/users/{b.id}/commissions").json()["items"][0]
    assert newest["amount_fen"] == 2_000  # 20% of 10,000, the global 10% no longer
    assert ops.get(f"/admin/users/{a.id}/commissions").json()["items"][0]["amount_fen"] == 500  # global 5%

    r = ops.put(f"/admin/users/{b.id}/rates", json={"level1_bp": None, "level2_bp": None})
    assert r.json()["before"] == {"level1_bp_override": 2000, "level2_bp_override": None}
    assert ops.get(f"/admin/users/{b.id}").json()["user"]["level1_bp_override"] is None


def test_another_distributor_is_found_only_by_their_own_id(ops, live):
    other = distributor(live)
    assert ids(users(ops, q=str(other.id))) == [other.id]
    assert ops.get(f"/admin/users/{other.id}/commissions").json()["total"] == 0

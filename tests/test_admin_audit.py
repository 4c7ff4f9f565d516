"""The audit log: every admin mutation leaves an entry, by mechanism, in the action's
own transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from helpers import buy, create_product, distributor, finance_client, login, set_settings

from backend.admin.audit import MUTATING, NOT_AUDITED


def _entries(client, **params) -> list[dict]:
    r = client.get("/admin/audit", params={"per_page": 100, **params})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_every_admin_mutation_route_is_audited_by_the_guard(live):
    """Walks every registered rule under /api/v1/admin/ with a mutating method: each view
    is behind the admin guard (which writes the entry), and only the login is exempt."""
    app = live.app
    exempt, uncovered = set(), []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/admin/") or not (rule.methods or set()) & MUTATING:
            continue
        if rule.endpoint in NOT_AUDITED:
            exempt.add(rule.endpoint)
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "_fission_admin_guard", None) is None:
            uncovered.append(rule.rule)
    assert uncovered == []
    assert exempt == {"admin_auth.admin_login"}


def test_a_settings_change_is_logged_with_before_and_after(live, ops):
    before = ops.get("/admin/settings/distribution").json()
    set_settings(ops, level1_bp=1200)
    try:
        [entry] = _entries(ops, action="admin_commission.write_settings", per_page=1)
        assert entry["method"] == "PUT" and entry["path"] == "/api/v1/admin/settings/distribution"
        assert entry["admin_username"] == "admin" and entry["role"] == "admin"
        assert entry["status_code"] == 200
        assert (entry["target_type"], entry["target_id"]) == ("settings", "distribution")
        assert entry["before"]["level1_bp"] == before["level1_bp"] == 1000
        assert entry["after"]["level1_bp"] == 1200
        assert "level2_bp" not in entry["after"]  # only what changed
        assert entry["request_id"]
        assert datetime.fromisoformat(entry["created_at"]).tzinfo is not None
    finally:
        set_settings(ops, level1_bp=1000)


def test_a_refused_action_leaves_no_entry(live, ops):
    count = len(_entries(ops, action="admin_catalog.update"))
    r = ops.put("/admin/products/999999", json={"price_fen": 5})
    assert r.status_code == 404
    r = ops.post("/admin/products", json={"title": ""})  # invalid: 422
    assert r.status_code == 422
    assert len(_entries(ops, action="admin_catalog.update")) == count
    assert not [e for e in _entries(ops, action="admin_catalog.create") if e["status_code"] == 422]
    # a role that may not act: refused before anything is written
    finance = finance_client(live)
    r = finance.put("/admin/settings/distribution", json={"level1_bp": 1})
    assert r.status_code == 403
    assert not [e for e in _entries(ops, action="admin_commission.write_settings") if e["role"] == "finance"]


def test_product_changes_and_approvals_carry_what_changed(live, ops):
    product = create_product(ops, price_fen=10_000, stock=5)
    [created] = _entries(ops, action="admin_catalog.create", target_id=str(product["id"]))
    assert created["target_type"] == "product" and created["status_code"] == 201
    assert created["after"]["price_fen"] == 10_000 and created["after"]["stock"] == 5
    r = ops.put(f"/admin/products/{product['id']}", json={"price_fen": 12_000, "title": product["title"]})
    assert r.status_code == 200, r.text
    [updated] = _entries(ops, action="admin_catalog.update", target_type="product", target_id=str(product["id"]))
    assert updated["before"] == {"price_fen": 10_000} and updated["after"] == {"price_fen": 12_000}

    set_settings(ops, mode="approval")
    try:
        user = login(live)
        assert user.post("/distributor/apply", json={}).json()["status"] == "pending"
        r = ops.post(f"/admin/users/{user.id}/approve-distributor")
        assert r.status_code == 200, r.text
    finally:
        set_settings(ops, mode="everyone")
    [approved] = _entries(ops, action="admin_referral.approve", target_id=str(user.id))
    assert approved["target_type"] == "user"
    assert approved["before"] == {"distributor_status": "pending"}
    assert approved["after"] == {"distributor_status": "approved"}


def test_a_user_move_is_logged(live, ops):
    a, b = distributor(live), distributor(live)
    c = login(live, a.user["invite_code"])
    r = ops.post(f"/admin/users/{c.id}/move", json={"invite_code": b.user["invite_code"], "reason": "support ticket"})
    assert r.status_code == 200, r.text
    [entry] = _entries(ops, action="admin_referral.move", target_id=str(c.id))
    assert entry["before"] == {"inviter_id": a.id} and entry["after"] == {"inviter_id": b.id}
    assert entry["status_code"] == 200


def test_a_refund_is_logged_though_it_commits_before_its_remote_call(live, ops):
    buyer = login(live)
    product = create_product(ops, price_fen=3_000)
    order = buy(live, buyer, product["id"])
    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"reason": "damaged"})
    assert r.status_code == 201, r.text
    [entry] = _entries(ops, action="admin_orders.refund", target_id=str(order["id"]))
    assert entry["target_type"] == "order" and entry["method"] == "POST"
    assert entry["status_code"] == 201


def test_the_list_filters_and_its_guards(live, ops):
    set_settings(ops, level2_bp=500)
    items = _entries(ops)
    assert items == sorted(items, key=lambda e: (e["created_at"], e["id"]), reverse=True)
    me = ops.get("/admin/me").json()
    assert all(e["admin_id"] == me["id"] for e in _entries(ops, admin_id=me["id"]))
    assert _entries(ops, q="settings/distrib")
    assert all("settings/distrib" in e["path"] for e in _entries(ops, q="settings/distrib"))
    now = datetime.now(UTC)
    assert _entries(ops, **{"from": (now - timedelta(minutes=5)).isoformat()})
    assert _entries(ops, **{"to": (now - timedelta(days=3650)).isoformat()}) == []
    for bad in ({"per_page": 101}, {"from": "yesterday"}, {"admin_id": "x"},
                {"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()}):
        r = ops.get("/admin/audit", params=bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    operator = finance_client(live, "operator")
    assert operator.get("/admin/audit").status_code == 200
    assert finance_client(live).get("/admin/audit").status_code == 403
    assert login(live).get("/admin/audit").status_code == 403

"""How many SQL statements the busy paths run: the paid path's figure is the one
docs/architecture.md gives, and a list endpoint's does not grow with its page."""

from __future__ import annotations

import pytest
from helpers import buy, chain, create_product, login, notify_xml, ordered_and_prepaid, post_notify


def test_the_paid_path_runs_the_statements_the_architecture_doc_claims(live, ops, count_queries):
    """A two-level order: nine statements on PostgreSQL, ten on MySQL/MariaDB (the
    order is locked by a statement of its own), eleven on SQLite (which also inserts the
    two commission rows one by one), plus the commit. One of them is the risk rules'
    check (backend/risk/signals.py), one SELECT of EXISTS tests."""
    _a, _b, c = chain(live)
    product = create_product(ops, price_fen=3_000)
    order, openid = ordered_and_prepaid(live, c, product["id"])
    _warm_settings(live)
    with count_queries() as q:
        assert "SUCCESS" in post_notify(live, notify_xml(order["out_trade_no"], order["total_fen"], openid))
    expected = {"postgresql": 9, "mysql": 10, "sqlite": 11}[q.engine.dialect.name]
    assert q.count == expected, "\n".join(q.statements)


def _warm_settings(live) -> None:
    """The paid path reads the settings from the process's copy (kept a second): read
    them now, so that whether the copy is still fresh does not depend on how long the
    setup above took on a busy machine."""
    from backend.channel.settings import get_settings as get_channel_settings
    from backend.commission.settings import get_settings
    from backend.extensions import db
    from backend.risk.settings import get_risk_settings

    with live.app.app_context():
        get_settings()
        get_risk_settings()
        get_channel_settings()
        db.session.remove()


def _count(count_queries, client, path) -> tuple[int, int]:
    with count_queries() as q:
        r = client.get(path)
    assert r.status_code == 200, r.text
    return q.count, len(r.json()["items"])


@pytest.mark.parametrize("path", ["/me/commissions", "/me/team"])
def test_a_distributors_lists_cost_the_same_for_one_row_and_for_many(live, ops, count_queries, path):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=1_000)
    buy(live, c, product["id"])
    one = _count(count_queries, b, path)
    for _ in range(4):
        buy(live, c, product["id"])
    for _ in range(3):
        login(live, invite_code=b.user["invite_code"])
    many = _count(count_queries, b, path)
    assert one[0] == many[0], (path, one, many)


@pytest.mark.parametrize("path", ["/admin/payouts", "/products", "/admin/reconciliation/parts"])
def test_operator_lists_cost_the_same_for_one_row_and_for_many(live, ops, count_queries, path):
    _a, _b, c = chain(live)
    product = create_product(ops, price_fen=1_000)
    buy(live, c, product["id"])
    buy(live, c, product["id"])
    ops.post("/admin/reconciliation/parts", json={"part_no": f"P-{product['id']}-1", "brand": "Murata"})
    ops.post("/admin/reconciliation/parts", json={"part_no": f"P-{product['id']}-2", "brand": "Murata"})
    first = _count(count_queries, ops, path + "?per_page=1")
    full = _count(count_queries, ops, path + "?per_page=20")
    assert first[1] == 1 and full[1] >= 2, (path, first, full)
    assert first[0] == full[0], (path, first, full)

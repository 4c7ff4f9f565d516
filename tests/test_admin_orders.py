"""What operators read about orders and products, over HTTP as the console would:
the order list and its filters, one order with its chain and commission lines, the
refund preview against what the refund then does, the product list; roles."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from helpers import buy, chain, create_product, drain, finance_client, login, set_settings

from backend.extensions import db
from backend.timeutil import SHOP_TZ


def orders(client, **params) -> dict:
    r = client.get("/admin/orders", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def ids(page: dict) -> list[int]:
    return [item["id"] for item in page["items"]]


def unpaid_order(client, product_id: int) -> dict:
    r = client.post("/orders", json={"items": [{"product_id": product_id, "quantity": 2}]})
    assert r.status_code == 201, r.text
    return r.json()


def test_order_list_filters(live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    first = buy(live, c, product["id"])
    second = buy(live, c, product["id"], quantity=3)
    waiting = unpaid_order(c, product["id"])
    drain(live)

    mine = orders(ops, buyer_id=c.id)
    assert ids(mine) == [waiting["id"], second["id"], first["id"]]  # newest first
    assert mine["total"] == 3 and mine["total_is_estimate"] is False
    [row] = [item for item in mine["items"] if item["id"] == second["id"]]
    assert row["status"] == "paid" and row["total_fen"] == 30_000 and row["refunded_fen"] == 0
    assert row["buyer"] == {"id": c.id, "nickname": c.user["nickname"]}
    assert row["level1"] == {"id": b.id, "nickname": b.user["nickname"]}
    assert row["level2"] == {"id": a.id, "nickname": a.user["nickname"]}
    assert row["items_count"] == 1 and row["paid_at"] and row["out_trade_no"]
    assert row["created_at"].endswith("+00:00")
    [unpaid] = [item for item in mine["items"] if item["id"] == waiting["id"]]
    assert unpaid["paid_at"] is None and unpaid["status"] == "pending_payment"

    assert ids(orders(ops, buyer_id=c.id, status="paid")) == [second["id"], first["id"]]
    assert ids(orders(ops, buyer_id=c.id, status="pending_payment")) == [waiting["id"]]
    assert ids(orders(ops, buyer_id=c.id, status="refunded")) == []
    paid = orders(ops, status="paid", per_page=100)
    assert all(item["status"] == "paid" for item in paid["items"]) and second["id"] in ids(paid)

    by_b = orders(ops, distributor_id=b.id)
    assert ids(by_b) == [second["id"], first["id"]] and by_b["total"] == 2
    assert orders(ops, distributor_id=a.id)["total"] == 0  # A is level 2 of these orders, not level 1

    today = datetime.now(SHOP_TZ).date()
    assert ids(orders(ops, buyer_id=c.id, paid_from=today.isoformat(), paid_to=today.isoformat())) == \
        [second["id"], first["id"]]
    assert ids(orders(ops, buyer_id=c.id, paid_to=(today - timedelta(days=1)).isoformat())) == []
    assert ids(orders(ops, buyer_id=c.id, paid_from=(today + timedelta(days=1)).isoformat())) == []

    assert ids(orders(ops, q=str(first["id"]))) == [first["id"]]
    out_trade_no = c.get(f"/orders/{second['id']}").json()["out_trade_no"]
    assert ids(orders(ops, q=out_trade_no)) == [second["id"]]
    assert orders(ops, q="FO-no-such-order")["total"] == 0

    page = orders(ops, buyer_id=c.id, per_page=2, page=2)
    assert ids(page) == [first["id"]] and (page["page"], page["per_page"], page["total"]) == (2, 2, 3)
    everything = orders(ops)
    assert everything["total"] >= 3 and len(everything["items"]) == min(20, everything["total"])


def test_order_list_total_past_the_exact_count(live, ops, monkeypatch):
    """Past ``EXACT_UP_TO`` matching rows the total is the database's estimate where it
    has one (PostgreSQL's planner; MySQL's table statistics, unfiltered), flagged."""
    from backend.orders import admin_lists

    a, b, c = chain(live)
    product = create_product(ops)
    for _ in range(3):
        unpaid_order(c, product["id"])
    monkeypatch.setattr(admin_lists, "EXACT_UP_TO", 2)
    with live.app.app_context():
        dialect = db.engine.dialect.name
    page = orders(ops, buyer_id=c.id)
    assert len(page["items"]) == 3
    if dialect == "postgresql":
        assert page["total_is_estimate"] is True and page["total"] >= 3
    else:
        assert (page["total"], page["total_is_estimate"]) == (3, False)
    everything = orders(ops)
    assert everything["total_is_estimate"] is (dialect != "sqlite")
    assert everything["total"] >= 3
    monkeypatch.setattr(admin_lists, "EXACT_UP_TO", 10)
    assert (orders(ops, buyer_id=c.id)["total"], orders(ops, buyer_id=c.id)["total_is_estimate"]) == (3, False)


@pytest.mark.parametrize("params", [
    {"status": "lost"}, {"per_page": 101}, {"page": 0}, {"buyer_id": "x"}, {"distributor_id": 0},
    {"paid_from": "2026-13-01"}, {"paid_from": "2026-12-02", "paid_to": "2026-12-01"}, {"q": ""},
])
def test_order_list_refuses_bad_filters(live, ops, params):
    r = ops.get("/admin/orders", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_order_detail_shows_chain_commissions_refunds_and_payouts(live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000, part_no="RC0402FR-0710KL")
    order = buy(live, c, product["id"], quantity=2)
    drain(live)
    refunded = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 5_000, "reason": "one of two"})
    assert refunded.status_code == 201, refunded.text

    r = ops.get(f"/admin/orders/{order['id']}")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["order"]["id"] == order["id"] and detail["order"]["status"] == "partially_refunded"
    assert detail["order"]["refunded_fen"] == 5_000 and detail["order"]["items_count"] == 1
    assert detail["order"]["items"] == [{
        "product_id": product["id"], "title": product["title"], "part_no": "RC0402FR-0710KL", "quantity": 2,
        "unit_price_fen": 10_000, "unit_price": "100.000000", "line_total_fen": 20_000, "substitute_for": None,
        "substitute_accepted_by": None, "substitute_accepted_at": None}]
    assert detail["order"]["placed_by"] is None  # the customer's own order
    assert detail["chain"]["level1"] == {"id": b.id, "nickname": b.user["nickname"], "rate_bp": 1000,
                                         "reason": "binding"}
    assert detail["chain"]["level2"] == {"id": a.id, "nickname": a.user["nickname"], "rate_bp": 500,
                                         "reason": "binding"}
    lines = {line["level"]: line for line in detail["commissions"]}
    assert (lines[1]["earner"]["id"], lines[1]["amount_fen"], lines[1]["reversed_fen"]) == (b.id, 2_000, 500)
    assert (lines[2]["earner"]["id"], lines[2]["amount_fen"], lines[2]["reversed_fen"]) == (a.id, 1_000, 250)
    assert all(line["status"] == "available" and line["created_at"] for line in lines.values())
    [refund] = detail["refunds"]
    assert (refund["id"], refund["amount_fen"], refund["reason"]) == (refunded.json()["id"], 5_000, "one of two")
    assert refund["status"] in ("processing", "succeeded")
    payouts = {p["earner_id"]: p for p in detail["payouts"]}
    assert set(payouts) == {a.id, b.id} and payouts[b.id]["status"] == "in_wallet"
    assert payouts[b.id]["amount_fen"] == 2_000 and payouts[b.id]["commission_id"] == lines[1]["id"]

    missing = ops.get("/admin/orders/999999999")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "ORDER_NOT_FOUND"


def test_order_without_chain_has_null_levels(live, ops):
    buyer = login(live)
    order = buy(live, buyer, create_product(ops)["id"])
    detail = ops.get(f"/admin/orders/{order['id']}").json()
    assert detail["chain"] == {"level1": None, "level2": None}
    assert detail["commissions"] == [] and detail["payouts"] == [] and detail["refunds"] == []
    [row] = orders(ops, buyer_id=buyer.id)["items"]
    assert row["level1"] is None and row["level2"] is None


def wallets(*people) -> dict[int, dict]:
    return {p.id: p.get("/me/wallet").json() for p in people}


@pytest.mark.parametrize("hold_days", [0, 3])
def test_refund_preview_is_what_the_refund_does(live, ops, hold_days):
    set_settings(ops, hold_days=hold_days)
    a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    account = "pending" if hold_days else "available"
    try:
        for amount in (3_333, 6_667):  # the second completes the order: "the rest" is clawed back
            before = wallets(a, b)
            r = ops.get(f"/admin/orders/{order['id']}/refund-preview", params={"amount_fen": amount})
            assert r.status_code == 200, r.text
            preview = r.json()
            assert (preview["order_id"], preview["amount_fen"]) == (order["id"], amount)
            assert preview["refundable_fen"] == (10_000 if amount == 3_333 else 6_667)
            assert wallets(a, b) == before  # a preview changes nothing
            r = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": amount, "reason": "preview"})
            assert r.status_code == 201 and r.json()["status"] != "failed", r.text
            after = wallets(a, b)
            assert {line["earner"]["id"] for line in preview["clawbacks"]} == {a.id, b.id}
            for line in preview["clawbacks"]:
                person = line["earner"]["id"]
                assert line["earner"]["nickname"] == (a if person == a.id else b).user["nickname"]
                assert line["from_account"] == account
                assert line["wallet_available_fen"] == before[person]["available_fen"]
                assert line["wallet_pending_fen"] == before[person]["pending_fen"]
                assert line["wallet_available_after_fen"] == after[person]["available_fen"]
                assert line["wallet_pending_after_fen"] == after[person]["pending_fen"]
                assert line["amount_fen"] == before[person][f"{account}_fen"] - after[person][f"{account}_fen"]
                assert line["level"] == (1 if person == b.id else 2)
        commissions = {line["level"]: line for line in ops.get(f"/admin/orders/{order['id']}").json()["commissions"]}
        assert (commissions[1]["reversed_fen"], commissions[2]["reversed_fen"]) == (1_000, 500)
    finally:
        set_settings(ops, hold_days=0)


def test_refund_preview_refuses_what_the_refund_refuses(live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    order = buy(live, c, product["id"])
    whole = ops.get(f"/admin/orders/{order['id']}/refund-preview")
    assert whole.status_code == 200 and whole.json()["amount_fen"] == 10_000, whole.text
    for amount, status, code in ((0, 422, "VALIDATION_ERROR"), (-5, 422, "VALIDATION_ERROR"),
                                 (10_001, 422, "REFUND_EXCEEDS_PAID")):
        r = ops.get(f"/admin/orders/{order['id']}/refund-preview", params={"amount_fen": amount})
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        refund = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": amount, "reason": "x"})
        assert (refund.status_code, refund.json()["error"]["code"]) == (status, code), refund.text
    unpaid = unpaid_order(c, product["id"])
    r = ops.get(f"/admin/orders/{unpaid['id']}/refund-preview")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "ORDER_NOT_REFUNDABLE")
    r = ops.get("/admin/orders/999999999/refund-preview")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "ORDER_NOT_FOUND")


def test_product_list_and_detail(live, ops):
    tag = datetime.now().strftime("%H%M%S%f")
    first = create_product(ops, title=f"ZX{tag} capacitor", brand="Yageo", part_no=f"CC{tag}", level1_bp=800)
    second = create_product(ops, title=f"ZX{tag} resistor 50%_off", brand=f"Br{tag}", part_no="R1")
    r = ops.put(f"/admin/products/{second['id']}", json={"active": False})
    assert r.status_code == 200, r.text

    def listed(**params):
        r = ops.get("/admin/products", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    page = listed(q=f"zx{tag}")  # title prefix, any case; inactive products too; newest first
    assert [p["id"] for p in page["items"]] == [second["id"], first["id"]] and page["total"] == 2
    item = page["items"][1]
    assert (item["title"], item["brand"], item["part_no"], item["price_fen"], item["stock"]) == \
        (first["title"], "Yageo", f"CC{tag}", 10_000, 100)
    assert item["level1_bp"] == 800 and item["level2_bp"] is None and item["created_at"].endswith("+00:00")
    assert [p["id"] for p in listed(q=f"CC{tag}")["items"]] == [first["id"]]  # part number
    assert [p["id"] for p in listed(q=f"br{tag}")["items"]] == [second["id"]]  # brand
    assert listed(q=f"{tag}")["total"] == 0  # a prefix, not a substring
    assert listed(q=f"ZX{tag} resistor 50%")["total"] == 1 and listed(q=f"ZX{tag} resistor 5_")["total"] == 0
    assert listed(per_page=100)["total"] >= 2

    r = ops.get(f"/admin/products/{first['id']}")
    assert r.status_code == 200 and r.json()["title"] == first["title"] and r.json()["active"] is True
    r = ops.get("/admin/products/999999999")
    assert (r.status_code, r.json()["error"]["code"]) == (404, "PRODUCT_NOT_FOUND")
    assert ops.get("/admin/products", params={"per_page": 101}).status_code == 422


@pytest.mark.parametrize("path", ["/admin/orders", "/admin/orders/1", "/admin/orders/1/refund-preview",
                                  "/admin/products", "/admin/products/1"])
def test_only_operators_read_them(live, ops, path):
    consumer = login(live)
    r = consumer.get(path)
    assert r.status_code in (401, 403) and r.json()["error"]["code"] in ("UNAUTHORIZED", "FORBIDDEN"), r.text
    r = consumer.__class__(live).get(path)  # no token at all
    assert r.status_code in (401, 403), r.text
    # finance reads them (order 1 may be missing, or no longer refundable, by now)
    r = finance_client(live).get(path)
    assert r.status_code in (200, 404, 409) and r.json().get("error", {}).get("code") != "FORBIDDEN", r.text


def test_finance_reads_but_does_not_refund(live, ops):
    a, b, c = chain(live)
    order = buy(live, c, create_product(ops)["id"])
    finance = finance_client(live)
    assert finance.get(f"/admin/orders/{order['id']}").status_code == 200
    assert finance.get(f"/admin/orders/{order['id']}/refund-preview").status_code == 200
    r = finance.post(f"/admin/orders/{order['id']}/refund", json={"reason": "no"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "FORBIDDEN")


def test_order_list_queries_use_their_indexes_on_postgresql(live):
    """EXPLAIN of the list's own SQL over 60,000 orders (ANALYZEd), one a minute over six
    weeks (so one day is a small share of them at any time of day): each filter reads its
    index, never the whole table. Inside a transaction that is rolled back, rows and
    statistics alike, so the other tests never see these orders."""
    from sqlalchemy import func, select, text

    from backend.orders.admin_lists import EXACT_UP_TO, order_filters, order_list_stmt
    from backend.orders.models import Order

    with live.app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        pytest.skip("the production target's planner")
    tag = datetime.now().strftime("%H%M%S%f")
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            user_ids = conn.execute(text(
                "INSERT INTO users (openid, nickname, avatar_url, created_at, distributor_status, depth, "
                "has_paid_order) SELECT 'explain-' || :tag || '-' || g, '', '', now(), 'approved', 0, false "
                "FROM generate_series(1, 600) g RETURNING id"), {"tag": tag}).scalars().all()
            low, high = min(user_ids), max(user_ids)
            conn.execute(text(
                "INSERT INTO orders (user_id, status, total_fen, paid_fen, refunded_fen, out_trade_no, created_at, "
                "expires_at, paid_at, level1_id) "
                "SELECT :low + (g % 600), (ARRAY['pending_payment','paid','shipped','completed','cancelled',"
                "'refunded','partially_refunded'])[1 + (g % 7)], 1000, 1000, 0, 'EX' || :tag || g, "
                "now() - (g || ' minutes')::interval, now(), now() - (g || ' minutes')::interval, "
                ":low + ((g * 7) % 600) FROM generate_series(1, 60000) g"), {"low": low, "tag": tag})
            conn.execute(text("ANALYZE orders"))

            def plan(stmt) -> str:
                sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
                return "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {sql}")))

            def listed(args):
                return plan(order_list_stmt(args).limit(20))

            def counted(args):  # the total's capped count (admin_lists.order_total)
                ids = select(Order.id).where(*order_filters(args)).limit(EXACT_UP_TO + 1)
                return plan(select(func.count()).select_from(ids.subquery()))

            by_status = listed({"status": "shipped"})
            assert "ix_orders_status_created" in by_status and "Seq Scan on orders" not in by_status, by_status
            by_distributor = listed({"distributor_id": high})
            assert "ix_orders_level1_created" in by_distributor, by_distributor
            assert "Seq Scan on orders" not in by_distributor, by_distributor
            by_buyer = listed({"buyer_id": high})
            assert "ix_orders_user_created" in by_buyer and "Seq Scan on orders" not in by_buyer, by_buyer
            newest = listed({})
            assert "ix_orders_created_at" in newest and "Seq Scan on orders" not in newest, newest
            day = datetime.now(SHOP_TZ).date()
            for args in ({"status": "shipped"}, {"distributor_id": high}, {"buyer_id": high},
                         {"paid_from": day, "paid_to": day}, {"q": "EX-none"}, {"q": "12"}):
                counting = counted(args)
                assert "Seq Scan on orders" not in counting, (args, counting)
            assert "Limit" in counted({})  # the unfiltered count stops after EXACT_UP_TO + 1 rows
        finally:
            trans.rollback()

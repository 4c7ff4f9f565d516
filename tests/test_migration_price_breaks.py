"""0017: a product stored before price breaks sells as before (one break from 1 unit at
its price_fen, MOQ 1, multiple 1); an order line stored before keeps its price, exactly."""

from __future__ import annotations

import uuid

from flask_migrate import downgrade, upgrade
from helpers import admin, create_product, login
from sqlalchemy import text

from backend.extensions import db


def test_products_and_order_lines_from_before_keep_their_prices(live, admin_token):
    title = f"Old part {uuid.uuid4().hex[:6]}"
    sold = create_product(admin(live, admin_token), price_fen=321_000)  # ¥3,210: in micro-yuan past 2**31
    buyer = login(live)
    r = buyer.post("/orders", json={"items": [{"product_id": sold["id"], "quantity": 3}]})
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    with live.app.app_context():
        downgrade(revision="0016_recon_console")
        db.session.execute(text(
            "INSERT INTO products (title, price_fen, stock, active, created_at, updated_at)"
            " VALUES (:t, 1234, 7, :yes, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"t": title, "yes": True})
        pid = db.session.execute(text("SELECT id FROM products WHERE title = :t"), {"t": title}).scalar_one()
        line = db.session.execute(text("SELECT id, unit_price_fen FROM order_items WHERE order_id = :o"),
                                  {"o": order_id}).one()
        db.session.commit()
        upgrade()
        product = db.session.execute(text("SELECT price_fen, moq, order_multiple FROM products WHERE id = :p"),
                                     {"p": pid}).one()
        breaks = db.session.execute(text("SELECT min_qty, unit_price_micro FROM product_price_breaks"
                                         " WHERE product_id = :p"), {"p": pid}).all()
        line_after = db.session.execute(
            text("SELECT unit_price_micro FROM order_items WHERE id = :i"), {"i": line.id}).scalar_one()
        db.session.rollback()
    assert tuple(product) == (1234, 1, 1)
    assert [tuple(b) for b in breaks] == [(1, 12_340_000)]
    assert (line.unit_price_fen, line_after) == (321_000, 3_210_000_000)
    assert buyer.get(f"/products/{pid}").json()["price_breaks"] == [{"min_qty": 1, "unit_price": "12.340000"}]
    [item] = buyer.get(f"/orders/{order_id}").json()["items"]
    assert (item["unit_price"], item["amount_fen"]) == ("3210.000000", 963_000)

"""Products carry their part's search columns (category, package, brand, dielectric, MPN
key: backend/catalog/search_columns.py), and every writer keeps the copy: the import (new
parts, changed parts, a second product of a part), the admin's product forms, a part made
by reconciliation and sold later. What a buyer sees: the search finds each product by
what its part is now. ``flask fission catalog-reindex`` repairs a copy broken by hand, and
migration 0028 fills the copy of the rows there were."""

from __future__ import annotations

import json
import uuid

import pytest
from flask_migrate import downgrade, upgrade
from helpers import admin, finance_client, login
from sqlalchemy import text
from test_catalog_import import _csv, _import

from backend.catalog import search_columns
from backend.extensions import db


@pytest.fixture
def ops(live, admin_token):
    return admin(live, admin_token)


def _found(buyer, **params) -> list[int]:
    r = buyer.get("/products", params={"per_page": 100, **params})
    assert r.status_code == 200, r.text
    return sorted(p["id"] for p in r.json()["items"])


def _product_id(ops, mpn: str) -> int:
    [found] = [p["id"] for p in ops.get("/admin/products", params={"mpn": mpn}).json()["items"]]
    return found


def _one_imported(live, ops, row: list[str]) -> tuple[str, int]:
    """Import one part (MPN tagged fresh) and answer (its MPN, its product's id)."""
    mpn = f"CC{uuid.uuid4().hex[:6].upper()}"
    _import(live, ops, "one.csv", _csv([[mpn, *row]]))
    return mpn, _product_id(ops, mpn)


def _stale(live) -> int:
    with live.app.app_context():
        return search_columns.stale()


def test_every_writer_keeps_the_products_copy_of_its_part(live, ops):
    tag = uuid.uuid4().hex[:6].upper()
    cap, res = f"CC{tag}A", f"RC{tag}B"
    _import(live, ops, "first.csv", _csv([
        [cap, "风华", "0402", "100nF", "16V", "±10%", "X7R", "1000", "1-:0.0050"],
        [res, "国巨", "0603", "10k", "", "±1%", "", "1000", "1-:0.0009"],
    ]))
    buyer = login(live)
    imported, resistor = _product_id(ops, cap), _product_id(ops, res)
    assert _found(buyer, q=f"CC{tag}", package="0402", dielectric="X7R", brand="FH") == [imported]
    # the admin sells the same part a second time, naming its brand by another alias
    r = ops.post("/admin/products", json={"title": "风华 100nF, reel", "part_no": cap.lower(), "brand": "Fenghua",
                                          "price_fen": 1, "stock": 10})
    assert r.status_code == 201, r.text
    second = r.json()["id"]
    assert _found(buyer, q=f"CC{tag}", category="mlcc", package="0402") == sorted([imported, second])
    # a re-import moves the part to 0603 X5R: both products follow it, the import wrote one part
    report = _import(live, ops, "moved.csv", _csv([
        [cap, "FH", "0603", "100nF", "16V", "±10%", "X5R", "1000", "1-:0.0050"],
    ]))["report"]
    assert report["updated"] == 1
    assert _found(buyer, q=f"CC{tag}", package="0402") == []
    assert _found(buyer, q=f"CC{tag}", package="0603", dielectric="X5R") == sorted([imported, second])
    # the admin points the second product at the resistor, then at no part at all
    r = ops.put(f"/admin/products/{second}", json={"part_no": res, "brand": "Yageo"})
    assert r.status_code == 200, r.text
    assert _found(buyer, q=f"RC{tag}", category="chip_resistor", brand="国巨") == sorted([resistor, second])
    r = ops.put(f"/admin/products/{second}", json={"part_no": ""})
    assert r.status_code == 200, r.text
    assert second not in _found(buyer, q=f"RC{tag}") + _found(buyer, q=f"CC{tag}")
    # finance makes a part with no product; a product that names it later takes its package
    fin = finance_client(live)
    made = fin.post("/admin/reconciliation/parts", json={"part_no": f"LQ{tag}", "brand": "Murata",
                                                          "package": "0805", "description": "inductor"})
    assert made.status_code == 201, made.text
    r = ops.post("/admin/products", json={"title": "Inductor", "part_no": f"LQ{tag}", "brand": "村田",
                                          "price_fen": 100, "stock": 5})
    assert r.status_code == 201, r.text
    assert _found(buyer, q=f"LQ{tag}", package="0805", brand="Murata") == [r.json()["id"]]
    assert _stale(live) == 0


def test_reindex_repairs_a_copy_broken_by_hand(live, ops):
    mpn, pid = _one_imported(live, ops, ["TDK", "1206", "10uF", "25V", "±10%", "X7R", "10", "1-:0.02"])
    with live.app.app_context():
        db.session.execute(text("UPDATE products SET part_package = '0201' WHERE id = :p"), {"p": pid})
        db.session.commit()
    buyer = login(live)
    assert _found(buyer, q=mpn, package="1206") == []
    result = live.app.test_cli_runner().invoke(args=["fission", "catalog-reindex"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["stale_before"] >= 1
    assert _found(buyer, q=mpn, package="1206") == [pid]
    assert _stale(live) == 0


def test_the_migration_fills_the_copy_of_the_products_there_were(live, ops):
    mpn, pid = _one_imported(live, ops, ["Samsung", "0805", "1uF", "50V", "±10%", "X7R", "10", "1-:0.01"])
    with live.app.app_context():
        downgrade(revision="0027_level_fen_bigint")
        db.session.commit()
        upgrade()
        copy = db.session.execute(text("SELECT part_category, part_package, part_dielectric FROM products"
                                       " WHERE id = :p"), {"p": pid}).one()
        db.session.rollback()
    assert tuple(copy) == ("mlcc", "0805", "X7R")
    assert _found(login(live), q=mpn, package="0805", brand="SEMCO") == [pid]
    assert _stale(live) == 0

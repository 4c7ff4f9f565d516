"""One part master: (MPN, brand) names one part however it is written ("FH", "Fenghua",
"风华"; case and spaces in the MPN), for the shop's products and the reconciliation's parts."""

from __future__ import annotations

import uuid

import pytest
from helpers import admin, create_product, finance_client
from test_reconciliation_pricing import R, make_supplier, price_list

ROUNDS = 6


@pytest.fixture
def ops(live, admin_token):
    return admin(live, admin_token)


def _mpn() -> str:
    return f"0402B104K160CT{uuid.uuid4().hex[:6].upper()}"


def test_products_written_differently_sell_one_part(ops):
    mpn = _mpn()
    a = create_product(ops, title="风华 100nF", brand="风华", part_no=mpn)
    b = create_product(ops, title="FH 100nF", brand="FH", part_no=f" {mpn.lower()} ")
    c = create_product(ops, title="Fenghua 100nF", brand="Feng-Hua ", part_no=mpn)
    other = create_product(ops, title="Murata", brand="村田", part_no=mpn)
    plain = create_product(ops, title="A cable", brand=None, part_no=None)
    assert a["part_id"] and a["part_id"] == b["part_id"]
    assert c["part_id"] == a["part_id"]  # "Feng-Hua " keys as "fenghua"
    assert other["part_id"] not in (a["part_id"], None)
    assert plain["part_id"] is None
    # the product keeps the brand and number as written (the contract's fields)
    assert (b["brand"], b["part_no"]) == ("FH", f" {mpn.lower()} ")
    # changing the part number moves the product to that part
    moved = ops.put(f"/admin/products/{b['id']}", json={"part_no": other["part_no"], "brand": "Murata"})
    assert moved.status_code == 200 and moved.json()["part_id"] == other["part_id"]


def test_the_reconciliation_and_the_shop_share_the_part(live, ops):
    fin = finance_client(live)
    mpn = _mpn()
    product = create_product(ops, title="风华 100nF", brand="风华高科", part_no=mpn)
    # the reconciliation's part form finds the shop's part under another alias
    r = fin.post(f"{R}/parts", json={"part_no": mpn.lower(), "brand": "FH", "package": "0402"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "DUPLICATE_NUMBER"
    listed = fin.get(f"{R}/parts", params={"q": mpn}).json()["items"]
    assert [(p["id"], p["part_no"], p["brand"]) for p in listed] == [(product["part_id"], mpn, "Fenghua")]
    # a supplier's price list naming it "FH" prices the same part
    supplier = make_supplier(fin)
    done = price_list(fin, supplier["id"], "2026-03-01", [["part_no", "brand", "unit_price"], [mpn, "FH", "0.0021"]])
    assert done.status_code == 201, done.text
    history = fin.get(f"{R}/parts/{product['part_id']}/price-history").json()
    assert [p["unit_price"] for s in history["series"] for p in s["points"]] == ["0.002100"]
    # a brand nobody knew becomes one, and its spellings meet
    r = fin.post(f"{R}/parts", json={"part_no": mpn, "brand": "Acme Parts"})
    assert r.status_code == 201
    again = fin.post(f"{R}/parts", json={"part_no": mpn, "brand": "ACME-PARTS"})
    assert again.status_code == 409


def test_parallel_writers_of_one_new_part_make_one_brand_and_one_part(live, ops):
    """Eight operators create a product of the same new part of a new brand at once, each
    writing the brand differently: one brand, one part, eight products selling it. Several
    rounds, since a lost race (on MariaDB a deadlock victim) shows only now and then."""
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(ROUNDS):
        tag = uuid.uuid4().hex[:6].upper()
        spellings = [f"Brand {tag}", f"brand-{tag}", f"BRAND{tag}", f"Brand_{tag}"] * 2

        def create(brand: str, tag: str = tag) -> dict:
            r = ops.post("/admin/products", json={"title": f"P {tag}", "brand": brand, "part_no": f"X{tag}",
                                                  "price_fen": 100, "stock": 1})
            assert r.status_code == 201, r.text
            return r.json()

        with ThreadPoolExecutor(8) as pool:
            made = list(pool.map(create, spellings))
        assert len({p["id"] for p in made}) == 8
        assert len({p["part_id"] for p in made}) == 1

"""Parametric search (选型): GET /api/v1/products by category, package, parameters with
units, brand by any alias, MPN prefix, in stock; faceted counts; paged. The catalog is
imported through the admin API first (tests/test_catalog_import.py)."""

from __future__ import annotations

import uuid

import pytest
from helpers import admin, drain, login, upload
from test_catalog_import import _csv


@pytest.fixture(scope="module")
def catalog(live, admin_token):
    """A small catalog whose MPNs all start with one tag (so the queries see only it)."""
    ops = admin(live, admin_token)
    tag = f"S{uuid.uuid4().hex[:6].upper()}"
    rows = [
        # mpn, brand, package, value, voltage, tolerance, dielectric, stock, breaks
        ["A1", "村田", "0402", "100nF", "16V", "±10%", "X7R", "100", "1-:0.0065"],
        ["A2", "SEMCO", "0402", "0.1uF", "25V", "10%", "X5R", "0", "1-:0.0050"],
        ["A3", "FH", "0402", "100nF", "10V", "±10%", "X7R", "500", "1-:0.0030"],
        ["A4", "风华", "0402", "100nF", "50V", "±20%", "X7R", "500", "1-:0.0040"],
        ["A5", "Murata", "0603", "100nF", "16V", "±10%", "X7R", "100", "1-:0.0070"],
        ["A6", "Murata", "0402", "10nF", "16V", "±10%", "X7R", "100", "1-:0.0020"],
        ["A7", "TDK", "0402", "100nF", "16V", "±10%", "C0G", "100", "1-:0.0090"],
        ["B1", "国巨", "0402", "10k", "", "±1%", "", "1000", "1-:0.0009"],
        ["B2", "UniOhm", "0402", "10kΩ", "", "1%", "", "0", "1-:0.0008"],
        ["B3", "Yageo", "0603", "4K7", "", "5%", "", "10", "1-:0.0007"],
    ]
    data = _csv([[f"{tag}-{r[0]}", *r[1:]] for r in rows])
    r = upload(ops, "/admin/catalog/imports", "search.csv", data)
    assert r.status_code == 202, r.text
    drain(live)
    assert ops.get(f"/admin/catalog/imports/{r.json()['id']}").json()["report"]["accepted"] == len(rows)
    return {"tag": tag, "buyer": login(live), "ops": ops}


def _search(catalog, **params) -> dict:
    r = catalog["buyer"].get("/products", params={"q": catalog["tag"], **params})
    assert r.status_code == 200, r.text
    return r.json()


def _mpns(page: dict) -> list[str]:
    return [p["part"]["mpn"].split("-", 1)[1] for p in page["items"]]


def test_the_seed_query_0402_100nf_16v_or_more_x7r_or_x5r_10_percent(catalog):
    page = _search(catalog, category="mlcc", package="0402", capacitance="100nF", voltage_min="16V",
                   dielectric="X7R,X5R", tolerance="10%")
    assert _mpns(page) == ["A1", "A2"] and page["total"] == 2
    first = page["items"][0]
    assert first["part"]["brand"] == "Murata" and first["part"]["capacitance_ff"] == 100_000_000
    assert first["price_breaks"] == [{"min_qty": 1, "unit_price": "0.006500"}]
    # in stock only: the Samsung part (A2) has none
    in_stock = _search(catalog, package="0402", capacitance="0.1uF", voltage_min="16V", in_stock="true")
    assert _mpns(in_stock) == ["A1", "A4", "A7"]
    # a range, the other way
    assert _mpns(_search(catalog, capacitance_max="10nF")) == ["A6"]


def test_brand_by_any_alias_mpn_prefix_and_resistors(catalog):
    assert _mpns(_search(catalog, brand="风华高科")) == ["A3", "A4"]
    assert _mpns(_search(catalog, brand="村田,TDK")) == ["A1", "A5", "A6", "A7"]
    assert _search(catalog, brand="Nobody Knows")["total"] == 0
    assert _mpns(_search(catalog, q=f"{catalog['tag'].lower()}-b")) == ["B1", "B2", "B3"]  # MPN prefix, any case
    assert _mpns(_search(catalog, resistance="10k", package="0402")) == ["B1", "B2"]
    assert _mpns(_search(catalog, category="chip_resistor", tolerance="±5%")) == ["B3"]


def test_facets_count_the_matches_and_pages_hold_together(catalog):
    page = _search(catalog, category="mlcc", per_page=2)
    assert page["total"] == 7 and len(page["items"]) == 2
    facets = page["facets"]
    assert facets["package"] == [{"value": "0402", "count": 6}, {"value": "0603", "count": 1}]
    assert {f["value"]: f["count"] for f in facets["brand"]} == {"Murata": 3, "Fenghua": 2, "Samsung": 1, "TDK": 1}
    assert {f["value"]: f["count"] for f in facets["dielectric"]} == {"X7R": 5, "X5R": 1, "C0G": 1}
    assert facets["category"] == [{"value": "mlcc", "count": 7}]
    pages = [_mpns(_search(catalog, category="mlcc", per_page=2, page=n)) for n in (1, 2, 3, 4)]
    assert sum(pages, []) == ["A1", "A2", "A3", "A4", "A5", "A6", "A7"]
    # the plain list has no facets
    assert catalog["buyer"].get("/products").json()["facets"] is None


def test_bad_parameters_are_refused_with_their_name(catalog):
    for params, name in (({"capacitance": "100"}, "capacitance"), ({"voltage_min": "lots"}, "voltage_min"),
                         ({"dielectric": "X9Z"}, "dielectric"), ({"package": "0403"}, "package")):
        r = catalog["buyer"].get("/products", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text
        assert name in str(r.json()["error"].get("details")), r.text


def test_the_admin_list_searches_too(catalog):
    ops = catalog["ops"]
    r = ops.get("/admin/products", params={"mpn": catalog["tag"], "capacitance": "100nF", "voltage_min": "16V"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["part"]["mpn"].split("-", 1)[1] for p in body["items"]] == ["A7", "A5", "A4", "A2", "A1"]  # newest first
    assert {f["value"]: f["count"] for f in body["facets"]["package"]} == {"0402": 4, "0603": 1}
    # the title prefix and the filters together
    both = ops.get("/admin/products", params={"q": f"{catalog['tag']}-A", "package": "0603"}).json()
    assert [p["part_no"].split("-", 1)[1] for p in both["items"]] == ["A5"]

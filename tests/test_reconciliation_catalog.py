"""The endpoints the finance console's price and purchase pages added: the price-list
preview, a part's price history, the PO and document lists, the conversion preview (and
``use_po_price`` on a conversion), the counterparty search. Over HTTP, role finance."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from helpers import finance_client, upload
from test_reconciliation_pricing import R, make_part, make_po, make_supplier, price_list


@pytest.fixture
def fin(live):
    return finance_client(live)


def _code(r) -> str:
    return r.json()["error"]["code"]


def test_a_price_list_preview_reports_the_rows_and_saves_nothing(fin):
    supplier = make_supplier(fin)
    a, b = make_part(fin), make_part(fin, brand="TI")
    assert price_list(fin, supplier["id"], "2026-03-01", [["part_no", "brand", "unit_price"],
                                                          [a["part_no"], "Murata", "0.5"]]).status_code == 201
    rows = [["part_no", "brand", "unit_price"], [a["part_no"], "Murata", "0.6"], ["NOPE", "Murata", "1"],
            [b["part_no"], "TI", "abc"], [b["part_no"], "TI", "1.25"]]
    data = "\n".join(",".join(r) for r in rows).encode()
    r = upload(fin, f"{R}/suppliers/{supplier['id']}/price-lists/preview", "p.csv", data, effective_date="2026-03-15")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 2 and body["applicable"] is True and body["changed"] == 2
    assert [(x["row"], x["column"], x["code"]) for x in body["report"]["rejected"]] == [
        (3, "part_no", "UNKNOWN_PART"), (4, "unit_price", "NOT_A_NUMBER")]
    assert body["report"]["accepted"] == 2
    assert [v["version"] for v in fin.get(f"{R}/suppliers/{supplier['id']}/price-lists").json()] == [1]
    # the import of the same file reports exactly the same rows
    done = upload(fin, f"{R}/suppliers/{supplier['id']}/price-lists", "p.csv", data, effective_date="2026-03-15")
    assert done.status_code == 201 and done.json()["report"] == body["report"]
    # no good row: the preview says so (200), the import would refuse it
    bad = b"part_no,brand,unit_price\nNOPE,X,1\n"
    r = upload(fin, f"{R}/suppliers/{supplier['id']}/price-lists/preview", "p.csv", bad, effective_date="2026-03-15")
    assert r.status_code == 200 and r.json()["applicable"] is False
    r = upload(fin, f"{R}/suppliers/{supplier['id']}/price-lists/preview", "p.csv", b"x,y\n1,2\n",
               effective_date="2026-03-15")
    assert r.status_code == 422 and _code(r) == "IMPORT_BAD_COLUMNS"
    r = upload(fin, f"{R}/suppliers/999999/price-lists/preview", "p.csv", data, effective_date="2026-03-15")
    assert r.status_code == 404 and _code(r) == "COUNTERPARTY_NOT_FOUND"
    r = upload(fin, f"{R}/suppliers/{supplier['id']}/price-lists/preview", "p.csv", data, effective_date="x")
    assert r.status_code == 422 and _code(r) == "VALIDATION_ERROR"


def test_the_price_history_of_a_part_across_suppliers(fin):
    one, two = make_supplier(fin, name="一号供应商"), make_supplier(fin, name="二号供应商")
    part = make_part(fin)
    head = ["part_no", "brand", "unit_price"]
    for supplier, day, price in ((one, "2026-03-01", "0.5"), (one, "2026-03-15", "0.55"), (two, "2026-03-10", "0.48")):
        assert price_list(fin, supplier["id"], day, [head, [part["part_no"], "Murata", price]]).status_code == 201
    r = fin.get(f"{R}/parts/{part['id']}/price-history")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["part"]["id"] == part["id"]
    got = {s["supplier_id"]: [(p["effective_date"], p["unit_price"]) for p in s["points"]] for s in body["series"]}
    assert got == {one["id"]: [("2026-03-01", "0.500000"), ("2026-03-15", "0.550000")],
                   two["id"]: [("2026-03-10", "0.480000")]}
    r = fin.get(f"{R}/parts/99999999/price-history")
    assert r.status_code == 404 and _code(r) == "PART_NOT_FOUND"


def test_the_po_list_filters_and_pages(fin):
    supplier, other = make_supplier(fin), make_supplier(fin)
    part = make_part(fin)
    tag = uuid.uuid4().hex[:6].upper()
    first = make_po(fin, supplier["id"], f"PO{tag}-1", "2026-05-01", [(part, 10, "1.0")])
    second = make_po(fin, supplier["id"], f"PO{tag}-2", "2026-05-03", [(part, 10, "1.0")])
    make_po(fin, other["id"], f"PO{tag}-3", "2026-05-02", [(part, 10, "1.0")])
    r = fin.post(f"{R}/purchase-orders/{first['id']}/receipts", json={
        "policy": "po", "number": f"GR{tag}", "doc_date": "2026-05-04",
        "lines": [{"po_line_id": first["lines"][0]["id"], "qty": 4}]})
    assert r.status_code == 201, r.text
    page = fin.get(f"{R}/purchase-orders", params={"supplier_id": supplier["id"]}).json()
    assert [p["number"] for p in page["items"]] == [second["number"], first["number"]] and page["total"] == 2
    assert page["items"][1]["status"] == "partial" and page["items"][1]["received_qty"] == 4
    assert page["items"][1]["supplier_code"] == supplier["code"]
    assert [p["id"] for p in fin.get(f"{R}/purchase-orders", params={
        "number": f"PO{tag}", "status": "open"}).json()["items"]] == [second["id"], second["id"] + 1]
    assert fin.get(f"{R}/purchase-orders", params={"number": f"PO{tag}", "date_from": "2026-05-02",
                                                    "date_to": "2026-05-02"}).json()["total"] == 1
    assert fin.get(f"{R}/purchase-orders", params={"number": f"PO{tag}", "per_page": 1,
                                                    "page": 2}).json()["items"][0]["number"].endswith("-3")
    for bad in ({"per_page": 101}, {"status": "done"}, {"supplier_id": "x"}, {"date_from": "2026-05-03",
                                                                              "date_to": "2026-05-01"}):
        r = fin.get(f"{R}/purchase-orders", params=bad)
        assert r.status_code == 422 and _code(r) == "VALIDATION_ERROR", bad
    detail = fin.get(f"{R}/purchase-orders/{first['id']}").json()
    assert detail["supplier_name"] == supplier["name"] and detail["lines"][0]["part_no"] == part["part_no"]
    docs = fin.get(f"{R}/documents", params={"po_id": first["id"]}).json()
    assert [(d["number"], d["lines"], d["amount"]) for d in docs["items"]] == [(f"GR{tag}", 1, "4.00")]
    assert fin.get(f"{R}/documents", params={"per_page": 101}).status_code == 422
    assert fin.get(f"{R}/documents", params={"kind": "invoice"}).status_code == 422


def test_the_conversion_preview_is_what_convert_saves_and_changes_nothing(fin):
    supplier = make_supplier(fin)
    near, far = make_part(fin), make_part(fin, brand="TI")
    head = ["part_no", "brand", "unit_price"]
    assert price_list(fin, supplier["id"], "2026-06-01", [head, [near["part_no"], "Murata", "1.0"],
                                                          [far["part_no"], "TI", "2.0"]]).status_code == 201
    assert price_list(fin, supplier["id"], "2026-06-15", [head, [near["part_no"], "Murata", "1.0005"],
                                                          [far["part_no"], "TI", "2.1"]]).status_code == 201
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-06-02", [(near, 1000, "1.0"),
                                                                                    (far, 100, "2.0")])
    ids = [line["id"] for line in po["lines"]]
    wanted = [{"po_line_id": ids[0], "qty": 600}, {"po_line_id": ids[1], "qty": 100, "use_po_price": True}]
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts/preview",
                 json={"policy": "price_list", "doc_date": "2026-06-20", "lines": wanted})
    assert r.status_code == 200, r.text
    preview = r.json()
    assert [(x["unit_price"], x["price_diff"], x["price_source"], x["amount"]) for x in preview["lines"]] == [
        ("1.000500", "0.000500", "price_list", "600.30"), ("2.000000", "0.000000", "po", "200.00")]
    assert preview["diff_amount"] == "0.30"
    assert fin.get(f"{R}/purchase-orders/{po['id']}").json()["lines"][0]["received_qty"] == 0
    full = fin.post(f"{R}/purchase-orders/{po['id']}/receipts/preview",
                    json={"policy": "price_list", "doc_date": "2026-06-20"}).json()
    assert [x["price_diff"] for x in full["lines"]] == ["0.000500", "0.100000"]
    saved = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
        "policy": "price_list", "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-06-20", "lines": wanted})
    assert saved.status_code == 201, saved.text
    assert [(x["unit_price"], x["price_source"], x["amount_cents"]) for x in saved.json()["lines"]] == [
        (x["unit_price"], x["price_source"], x["amount_cents"]) for x in preview["lines"]]
    for body, status, code in (({"policy": "price_list", "doc_date": "2026-06-20",
                                 "lines": [{"po_line_id": ids[0], "qty": 401}]}, 422, "QTY_EXCEEDS_OPEN"),
                               ({"policy": "price_list", "doc_date": "2026-06-20",
                                 "lines": [{"po_line_id": 2**31 - 1, "qty": 1}]}, 404, "NOT_FOUND"),
                               ({"policy": "cheapest", "doc_date": "2026-06-20"}, 422, "VALIDATION_ERROR")):
        r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts/preview", json=body)
        assert (r.status_code, _code(r)) == (status, code), body
    r = fin.post(f"{R}/purchase-orders/99999999/receipts/preview", json={"policy": "po", "doc_date": "2026-06-20"})
    assert r.status_code == 404 and _code(r) == "PURCHASE_ORDER_NOT_FOUND"


def test_counterparties_are_searched_by_name_or_code(fin):
    tag = uuid.uuid4().hex[:6]
    one = make_supplier(fin, name=f"华强电子{tag}")
    make_supplier(fin, name="别的公司")
    found = fin.get(f"{R}/counterparties", params={"q": f"电子{tag}"}).json()
    assert [c["id"] for c in found["items"]] == [one["id"]]
    assert [c["id"] for c in fin.get(f"{R}/counterparties", params={"q": one["code"]}).json()["items"]] == [one["id"]]
    assert fin.get(f"{R}/counterparties", params={"q": "%"}).json()["total"] == 0
    assert fin.get(f"{R}/counterparties", params={"per_page": 101}).status_code == 422
    # the edit dialog changes the currency too
    r = fin.patch(f"{R}/counterparties/{one['id']}", json={"currency": "USD", "price_tolerance": "0.0005"})
    assert r.status_code == 200 and r.json()["currency"] == "USD"
    assert Decimal(r.json()["price_tolerance"]) == Decimal("0.0005")
    r = fin.patch(f"{R}/counterparties/{one['id']}", json={"currency": "usd"})
    assert r.status_code == 422 and _code(r) == "VALIDATION_ERROR"
    r = fin.patch(f"{R}/counterparties/99999999", json={"currency": "USD"})
    assert r.status_code == 404 and _code(r) == "COUNTERPARTY_NOT_FOUND"


def test_an_operator_is_refused_the_new_endpoints(live):
    ops = finance_client(live, role="operator")
    for path in ("/purchase-orders", "/documents", "/parts/1/price-history"):
        r = ops.get(f"{R}{path}")
        assert r.status_code == 403, path
    r = ops.post(f"{R}/purchase-orders/1/receipts/preview", json={"policy": "po", "doc_date": "2026-06-20"})
    assert r.status_code == 403

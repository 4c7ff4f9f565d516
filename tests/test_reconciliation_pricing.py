"""Price lists, PO → receipt conversion under each pricing policy, re-pricing, the
price-variance report, micro-price rounding and bad imports. Over HTTP, role finance."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from helpers import finance_client, upload
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.reconciliation.money import line_amount_cents

R = "/admin/reconciliation"


@pytest.fixture
def fin(live):
    return finance_client(live)


def code(prefix: str = "S") -> str:
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def make_supplier(fin, **extra) -> dict:
    body = {"kind": "supplier", "code": code(), "name": "深圳元件有限公司", "billing_cycle": "monthly",
            "cutoff_day": 0, "currency": "CNY", "email": "ap@example.test", **extra}
    r = fin.post(f"{R}/counterparties", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def make_part(fin, brand: str = "Murata") -> dict:
    r = fin.post(f"{R}/parts", json={"part_no": f"GRM{uuid.uuid4().hex[:10].upper()}", "brand": brand,
                                     "package": "0402", "description": "MLCC 100nF"})
    assert r.status_code == 201, r.text
    return r.json()


def csv_bytes(rows: list[list]) -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in rows).encode()


def xlsx_bytes(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def price_list(fin, supplier_id: int, effective: str, rows: list[list], fmt: str = "csv"):
    data = csv_bytes(rows) if fmt == "csv" else xlsx_bytes(rows)
    return upload(fin, f"{R}/suppliers/{supplier_id}/price-lists", f"prices.{fmt}", data, effective_date=effective)


def test_price_list_versions_and_latest_price_as_of_any_date(fin):
    supplier = make_supplier(fin)
    a, b = make_part(fin), make_part(fin, brand="TI")
    r = price_list(fin, supplier["id"], "2026-03-01",
                   [["part_no", "brand", "unit_price"], [a["part_no"], "Murata", "0.0023"],
                    [b["part_no"], "TI", "1.5"]])
    assert r.status_code == 201, r.text
    assert r.json()["price_list"]["version"] == 1 and r.json()["report"] == {"rows": 2, "accepted": 2, "rejected": [],
                                                                             "rejected_total": 0,
                                                                             "rejected_not_listed": 0}
    # version 2 from the 15th, in XLSX with Chinese headers, only part A moves
    r = price_list(fin, supplier["id"], "2026-03-15",
                   [["型号", "品牌", "单价"], [a["part_no"], "Murata", 0.002512]], fmt="xlsx")
    assert r.status_code == 201, r.text
    assert r.json()["price_list"]["version"] == 2

    def latest(part, day):
        r = fin.get(f"{R}/suppliers/{supplier['id']}/prices/{part['id']}", params={"as_of": day})
        return r.json().get("unit_price") if r.status_code == 200 else r.status_code

    assert latest(a, "2026-02-28") == 404
    assert latest(a, "2026-03-14") == "0.002300"
    assert latest(a, "2026-03-15") == "0.002512"
    assert latest(b, "2026-03-20") == "1.500000"  # not in v2: v1 still holds
    versions = fin.get(f"{R}/suppliers/{supplier['id']}/price-lists").json()
    assert [v["version"] for v in versions] == [2, 1]


def make_po(fin, supplier_id: int, number: str, order_date: str, lines: list[tuple[dict, int, str]]) -> dict:
    r = fin.post(f"{R}/purchase-orders", json={
        "supplier_id": supplier_id, "number": number, "order_date": order_date,
        "lines": [{"part_id": p["id"], "qty": q, "unit_price": price} for p, q, price in lines]})
    assert r.status_code == 201, r.text
    return r.json()


def test_a_month_with_price_changes_under_each_policy_and_the_variance_report(fin):
    supplier = make_supplier(fin)
    moved, steady, unlisted = make_part(fin), make_part(fin, brand="TI"), make_part(fin, brand="ST")
    assert price_list(fin, supplier["id"], "2026-04-01", [
        ["part_no", "brand", "unit_price"], [moved["part_no"], "Murata", "0.01782"],
        [steady["part_no"], "TI", "2.000000"]]).status_code == 201
    assert price_list(fin, supplier["id"], "2026-04-10", [
        ["part_no", "brand", "unit_price"], [moved["part_no"], "Murata", "0.0190"]]).status_code == 201
    make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-04-02",  # the older PO
                     [(moved, 1000, "0.0175"), (steady, 10, "2.1")])
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-04-05",
                 [(moved, 30000, "0.0170"), (steady, 100, "2.0"), (unlisted, 5, "3.333333")])
    lines = {line["part_id"]: line["id"] for line in po["lines"]}

    def receive(policy, part, qty, day="2026-04-12"):
        r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
            "policy": policy, "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": day,
            "lines": [{"po_line_id": lines[part["id"]], "qty": qty}]})
        assert r.status_code == 201, r.text
        return r.json()["lines"][0]

    kept = receive("po", moved, 10000)
    assert (kept["price_source"], kept["po_price"], kept["unit_price"], kept["price_diff"]) == \
        ("po", "0.017000", "0.017000", "0.000000")
    listed = receive("price_list", moved, 10000)  # on the 12th the list of the 10th holds
    assert (listed["price_source"], listed["unit_price"], listed["price_diff"]) == \
        ("price_list", "0.019000", "0.002000")
    assert listed["amount_cents"] == 19000
    # latest PO for this supplier and part is this PO itself (5 Apr), before it the old one (2 Apr)
    latest = receive("latest_po", moved, 10000, day="2026-04-04")
    assert (latest["price_source"], latest["unit_price"], latest["price_diff"]) == \
        ("latest_po", "0.017500", "0.000500")
    same = receive("price_list", steady, 100)
    assert (same["unit_price"], same["price_diff"]) == ("2.000000", "0.000000")
    fallback = receive("price_list", unlisted, 5)  # no list prices it: the PO price stays, said so
    assert (fallback["price_source"], fallback["unit_price"]) == ("po", "3.333333")
    assert fallback["amount_cents"] == 1667  # 16.666665 -> 16.67
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
        "policy": "po", "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-04-12",
        "lines": [{"po_line_id": lines[moved["id"]], "qty": 1}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "QTY_EXCEEDS_OPEN"
    assert fin.get(f"{R}/purchase-orders/{po['id']}").json()["lines"][0]["received_qty"] == 30000

    report = fin.get(f"{R}/reports/price-variance", params={"supplier_id": supplier["id"]}).json()
    assert sorted(item["line_id"] for item in report["items"]) == sorted([listed["id"], latest["id"]])
    assert report["total"] == 2
    assert report["by_supplier"] == [{"supplier_code": supplier["code"], "lines": 2, "diff_amount": "25.00"}]
    assert [(b["brand"], b["diff_amount"]) for b in report["by_brand"]] == [("Murata", "25.00")]
    csv_text = fin.get(f"{R}/reports/price-variance", params={"supplier_id": supplier["id"], "format": "csv"})
    assert csv_text.status_code == 200 and csv_text.text.count("\n") == 3
    xlsx = fin.get(f"{R}/reports/price-variance", params={"supplier_id": supplier["id"], "format": "xlsx"})
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3 and sheet.cell(1, 1).value == "supplier_code"


def test_repricing_from_the_latest_lists_is_exact_and_leaves_manual_lines(fin):
    supplier = make_supplier(fin)
    part = make_part(fin)
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-05-01", [(part, 30000, "0.01700")])
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
        "policy": "po", "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-05-03"})
    assert r.status_code == 201
    receipt_line = r.json()["lines"][0]
    manual = fin.post(f"{R}/documents", json={
        "kind": "return", "counterparty_id": supplier["id"], "number": f"RT-{uuid.uuid4().hex[:8]}",
        "doc_date": "2026-05-04", "lines": [{"part_id": part["id"], "qty": 3, "unit_price": "0.015"}]}).json()
    assert manual["lines"][0]["qty"] == -3 and manual["lines"][0]["amount_cents"] == -5  # -0.045 -> -0.05
    assert price_list(fin, supplier["id"], "2026-05-02",
                      [["part_no", "brand", "unit_price"], [part["part_no"], "Murata", "0.01782"]]).status_code == 201
    r = fin.post(f"{R}/receipts/reprice", json={"supplier_id": supplier["id"], "date_from": "2026-05-01",
                                                 "date_to": "2026-05-31"})
    assert r.status_code == 200 and r.json() == {"lines": 1}
    line = _line(fin, receipt_line["id"], po)
    assert (line["unit_price"], line["price_source"], line["price_diff"], line["amount_cents"]) == \
        ("0.017820", "price_list", "0.000820", 53460)


def test_a_list_price_too_large_for_a_line_leaves_that_line_as_it_was(fin):
    """A list price with a few zeros too many would make a line's amount overflow: that
    line keeps its price, the others are re-priced, and nothing fails."""
    supplier = make_supplier(fin)
    huge, fine = make_part(fin), make_part(fin)
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-06-01",
                 [(huge, 1_000_000_000, "0.001"), (fine, 100, "1.00")])
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
        "policy": "po", "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-06-03"})
    assert r.status_code == 201, r.text
    lines = {line["part_id"]: line for line in r.json()["lines"]}
    assert price_list(fin, supplier["id"], "2026-06-02", [
        ["part_no", "brand", "unit_price"], [huge["part_no"], "Murata", "999999999999"],
        [fine["part_no"], "Murata", "1.10"]]).status_code == 201
    r = fin.post(f"{R}/receipts/reprice", json={"supplier_id": supplier["id"], "date_from": "2026-06-01",
                                                 "date_to": "2026-06-30"})
    assert r.status_code == 200 and r.json() == {"lines": 1}, r.text
    report = {item["line_id"]: item for item in
              fin.get(f"{R}/reports/price-variance", params={"supplier_id": supplier["id"]}).json()["items"]}
    assert report[lines[fine["id"]]["id"]]["unit_price"] == "1.100000"
    assert lines[huge["id"]]["id"] not in report  # still at its PO price: no variance


def _line(fin, line_id: int, po: dict) -> dict:
    report = fin.get(f"{R}/reports/price-variance", params={"supplier_id": po["supplier_id"]}).json()
    return next(item | {"amount_cents": int(Decimal(item["amount"]) * 100)} for item in report["items"]
                if item["line_id"] == line_id)


@pytest.mark.parametrize(("qty", "price", "cents"), [
    (30000, "0.01782", 53460), (1, "0.005", 1), (1, "0.004999", 0), (3, "0.015", 5), (-3, "0.015", -5),
    (7, "0.0023", 2), (999999, "123456.789012", 12345666555521),
])
def test_micro_price_rounding_is_exact_to_the_cent(fin, qty, price, cents):
    assert line_amount_cents(qty, Decimal(price)) == cents
    supplier = make_supplier(fin)
    part = make_part(fin)
    r = fin.post(f"{R}/documents", json={
        "kind": "receipt" if qty > 0 else "return", "counterparty_id": supplier["id"],
        "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-06-01",
        "lines": [{"part_id": part["id"], "qty": abs(qty), "unit_price": price}]})
    assert r.status_code == 201, r.text
    assert r.json()["lines"][0]["amount_cents"] == cents


@settings(max_examples=200, deadline=None)
@given(qty=st.integers(min_value=-10**6, max_value=10**6), micros=st.integers(min_value=0, max_value=10**10))
def test_python_and_sql_round_the_same_on_this_database(live, qty, micros):
    """The set-based SQL (re-pricing) and the Python rule (documents) agree on every input."""
    from sqlalchemy import Integer, Numeric, cast, literal, select

    from backend.extensions import db
    from backend.reconciliation.money import amount_cents_sql

    price = Decimal(micros) / 10**6
    with live.app.app_context():
        got = db.session.scalar(select(amount_cents_sql(cast(literal(qty), Integer),
                                                        cast(literal(str(price)), Numeric(18, 6)))))
        db.session.remove()
    assert int(got) == line_amount_cents(qty, price)


def test_bad_price_list_files_get_a_row_report_and_change_nothing(fin):
    supplier = make_supplier(fin)
    part = make_part(fin)
    path = f"{R}/suppliers/{supplier['id']}/price-lists"
    r = upload(fin, path, "p.csv", csv_bytes([["part", "maker", "cost"], [part["part_no"], "Murata", "1"]]),
               effective_date="2026-07-01")
    assert r.status_code == 422 and r.json()["error"]["code"] == "IMPORT_BAD_COLUMNS"
    assert set(r.json()["error"]["details"]["missing"]) == {"brand", "unit_price"}
    r = upload(fin, path, "p.xlsx", b"PK\x03\x04 this is no zip", effective_date="2026-07-01")
    assert r.status_code == 422 and r.json()["error"]["code"] == "IMPORT_UNREADABLE"
    r = upload(fin, path, "p.csv", b"", effective_date="2026-07-01")
    assert r.status_code == 422 and r.json()["error"]["code"] == "IMPORT_UNREADABLE"
    all_bad = csv_bytes([["part_no", "brand", "unit_price"], ["NOPE-1", "Murata", "1"],
                         [part["part_no"], "Murata", "-1"]])
    r = upload(fin, path, "p.csv", all_bad, effective_date="2026-07-01")
    assert r.status_code == 422 and r.json()["error"]["code"] == "IMPORT_NO_VALID_ROWS"
    assert r.json()["error"]["details"]["rejected"] == [
        {"row": 2, "column": "part_no", "code": "UNKNOWN_PART", "reason": "unknown part NOPE-1 / Murata"},
        {"row": 3, "column": "unit_price", "code": "NEGATIVE_PRICE", "reason": "negative price"}]
    assert fin.get(f"{R}/suppliers/{supplier['id']}/price-lists").json() == []
    mixed = csv_bytes([["part_no", "brand", "unit_price"], [part["part_no"], "Murata", "0.1234567"],
                       [part["part_no"], "Murata", "abc"], [part["part_no"], "Murata", "0.5"],
                       [part["part_no"], "Murata", "0.6"], ["", "", ""]])
    r = upload(fin, path, "p.csv", mixed, effective_date="2026-07-01")
    assert r.status_code == 201, r.text
    assert r.json()["report"] == {"rows": 4, "accepted": 1, "rejected": [
        {"row": 2, "column": "unit_price", "code": "TOO_MANY_DECIMALS", "reason": "more than 6 decimals"},
        {"row": 3, "column": "unit_price", "code": "NOT_A_NUMBER", "reason": "not a number"},
        {"row": 5, "column": "part_no", "code": "DUPLICATE_ROW",
         "reason": f"{part['part_no']} / Murata appears twice"}],
        "rejected_total": 3, "rejected_not_listed": 0}
    assert fin.get(f"{R}/suppliers/{supplier['id']}/prices/{part['id']}",
                   params={"as_of": "2026-07-01"}).json()["unit_price"] == "0.500000"
    r = upload(fin, path, "p.csv", csv_bytes([["part_no", "brand", "unit_price"], [part["part_no"], "Murata", "1"]]))
    assert r.status_code == 422  # no effective date


def test_bad_requests_are_refused_with_stable_codes(fin):
    supplier = make_supplier(fin)
    part = make_part(fin)
    r = fin.post(f"{R}/documents", json={"kind": "receipt", "counterparty_id": supplier["id"], "number": "X",
                                         "doc_date": "2026-07-01",
                                         "lines": [{"part_id": part["id"], "qty": -5, "unit_price": "1"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = fin.post(f"{R}/documents", json={"kind": "delivery", "counterparty_id": supplier["id"], "number": "X",
                                         "doc_date": "2026-07-01",
                                         "lines": [{"part_id": part["id"], "qty": 5, "unit_price": "1"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "WRONG_COUNTERPARTY_KIND"
    r = fin.post(f"{R}/documents", json={"kind": "receipt", "counterparty_id": supplier["id"], "number": "X",
                                         "doc_date": "2026-07-01",
                                         "lines": [{"part_no": "NOPE", "brand": "X", "qty": 5, "unit_price": "1"}]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "PART_NOT_FOUND"
    r = fin.post(f"{R}/documents", json={"kind": "receipt", "counterparty_id": supplier["id"], "number": "X",
                                         "doc_date": "2026-07-01",
                                         "lines": [{"part_id": part["id"], "qty": 5, "unit_price": 0.1234567}]})
    assert r.status_code == 422
    r = fin.post(f"{R}/counterparties", json={"kind": "supplier", "code": supplier["code"], "name": "dup",
                                              "billing_cycle": "monthly"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "DUPLICATE_NUMBER"
    r = fin.post(f"{R}/purchase-orders/999999/receipts", json={"policy": "po", "number": "N", "doc_date": "2026-07-01"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "PURCHASE_ORDER_NOT_FOUND"


@pytest.mark.parametrize("role", ["operator", "consumer", "anonymous"])
def test_only_finance_and_admins_may_reconcile(live, admin_token, role):
    from helpers import Client, admin, login

    client = {"operator": lambda: finance_client(live, "operator"), "consumer": lambda: login(live),
              "anonymous": lambda: Client(live)}[role]()
    r = client.get(f"{R}/counterparties")
    assert r.status_code == (401 if role == "anonymous" else 403), r.text
    r = client.post(f"{R}/statement-runs", json={"side": "payable", "cycle": "monthly", "month": "2026-01"})
    assert r.status_code in (401, 403)
    assert admin(live, admin_token).get(f"{R}/counterparties").status_code == 200


def test_a_po_line_named_twice_in_one_conversion_cannot_receive_more_than_is_open(fin):
    supplier = make_supplier(fin)
    part = make_part(fin)
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-05-01", [(part, 10, "1")])
    line_id = po["lines"][0]["id"]
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
        "policy": "po", "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-05-03",
        "lines": [{"po_line_id": line_id, "qty": 10}, {"po_line_id": line_id, "qty": 10}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "QTY_EXCEEDS_OPEN", r.text
    assert fin.get(f"{R}/purchase-orders/{po['id']}").json()["lines"][0]["received_qty"] == 0
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
        "policy": "po", "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-05-03",
        "lines": [{"po_line_id": line_id, "qty": 4}, {"po_line_id": line_id, "qty": 6}]})
    assert r.status_code == 201, r.text
    assert fin.get(f"{R}/purchase-orders/{po['id']}").json()["lines"][0]["received_qty"] == 10


def test_ids_beyond_32_bits_are_a_validation_error_not_a_500(fin):
    supplier = make_supplier(fin)
    part = make_part(fin)
    big = 10**10
    bodies = [
        ("documents", {"kind": "receipt", "counterparty_id": big, "number": "X", "doc_date": "2026-07-01",
                       "lines": [{"part_id": part["id"], "qty": 5, "unit_price": "1"}]}),
        ("documents", {"kind": "receipt", "counterparty_id": supplier["id"], "number": "X", "doc_date": "2026-07-01",
                       "lines": [{"part_id": big, "qty": 5, "unit_price": "1"}]}),
        ("purchase-orders", {"supplier_id": big, "number": "X", "order_date": "2026-07-01",
                             "lines": [{"part_id": part["id"], "qty": 5, "unit_price": "1"}]}),
        ("receipts/reprice", {"supplier_id": big, "date_from": "2026-07-01", "date_to": "2026-07-02"}),
    ]
    for path, body in bodies:
        r = fin.post(f"{R}/{path}", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", (path, r.text)
    for path, params in (("statements", {"counterparty_id": big}), ("reports/price-variance", {"part_id": big})):
        r = fin.get(f"{R}/{path}", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", (path, r.text)


def test_an_upload_is_read_no_further_than_the_row_limit(monkeypatch):
    from backend.errors import ApiError
    from backend.reconciliation import imports

    read = []

    def endless(data):
        yield ["part_no", "brand", "unit_price"]
        while True:
            read.append(1)
            yield ["P", "B", "1"]

    monkeypatch.setattr(imports, "_csv_rows", endless)
    monkeypatch.setattr(imports, "MAX_ROWS", 50)
    with pytest.raises(ApiError) as caught:
        imports.read_table("p.csv", b"x", ("part_no", "brand", "unit_price"))
    assert caught.value.code == "IMPORT_UNREADABLE" and len(read) <= 51


def test_supplier_text_that_looks_like_a_formula_stays_text_in_the_downloads(fin):
    """A supplier's name or document number starting with = (or +, -, @) is shown as
    text by a spreadsheet, never run: CSV cells get a leading ', XLSX cells are strings."""
    import csv

    from openpyxl import load_workbook

    name = '=HYPERLINK("http://evil.test","pay here")'
    supplier = make_supplier(fin, name=name)
    part = make_part(fin)
    assert price_list(fin, supplier["id"], "2026-06-01", [
        ["part_no", "brand", "unit_price"], [part["part_no"], "Murata", "0.02"]]).status_code == 201
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-06-02", [(part, 100, "0.01")])
    document = "@SUM(1+1)"
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
        "policy": "price_list", "number": document, "doc_date": "2026-06-03"})
    assert r.status_code == 201, r.text

    params = {"supplier_id": supplier["id"]}
    rows = list(csv.DictReader(io.StringIO(fin.get(f"{R}/reports/price-variance",
                                                   params={**params, "format": "csv"}).text.lstrip("\ufeff"))))
    assert [(row["supplier"], row["document"], row["price_diff"]) for row in rows] == \
        [("'" + name, "'" + document, "0.010000")]
    sheet = load_workbook(io.BytesIO(fin.get(f"{R}/reports/price-variance",
                                             params={**params, "format": "xlsx"}).content)).active
    supplier_cell, document_cell = sheet.cell(2, 2), sheet.cell(2, 3)
    assert (supplier_cell.value, supplier_cell.data_type) == (name, "s")
    assert (document_cell.value, document_cell.data_type) == (document, "s")

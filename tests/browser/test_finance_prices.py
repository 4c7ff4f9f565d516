"""The finance console's price pages, as a finance user walks them: a supplier's price
list with two bad rows is checked (exactly those rows refused, nothing saved) and
applied; a PO is converted after a mid-month price change, its differences reviewed and
those within tolerance accepted in one action; a line is returned; the price-variance
page filters and its XLSX export holds the rows the page shows. An operator is refused
the pages and the API. Each page is checked against what the API says."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
from helpers import finance_client

R = "/admin/reconciliation"


@pytest.fixture
def fin(live):
    return finance_client(live)


def _supplier(fin, **extra) -> dict:
    r = fin.post(f"{R}/counterparties", json={
        "kind": "supplier", "code": f"S{uuid.uuid4().hex[:8].upper()}", "name": "深圳华强元件有限公司",
        "billing_cycle": "monthly", "email": "ap@example.test", **extra})
    assert r.status_code == 201, r.text
    return r.json()


def _part(fin, brand: str = "Murata") -> dict:
    r = fin.post(f"{R}/parts", json={"part_no": f"GRM{uuid.uuid4().hex[:8].upper()}", "brand": brand,
                                     "package": "0402", "description": "MLCC 100nF"})
    assert r.status_code == 201, r.text
    return r.json()


def _csv(rows) -> bytes:
    return "\n".join(",".join(str(c) for c in row) for row in rows).encode()


def _prices(fin, supplier_id: int, day: str, rows) -> None:
    r = fin.post(f"{R}/suppliers/{supplier_id}/price-lists", files={"file": ("p.csv", _csv(rows))},
                 data={"effective_date": day})
    assert r.status_code == 201, r.text


def _pick_date(page, selector: str, text: str) -> None:
    """Type a day into an Element Plus date box, then close its panel by clicking the title."""
    box = page.locator(selector)
    box.fill(text)
    box.press("Enter")
    page.locator(".page-header h1").click()
    page.locator(".el-picker__popper:visible").first.wait_for(state="hidden")


def _rejected_rows(page) -> list[tuple[str, ...]]:
    cells = page.locator("[data-test=pl-rejected] .el-table__body tr")
    out = []
    for i in range(cells.count()):
        tds = cells.nth(i).locator("td")
        out.append(tuple(tds.nth(j).inner_text().strip() for j in range(4)))
    return out


def test_a_price_list_with_two_bad_rows_is_checked_then_applied(console, fin):
    supplier = _supplier(fin)
    good, other, third = _part(fin), _part(fin, brand="TI"), _part(fin, brand="ST")
    # the header is row 1; row 3 (a price in words) and row 5 (an unknown part) are the bad ones
    data = _csv([["型号", "品牌", "单价"], [good["part_no"], "Murata", "0.0123"], [other["part_no"], "TI", "一块钱"],
                 [third["part_no"], "ST", "2.5"], ["NO-SUCH-PART", "ST", "1"]])

    c = console("finance")
    c.open(f"/finance/price-lists?supplier_id={supplier['id']}")
    page = c.page
    _pick_date(page, "#pl-effective", "2026-06-15")
    page.set_input_files("#pl-file", files=[{"name": "报价单.csv", "mimeType": "text/csv", "buffer": data}])
    page.click("[data-test=pl-check]")
    page.locator("[data-test=pl-report][data-stage=checked]").wait_for()
    # the page names the columns and problems in Chinese, the API's words (quoting the value) beside
    assert _rejected_rows(page) == [("3", "单价", "不是数字", "not a number"),
                                    ("5", "型号", "未知物料", "unknown part NO-SUCH-PART / ST")]
    # the API agrees, and the check saved nothing
    preview = fin.post(f"{R}/suppliers/{supplier['id']}/price-lists/preview", files={"file": ("p.csv", data)},
                       data={"effective_date": "2026-06-15"}).json()
    assert [(r["row"], r["column"], r["code"]) for r in preview["report"]["rejected"]] == [
        (3, "unit_price", "NOT_A_NUMBER"), (5, "part_no", "UNKNOWN_PART")]
    assert fin.get(f"{R}/suppliers/{supplier['id']}/price-lists").json() == []
    c.shot("price-list-checked")

    page.click("[data-test=pl-apply]")
    page.locator("[data-test=pl-report][data-stage=applied]").wait_for()
    assert [row[:3] for row in _rejected_rows(page)] == [("3", "单价", "不是数字"), ("5", "型号", "未知物料")]
    page.locator("[data-test=pl-version-1]").wait_for()
    [version] = fin.get(f"{R}/suppliers/{supplier['id']}/price-lists").json()
    assert (version["version"], version["effective_date"], version["rows"]) == (1, "2026-06-15", 2)
    price = fin.get(f"{R}/suppliers/{supplier['id']}/prices/{good['id']}", params={"as_of": "2026-06-15"})
    assert price.json()["unit_price"] == "0.012300"
    refused = fin.get(f"{R}/suppliers/{supplier['id']}/prices/{other['id']}", params={"as_of": "2026-06-15"})
    assert refused.status_code == 404

    # the price history of one part across suppliers: a second supplier quotes it too
    second = _supplier(fin, name="广州电子")
    _prices(fin, second["id"], "2026-06-01", [["part_no", "brand", "unit_price"],
                                              [good["part_no"], "Murata", "0.0119"]])
    c.open(f"/finance/price-lists?supplier_id={supplier['id']}&part_id={good['id']}")
    page.locator("[data-test=history-chart] canvas").wait_for()
    table = page.locator("[data-test=history-table] .el-table__body")
    table.locator("tr", has_text="0.011900").wait_for()
    assert table.locator("tr").count() == 2 and "0.012300" in table.inner_text()
    history = fin.get(f"{R}/parts/{good['id']}/price-history").json()
    assert {s["supplier_id"] for s in history["series"]} == {supplier["id"], second["id"]}
    c.shot("price-lists")


def test_a_po_after_a_mid_month_price_change_is_reviewed_accepted_within_tolerance_and_saved(console, fin):
    supplier = _supplier(fin, price_tolerance="0.001")
    near, far = _part(fin), _part(fin, brand="TI")
    head = ["part_no", "brand", "unit_price"]
    _prices(fin, supplier["id"], "2026-06-01", [head, [near["part_no"], "Murata", "1.0"],
                                                [far["part_no"], "TI", "2.0"]])
    _prices(fin, supplier["id"], "2026-06-15", [head, [near["part_no"], "Murata", "1.0005"],
                                                [far["part_no"], "TI", "2.1"]])
    number = f"PO-{uuid.uuid4().hex[:8].upper()}"
    r = fin.post(f"{R}/purchase-orders", json={"supplier_id": supplier["id"], "number": number,
                                               "order_date": "2026-06-02",
                                               "lines": [{"part_id": near["id"], "qty": 1000, "unit_price": "1.0"},
                                                         {"part_id": far["id"], "qty": 100, "unit_price": "2.0"}]})
    assert r.status_code == 201, r.text
    po = r.json()
    near_line, far_line = (line["id"] for line in po["lines"])

    c = console("finance")
    c.open(f"/finance/purchase-orders?supplier_id={supplier['id']}")
    page = c.page
    page.locator(f"[data-test=po-status-{po['id']}]", has_text="未收货").wait_for()
    c.shot("purchase-orders")
    page.click(f"[data-test=po-link-{po['id']}]")
    page.locator("[data-test=po-lines]").wait_for()
    _pick_date(page, "#conv-date", "2026-06-20")
    box = page.locator(f"[data-test=want-{near_line}] input")
    box.fill("600")
    box.press("Tab")
    page.click("[data-test=conv-review]")
    page.locator("[data-test=conv-review-table]").wait_for()
    assert page.locator(f"[data-test=diff-{near_line}]").inner_text() == "0.000500"
    assert page.locator(f"[data-test=diff-{far_line}]").inner_text() == "0.100000"
    # nothing accepted yet: both would be booked at the PO price
    page.locator(f"[data-test=saved-price-{near_line}]", has_text="1.000000").wait_for()
    page.click("[data-test=conv-accept-within]")
    page.locator(f"[data-test=saved-price-{near_line}]", has_text="1.000500").wait_for()
    page.locator(f"[data-test=saved-price-{far_line}]", has_text="2.000000").wait_for()
    assert page.locator(f"[data-test=accept-{near_line}] input").is_checked()
    assert not page.locator(f"[data-test=accept-{far_line}] input").is_checked()
    page.locator("[data-test=conv-totals]", has_text="800.30").wait_for()
    # the review saved nothing
    assert fin.get(f"{R}/purchase-orders/{po['id']}").json()["lines"][0]["received_qty"] == 0
    c.shot("conversion-review")

    page.click("[data-test=conv-save]")
    page.locator(".el-message--success").first.wait_for()
    page.locator(f"[data-test=received-{near_line}]", has_text="600").wait_for()
    [receipt] = fin.get(f"{R}/documents", params={"po_id": po["id"]}).json()["items"]
    lines = {x["po_line_id"]: x for x in fin.get(f"{R}/documents/{receipt['id']}").json()["lines"]}
    assert (lines[near_line]["qty"], lines[near_line]["unit_price"], lines[near_line]["price_source"]) == (
        600, "1.000500", "price_list")
    assert (lines[far_line]["qty"], lines[far_line]["unit_price"], lines[far_line]["price_source"]) == (
        100, "2.000000", "po")
    assert receipt["amount"] == "800.30"
    po_now = fin.get(f"{R}/purchase-orders/{po['id']}").json()
    assert [line["received_qty"] for line in po_now["lines"]] == [600, 100]

    # a return of 10 of the first line, at the price it was received at
    page.click(f"[data-test=return-{receipt['number']}]")
    page.locator("[data-test=return-dialog]").wait_for()
    qty = page.locator(f"[data-test=ret-qty-{lines[near_line]['id']}] input")
    qty.fill("10")
    qty.press("Tab")
    c.shot("return")
    page.click("[data-test=ret-save]")
    page.locator("[data-test=po-returns]", has_text=f"RT-{receipt['number']}").wait_for()
    [back] = fin.get(f"{R}/documents", params={"kind": "return", "counterparty_id": supplier["id"]}).json()["items"]
    detail = fin.get(f"{R}/documents/{back['id']}").json()
    assert [(x["part_id"], x["qty"], x["unit_price"]) for x in detail["lines"]] == [(near["id"], -10, "1.000500")]
    c.shot("purchase-order")


def test_the_variance_page_filters_and_its_export_holds_the_rows_shown(console, fin):
    from openpyxl import load_workbook

    supplier = _supplier(fin)
    murata, ti = _part(fin), _part(fin, brand="TI")
    head = ["part_no", "brand", "unit_price"]
    _prices(fin, supplier["id"], "2026-07-10", [head, [murata["part_no"], "Murata", "0.55"],
                                                [ti["part_no"], "TI", "3.3"]])
    for n in range(2):
        r = fin.post(f"{R}/purchase-orders", json={
            "supplier_id": supplier["id"], "number": f"PO-{uuid.uuid4().hex[:8]}", "order_date": "2026-07-01",
            "lines": [{"part_id": murata["id"], "qty": 100, "unit_price": "0.5"},
                      {"part_id": ti["id"], "qty": 10 + n, "unit_price": "3.0"}]})
        assert r.status_code == 201, r.text
        r = fin.post(f"{R}/purchase-orders/{r.json()['id']}/receipts", json={
            "policy": "price_list", "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-07-12"})
        assert r.status_code == 201, r.text

    c = console("finance")
    c.open(f"/finance/price-variance?supplier_id={supplier['id']}")
    page = c.page
    rows = page.locator("[data-test=var-table] .el-table__body tr")
    page.locator("[data-test=var-table] .el-table__body", has_text="TI").first.wait_for()
    assert rows.count() == 4
    page.fill("[data-test=filter-brand]", "TI")
    page.click("[data-test=search]")
    page.wait_for_function("() => document.querySelectorAll('[data-test=var-table] .el-table__body tr').length === 2")
    api_page = fin.get(f"{R}/reports/price-variance", params={"supplier_id": supplier["id"], "brand": "TI"}).json()
    assert api_page["total"] == 2
    shown = {page.locator(f"[data-test=var-doc-{x['line_id']}]").inner_text():
             page.locator(f"[data-test=var-diff-{x['line_id']}]").inner_text() for x in api_page["items"]}
    assert shown == {x["document"]: x["diff_amount"] for x in api_page["items"]}
    assert set(shown.values()) == {"3.00", "3.30"}
    page.locator("[data-test=var-by-supplier]", has_text="6.30").wait_for()
    page.locator("[data-test=var-table] .el-loading-mask").wait_for(state="hidden")
    c.shot("price-variance")

    with page.expect_download() as info:
        page.click("[data-test=var-export]")
    download = info.value
    assert download.suggested_filename == "price-variance.xlsx"
    sheet = load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active
    header, *body = list(sheet.iter_rows(values_only=True))
    assert header[:3] == ("supplier_code", "supplier", "document")
    got = {row[header.index("document")]: f"{row[header.index('diff_amount')]:.2f}" for row in body}
    assert got == shown and {row[header.index("brand")] for row in body} == {"TI"}


def test_an_operator_cannot_open_the_finance_pages_nor_call_their_api(console):
    op = console("operator")
    assert not op.page.locator("[data-test^=menu-finance-]").count()
    for path in ("/finance/price-lists", "/finance/purchase-orders", "/finance/price-variance",
                 "/finance/counterparties", "/finance/parts"):
        op.open(path)
        op.page.wait_for_selector("[data-test=forbidden]")
    op.shot("finance-pages-forbidden")
    for path in ("/purchase-orders", "/reports/price-variance", "/counterparties", "/parts"):
        r = op.api.get(f"{R}{path}")
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN", path
    r = op.api.post(f"{R}/suppliers/1/price-lists/preview", files={"file": ("p.csv", b"part_no,brand,unit_price\n")},
                    data={"effective_date": "2026-06-01"})
    assert r.status_code == 403


def test_counterparties_and_parts_are_created_and_edited_on_their_pages(console, fin):
    c = console("finance")
    page = c.page
    code = f"S{uuid.uuid4().hex[:8].upper()}"
    c.open("/finance/counterparties")
    page.click("[data-test=cp-create]")
    page.locator("[data-test=cp-dialog]").wait_for()
    page.fill("#cp-code", code)
    page.fill("#cp-name", "苏州精密电子有限公司")
    page.locator("[data-test=cp-cycle] label", has_text="半月").click()
    page.fill("#cp-email", "ap@szjm.test, boss@szjm.test")
    page.fill("#cp-price-tolerance", "0.0005")
    c.shot("counterparty-dialog")
    page.click("[data-test=cp-save]")
    page.locator(".el-message--success").first.wait_for()
    [made] = fin.get(f"{R}/counterparties", params={"q": code}).json()["items"]
    assert (made["kind"], made["billing_cycle"], made["cutoff_day"], made["email"]) == (
        "supplier", "semi_monthly", 15, "ap@szjm.test, boss@szjm.test")
    assert made["price_tolerance"].startswith("0.0005")

    # search it, then make it weekly with the period ending on Fridays
    page.fill("[data-test=filter-q]", "精密电子")
    page.click("[data-test=search]")
    page.locator(f"[data-test=cp-cycle-{made['id']}]", has_text="半月").wait_for()
    page.click(f"[data-test=cp-edit-{made['id']}]")
    page.locator("[data-test=cp-cycle] label", has_text="按周").click()
    page.click("[data-test=cp-cutoff-weekday]")
    page.locator(".el-select-dropdown__item:visible", has_text="周五").click()
    page.click("[data-test=cp-save]")
    page.locator(f"[data-test=cp-cycle-{made['id']}]", has_text="每周五截止").wait_for()
    again = fin.get(f"{R}/counterparties/{made['id']}").json()
    assert (again["billing_cycle"], again["cutoff_day"]) == ("weekly", 5)
    page.locator("[data-test=cp-dialog]").wait_for(state="hidden")
    c.shot("counterparties")

    part_no = f"RC{uuid.uuid4().hex[:8].upper()}"
    c.open("/finance/parts")
    page.click("[data-test=part-create]")
    page.fill("#part-no", part_no)
    page.fill("#part-brand", "Yageo")
    page.fill("#part-package", "0603")
    page.click("[data-test=part-save]")
    page.locator(".el-message--success").first.wait_for()
    page.fill("[data-test=filter-q]", part_no)
    page.click("[data-test=search]")
    [part] = fin.get(f"{R}/parts", params={"q": part_no}).json()["items"]
    page.locator(f"[data-test=part-{part['id']}]", has_text=part_no).wait_for()
    assert (part["brand"], part["package"]) == ("Yageo", "0603")
    c.shot("parts")

"""The catalog pages of the console, through the real API: a CSV with one bad row imported
through the page (its report row named by row and column), 选型 for 0402 100nF X7R (the
facet counts beside the choices, the matching rows, their price breaks), groups proposed
and one approved in the page, a customer's refused brand set in their 替代料 tab and the
substitute they accepted remembered there. Photographed in zh-CN and English."""

from __future__ import annotations

import random
import time
import uuid

from helpers import drain, login
from playwright.sync_api import expect

HEAD = "mpn,manufacturer,package,value,voltage,tolerance,dielectric,stock,price breaks"


def _settled(c, name: str) -> None:
    """Photograph once the page's calls and animations (a drawer sliding in) are over."""
    c.page.wait_for_load_state("networkidle")
    c.page.wait_for_timeout(500)
    c.shot(name)


def _english(c) -> None:
    c.page.evaluate("() => localStorage.setItem('fission.console.locale', 'en')")
    c.page.reload()
    c.page.wait_for_load_state("networkidle")


def _catalog(p: str, value: str) -> bytes:
    rows = [
        f"{p}GRM155A,村田,0402,100nF,16V,±10%,X7R,10000,1-999:0.0123;1000-:0.0098",  # row 2
        f"{p}CL05B,SEMCO,0402,0.1uF,16V,10%,X7R,5000,1-:0.008",
        f"{p}FH0402,风华,0402,100nF,25V,±10%,X7R,0,1-:0.005",
        f"{p}X5R0402,村田,0402,100nF,16V,±10%,X5R,100,1-:0.004",
        f"{p}GRM188,村田,0603,100nF,16V,±10%,X7R,100,1-:0.006",
        f"{p}BAD,Murata,0403,1nF,50V,,,1,1-:0.01",  # row 7: an unknown package
        # a spec of this test's own, for the group it approves
        f"{p}G-FH,风华,0402,{value},16V,±10%,X7R,100,1-:0.008",
        f"{p}G-MU,村田,0402,{value},16V,10%,X7R,10000,1-999:0.007;1000-:0.0065",
    ]
    return "\n".join([HEAD, *rows]).encode()


def _product(ops, mpn: str) -> dict:
    [found] = [p for p in ops.get("/admin/products", params={"mpn": mpn}).json()["items"] if p["part_no"] == mpn]
    return found


def test_import_search_groups_and_a_customers_substitutes(console, live, ops, tmp_path):
    c = console("operator")
    page = c.page
    p = f"Q{uuid.uuid4().hex[:5].upper()}"
    value = f"{random.randrange(10_000, 99_999)}pF"

    # --- import through the page: progress, then the report with the refused row ---
    c.open("/catalog/imports")
    csv = tmp_path / "catalog.csv"
    csv.write_bytes(_catalog(p, value))
    page.locator("[data-test=catalog-upload] input[type=file]").set_input_files(str(csv))
    page.locator("[data-test=import-filename]", has_text="catalog.csv").wait_for()
    drain(live)  # the RQ job (no worker runs beside the test server)
    page.locator("[data-test=import-state]", has_text="已完成").wait_for(timeout=15000)
    figures = page.locator("[data-test=import-figures]").inner_text()
    assert "数据行\n8" in figures and "被拒行\n1" in figures and "新建\n7" in figures, figures
    [bad] = page.locator("[data-test=import-rejected] .el-table__body tr").all()
    cells = [x.strip() for x in bad.locator("td").all_inner_texts()]
    assert cells[:3] == ["7", "封装", "无法识别的封装"] and "unknown package" in cells[3], cells
    _settled(c, "catalog-import")
    assert "/catalog/imports?id=" in page.url  # a reload shows the same import
    import_path = page.url.split("/admin", 1)[1]
    # a file without the required columns fails whole, and says why in the operator's words
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"mpn,brand\nX1,Murata\n")
    page.locator("[data-test=catalog-upload] input[type=file]").set_input_files(str(broken))
    page.locator("[data-test=import-filename]", has_text="broken.csv").wait_for()
    drain(live)
    page.locator("[data-test=import-state]", has_text="失败").wait_for(timeout=15000)
    assert "文件缺少必需的列" in page.locator("[data-test=import-error]").inner_text()
    _settled(c, "catalog-import-failed")

    # --- 选型: 0402 100nF X7R among this test's parts ---
    c.open("/catalog")
    assert "选择任一条件后" in page.locator("[data-test=catalog-filters]").inner_text()  # no counts yet
    _settled(c, "catalog-search-start")
    page.locator("[data-test=category-mlcc]").click()
    page.locator("input[data-test=filter-capacitance]").fill("100 nano")  # not a value: said at the field
    page.locator("input[data-test=filter-capacitance]").press("Enter")
    page.locator("[data-test=catalog-filters] .el-form-item__error", has_text="无法识别，例：100nF").wait_for()
    assert page.locator(".el-message--error").count() == 0
    page.locator("input[data-test=filter-capacitance]").fill("")
    page.locator("[data-test=category-mlcc]").click()
    page.locator("input[data-test=filter-mpn]").fill(p)
    page.locator("input[data-test=filter-mpn]").press("Enter")
    page.locator("[data-test=category-mlcc]").click()
    page.locator("[data-test=package-0402]").click()
    page.locator("input[data-test=filter-capacitance]").fill("100nF")
    page.locator("input[data-test=filter-capacitance]").press("Enter")
    page.locator("[data-test=dielectric-X7R]").click()
    page.locator("[data-test=catalog-total]", has_text="共 3 个商品").wait_for()
    panel = page.locator("[data-test=catalog-filters]")
    # each choice says how many it matches with the other filters (a ticked one too)
    assert page.locator("[data-test=package-0402]").inner_text().strip() == "0402 (3)"
    assert page.locator("[data-test=package-0603]").inner_text().strip() == "0603 (1)"
    assert page.locator("[data-test=dielectric-X7R]").inner_text().strip() == "X7R (3)"
    assert page.locator("[data-test=dielectric-X5R]").inner_text().strip() == "X5R (1)"
    assert "Murata (1)" in panel.inner_text() and "Samsung (1)" in panel.inner_text()
    rows = page.locator("[data-test=catalog-table] .el-table__body tr")
    texts = rows.all_inner_texts()
    assert len(texts) == 3, texts
    assert not any("X5R" in t or "GRM188" in t for t in texts)
    murata = next(t for t in texts if f"{p}GRM155A" in t)
    for seen in ("Murata", "0402", "100nF 16V X7R ±10%", "10,000", "1+ ¥0.0123 / 1,000+ ¥0.0098", "量产"):
        assert seen in murata, (seen, murata)
    assert "?" in page.url and "dielectric=X7R" in page.url
    _settled(c, "catalog-search")
    # a row opens its part's substitutes: the parts of the same key parameters
    rows.filter(has_text=f"{p}GRM155A").click()
    drawer = page.locator("[data-test=part-drawer]")
    drawer.locator("[data-test=substitutes-table] .el-table__body tr", has_text=f"{p}CL05B").wait_for()
    assert "同参数，未关联" in drawer.inner_text()
    _settled(c, "catalog-part-drawer")
    # a hand-made one-way pair from the drawer: the 风华 part may replace this one, not the reverse
    drawer.locator("[data-test=drawer-add-pair]").click()
    dialog = page.locator("[data-test=pair-dialog]")
    dialog.wait_for()
    dialog.locator("[data-test=pair-substitute]").click()
    dialog.locator("[data-test=pair-substitute] input").fill(f"{p}FH")
    page.locator(".el-select-dropdown__item:visible", has_text=f"{p}FH0402").click()
    dialog.locator("[data-test=pair-one-way]").click()
    _settled(c, "catalog-pair-dialog")
    dialog.locator("[data-test=pair-submit]").click()
    dialog.wait_for(state="hidden")
    grm, fh = _product(ops, f"{p}GRM155A")["part_id"], _product(ops, f"{p}FH0402")["part_id"]
    drawer.locator(f"[data-test=link-{fh}]", has_text="手动添加").wait_for()
    pair = drawer.locator("[data-test=substitutes-table] .el-table__body tr",
                          has=page.locator(f"[data-test=link-{fh}]"))
    assert f"{p}FH0402" in pair.inner_text() and "Fenghua" in pair.inner_text()  # named, not just an id
    links = ops.get(f"/admin/parts/{grm}/substitutes").json()["items"]
    assert [(x["substitute_part_id"], x["allowed"], x["source"]) for x in links] == [(fh, True, "hand")]
    back = ops.get(f"/admin/parts/{fh}/substitutes").json()["items"]
    assert [(x["substitute_part_id"], x["allowed"]) for x in back] == [(grm, False)]  # one-way
    page.keyboard.press("Escape")

    # --- groups: propose now, approve this test's group in the page ---
    fenghua, murata_g = _product(ops, f"{p}G-FH"), _product(ops, f"{p}G-MU")
    c.open("/catalog/substitutes")
    page.click("[data-test=propose]")
    page.locator(".el-message--success").wait_for()
    proposed = _groups(ops, "proposed")
    [index] = [i for i, g in enumerate(proposed) if {m["part_id"] for m in g["members"]} == {
        fenghua["part_id"], murata_g["part_id"]}]
    group = proposed[index]
    # an older suite's groups come first in the queue: the operator narrows it to the part
    page.fill("[data-test=filter-q]", f"{p.lower()}g-")
    page.click("[data-test=group-filters] [data-test=search]")
    page.locator("[data-test=group-order]", has_text="共 1 组待审核").wait_for()
    assert f"q={p.lower()}g-" in page.url  # the filter is in the URL: a reload or a link keeps it
    card = page.locator(f"[data-test=group-{group['id']}]")
    card.wait_for()
    text = card.inner_text()
    assert "0402" in text and "16V X7R ±10%" in text and f"{p}G-FH" in text and "Fenghua" in text and "10,000" in text
    assert "2 个品牌 2 个料号" in text
    _settled(c, "substitute-groups")
    card.locator(f"[data-test=group-{group['id']}-approve]").click()
    dialog = page.locator("[data-test=reason-dialog]:visible")
    dialog.wait_for()
    assert "组内料号缺货时可互相替代" in dialog.inner_text()  # what approving does, said before it is done
    dialog.locator("[data-test=reason-input]").fill("规格书核对一致")
    _settled(c, "substitute-approve-dialog")
    dialog.locator("[data-test=reason-confirm]").click()
    dialog.wait_for(state="hidden")
    # the proposal's own success message may still be showing: wait for the approval itself
    deadline = time.monotonic() + 15
    while group["id"] not in {g["id"] for g in _groups(ops, "approved")} and time.monotonic() < deadline:
        time.sleep(0.2)
    [approved] = [g for g in _groups(ops, "approved") if g["id"] == group["id"]]
    assert (approved["decision_note"], approved["decided_by"]) == ("规格书核对一致", c.username)  # who clicked
    links = ops.get(f"/admin/parts/{fenghua['part_id']}/substitutes").json()["items"]
    assert [(x["substitute_part_id"], x["allowed"], x["source"]) for x in links] == [
        (murata_g["part_id"], True, "group")]
    page.locator("[data-test=group-tabs] .el-tabs__item", has_text="已通过").click()
    card.wait_for()
    decision = card.locator(f"[data-test=group-{group['id']}-decision]").inner_text()
    assert "规格书核对一致" in decision and approved["decided_by"] in decision, decision
    # made one-way from the group: Murata may replace 风华, 风华 may no longer replace Murata
    card.locator(f"[data-test=group-{group['id']}-one-way]").click()
    dialog = page.locator("[data-test=pair-dialog]")
    dialog.wait_for()
    assert dialog.locator("[data-test=pair-one-way] input").is_checked()
    for select, mpn in (("pair-original", f"{p}G-FH"), ("pair-substitute", f"{p}G-MU")):
        dialog.locator(f"[data-test={select}]").click()
        page.locator(".el-select-dropdown__item:visible", has_text=mpn).click()  # the group's parts, offered
        expect(page.locator(".el-select__popper:visible")).to_have_count(0)  # that list closed
    dialog.locator("[data-test=pair-submit]").click()
    dialog.wait_for(state="hidden")
    back = ops.get(f"/admin/parts/{murata_g['part_id']}/substitutes").json()["items"]
    assert [(x["substitute_part_id"], x["allowed"], x["source"]) for x in back] == [
        (fenghua["part_id"], False, "hand")]
    links = ops.get(f"/admin/parts/{fenghua['part_id']}/substitutes").json()["items"]
    assert [(x["substitute_part_id"], x["allowed"]) for x in links] == [(murata_g["part_id"], True)]

    # --- a customer: a refused brand set in their tab, a substitute they accepted ---
    customer = login(live)
    r = customer.post("/orders", json={"items": [
        {"product_id": murata_g["id"], "quantity": 1000, "substitute_for": fenghua["id"]}]})
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    c.open(f"/users/{customer.id}")
    page.locator("[data-test=user-tabs] .el-tabs__item", has_text="替代料").click()
    tab = page.locator("[data-test=substitutes-tab]")
    tab.locator("[data-test=memory-accepted] .el-table__body tr").first.wait_for()
    [memory] = tab.locator("[data-test=memory-accepted] .el-table__body tr").all_inner_texts()
    assert f"{p}G-FH · Fenghua" in memory and f"{p}G-MU · Murata" in memory, memory
    assert "客户本人" in memory and f"订单 #{order_id}" in memory, memory  # accepted by whom, in which order
    tab.locator("[data-test=brands-refused]").click()
    refused = tab.locator("[data-test=brands-refused] input")
    refused.fill("SEMCO")
    refused.press("Enter")
    page.keyboard.press("Escape")
    tab.locator("[data-test=brands-save]").click()
    page.locator(".el-message--success").last.wait_for()
    rules = ops.get(f"/admin/customers/{customer.id}/brand-rules").json()
    assert (rules["approved"], rules["refused"]) == ([], ["Samsung"])  # SEMCO is Samsung's alias
    tab.locator("[data-test=brands-refused]", has_text="Samsung").wait_for()  # the stored name shown
    _settled(c, "user-substitutes")

    # --- the same pages in English ---
    _english(c)
    tab = page.locator("[data-test=substitutes-tab]")
    page.locator("[data-test=user-tabs] .el-tabs__item", has_text="Substitutes").click()
    tab.locator("[data-test=memory-accepted]", has_text=f"order #{order_id}").wait_for()
    _settled(c, "user-substitutes-en")
    c.open(f"/catalog?mpn={p}&category=mlcc&package=0402&capacitance=100nF&dielectric=X7R")
    page.locator("[data-test=catalog-total]", has_text="3 products").wait_for()
    assert page.locator("[data-test=package-0402]").inner_text().strip() == "0402 (3)"
    _settled(c, "catalog-search-en")
    c.open("/catalog/substitutes?status=approved")
    page.locator("[data-test=groups] .el-card").first.wait_for()
    _settled(c, "substitute-groups-en")
    c.open(import_path)
    page.locator("[data-test=import-state]", has_text="Done").wait_for()
    first = page.locator("[data-test=import-rejected] .el-table__body tr").first
    assert [x.strip() for x in first.locator("td").all_inner_texts()][:2] == ["7", "Package"]
    _settled(c, "catalog-import-en")



def _groups(ops, status: str) -> list[dict]:
    out, n = [], 1
    while True:
        body = ops.get("/admin/substitute-groups", params={"status": status, "page": n, "per_page": 100}).json()
        out += body["items"]
        if n * 100 >= body["total"]:
            return out
        n += 1

"""代客下单 in the console: a customer calls for 1,000 of a 风华 part that has 100 in stock;
sales open the customer's 替代料 tab, check the stock, read this customer's offers (the
approved 村田 equivalent), accept it for them and place the order; the order page says
who placed it and that the line replaces the 风华 part, accepted by that operator."""

from __future__ import annotations

import random
import uuid

from helpers import drain, login, upload

HEAD = "mpn,manufacturer,package,value,voltage,tolerance,dielectric,stock,price breaks"


def _settled(c, name: str) -> None:
    c.page.wait_for_load_state("networkidle")
    c.page.wait_for_timeout(400)
    c.shot(name)


def test_sales_accept_a_substitute_for_a_customer_on_the_phone(console, live, ops):
    tag = uuid.uuid4().hex[:5].upper()
    value = f"{random.randrange(10_000, 99_999)}pF"
    data = "\n".join([HEAD, f"SP{tag}FH,风华,0402,{value},16V,±10%,X7R,100,1-:0.008",
                      f"SP{tag}MU,村田,0402,{value},16V,10%,X7R,10000,1-999:0.007;1000-:0.0065"]).encode()
    assert upload(ops, "/admin/catalog/imports", "c.csv", data).status_code == 202
    drain(live)
    products = {p["part_no"]: p for p in ops.get("/admin/products", params={"mpn": f"SP{tag}"}).json()["items"]}
    fenghua, murata = products[f"SP{tag}FH"], products[f"SP{tag}MU"]
    assert ops.post("/admin/substitute-groups/propose").status_code == 200
    [group] = ops.get("/admin/substitute-groups", params={"q": f"SP{tag}"}).json()["items"]
    assert ops.post(f"/admin/substitute-groups/{group['id']}/approve").status_code == 200
    customer = login(live)

    c = console("operator")
    page = c.page
    c.open(f"/users/{customer.id}")
    page.locator("[data-test=user-tabs] .el-tabs__item", has_text="替代料").click()
    page.click("[data-test=sales-order-open]")
    dialog = page.locator("[data-test=sales-order-dialog]")
    dialog.wait_for()
    dialog.locator("[data-test=sales-order-product] input").fill(f"SP{tag}FH")
    page.locator(".el-select-dropdown__item:visible", has_text=f"SP{tag}FH").click()
    quantity = dialog.locator("[data-test=sales-order-quantity] input")
    quantity.fill("1000")
    quantity.press("Tab")
    dialog.locator("[data-test=sales-order-check]").click()
    dialog.locator("[data-test=sales-order-stock]", has_text="库存 100，不够 1,000").wait_for()
    offer = dialog.locator("[data-test=sales-order-offers] .el-table__body tr").first
    text = offer.inner_text()
    assert f"SP{tag}MU" in text and "Murata" in text and "已批准替代" in text and "¥0.0065" in text, text
    assert dialog.locator(f"[data-test=offer-{murata['id']}] input").is_checked()  # the first offer, chosen
    _settled(c, "sales-order-offers")
    dialog.locator("[data-test=sales-order-place]", has_text="为客户接受替代料并下单").click()
    dialog.locator("[data-test=sales-order-placed]").wait_for()

    [order] = ops.get("/admin/orders", params={"buyer_id": customer.id}).json()["items"]
    detail = ops.get(f"/admin/orders/{order['id']}").json()["order"]
    assert (detail["placed_by"], detail["total_fen"]) == (c.username, 650)
    assert detail["items"][0]["substitute_for"]["product_id"] == fenghua["id"]
    assert customer.get(f"/orders/{order['id']}").json()["placed_by_sales"] is True  # the customer pays it
    # the tab's memory now says sales accepted it, in this order
    memory = page.locator("[data-test=memory-accepted] .el-table__body tr").first
    memory.wait_for()
    assert f"销售 {c.username} 代为接受" in memory.inner_text() and f"订单 #{order['id']}" in memory.inner_text()

    dialog.locator("[data-test=sales-order-link]").click()
    page.locator("[data-test=order-placed-by]", has_text=f"销售 {c.username} 代客下单").wait_for()
    line = page.locator(f"[data-test=line-{murata['id']}-substitute]").inner_text()
    assert f"替代 SP{tag}FH" in line and f"销售 {c.username}" in line, line
    assert "¥0.0065" in page.locator("[data-test=items-table]").inner_text()  # the exact unit price, not ¥0.01
    _settled(c, "sales-order-detail")

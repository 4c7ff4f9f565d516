"""Products: an operator creates a product and edits it from the list; the API has it."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect


def field(name: str) -> str:
    """An el-input's native input (Element Plus puts the attributes on it) by data-test."""
    return f"input[data-test={name}], [data-test={name}] input"


def test_create_and_edit_a_product(console):
    c = console("operator")
    c.open("/products")
    page = c.page
    title = f"Capacitor {uuid.uuid4().hex[:6]}"

    page.click("[data-test=product-create]")
    dialog = page.locator(".el-dialog:visible")
    dialog.locator(field("product-title")).wait_for()
    # the focus is on the first field
    expect(page.locator("[data-test=product-title]")).to_be_focused(timeout=3000)
    dialog.locator("[data-test=product-submit]").click()  # empty: refused by the form, nothing sent
    dialog.get_by_text("请填写商品名称").wait_for()
    dialog.locator(field("product-title")).fill(title)
    dialog.locator(field("product-brand")).fill("Murata")
    dialog.locator(field("product-part-no")).fill("GRM155R71C104KA88D")
    dialog.locator(field("product-price")).fill("12.50")
    dialog.locator(field("product-stock")).fill("40")
    dialog.locator(field("product-level1")).fill("12")
    c.shot("product-create")
    dialog.locator("[data-test=product-submit]").click()
    page.locator(".el-message--success").wait_for()

    [product] = c.api.get("/admin/products", params={"q": title}).json()["items"]
    assert (product["price_fen"], product["stock"]) == (1250, 40)
    assert (product["level1_bp"], product["level2_bp"]) == (1200, None)
    row = page.locator("[data-test=products-table] tbody tr", has_text=title)
    assert "¥12.50" in row.inner_text()

    # edit: the dialog opens filled in with what is stored; change the price and the level-2 rate
    page.click(f"[data-test=product-{product['id']}-edit]")
    dialog = page.locator(".el-dialog:visible")
    assert dialog.locator(field("product-price")).input_value() == "12.50"
    assert dialog.locator(field("product-level1")).input_value() == "12"
    dialog.locator(field("product-price")).fill("9.90")
    dialog.locator(field("product-level2")).fill("5.5")
    dialog.locator(field("product-level2")).press("Enter")  # Enter submits
    page.locator(f"[data-test=product-{product['id']}-price]", has_text="¥9.90").wait_for()
    c.shot("products")

    stored = c.api.get(f"/admin/products/{product['id']}").json()
    assert (stored["price_fen"], stored["level1_bp"], stored["level2_bp"], stored["title"]) == (990, 1200, 550, title)

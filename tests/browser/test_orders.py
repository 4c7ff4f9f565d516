"""Orders: an operator finds a paid order, opens it, sees the chain and its commission,
previews what a partial refund claws back from each distributor, refunds, and the
distributors' wallets go down by exactly that."""

from __future__ import annotations

from helpers import buy, chain, create_product, drain
from playwright.sync_api import expect


def test_refund_from_the_order_page_with_the_clawback_preview(console, live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=10_000)
    order = buy(live, c, product["id"])
    drain(live)
    assert b.get("/me/wallet").json()["available_fen"] == 1_000
    assert a.get("/me/wallet").json()["available_fen"] == 500

    op = console("operator")
    op.open(f"/orders?buyer_id={c.id}")
    row = op.page.locator("[data-test=orders-table] tbody tr").first
    assert "¥100.00" in row.inner_text() and "已支付" in row.inner_text()
    op.shot("orders")
    row.locator("td").first.click()
    page = op.page
    page.wait_for_url(f"**/admin/orders/{order['id']}")
    page.locator("[data-test=commissions-table] tbody tr").nth(1).wait_for()
    assert b.user["nickname"] in page.inner_text("[data-test=chain-level1]")
    assert a.user["nickname"] in page.inner_text("[data-test=chain-level2]")

    page.click("[data-test=refund]")
    dialog = page.locator(".el-dialog:visible")
    dialog.locator("[data-test=refund-partial]").click()
    dialog.locator("[data-test=refund-amount]").fill("40")
    dialog.locator("[data-test=refund-preview-button]").click()  # a reason is required first
    dialog.get_by_text("请填写原因").wait_for()
    dialog.locator("[data-test=refund-reason]").fill("two parts damaged")
    dialog.locator("[data-test=refund-preview-button]").click()
    preview = dialog.locator("[data-test=refund-preview]")
    preview.wait_for()
    text = preview.inner_text()
    # 40% of the order: b loses ¥4 of ¥10, a ¥2 of ¥5
    assert "¥10.00" in text and "¥6.00" in text and "¥5.00" in text and "¥3.00" in text, text
    op.shot("order-refund-preview")
    dialog.locator("[data-test=refund-confirm]").click()
    page.locator(".el-message--success").wait_for()
    page.locator("[data-test=order-status]", has_text="部分退款").wait_for()
    page.locator("[data-test=refunds-table] tbody tr").first.wait_for()
    assert "¥40.00" in page.inner_text("[data-test=order-refunded]")
    op.shot("order-detail")

    assert b.get("/me/wallet").json()["available_fen"] == 600
    assert a.get("/me/wallet").json()["available_fen"] == 300
    detail = op.api.get(f"/admin/orders/{order['id']}").json()
    assert detail["order"]["refunded_fen"] == 4_000
    assert detail["order"]["status"] == "partially_refunded"


def test_finance_reads_an_order_but_does_not_refund_it(console, live, ops):
    a, b, c = chain(live)
    product = create_product(ops, price_fen=5_000)
    order = buy(live, c, product["id"])
    drain(live)
    fin = console("finance")
    fin.open(f"/orders/{order['id']}")
    page = fin.page
    page.locator("[data-test=order-status]", has_text="已支付").wait_for()
    page.locator("[data-test=commissions-table] tbody tr").nth(1).wait_for()
    assert b.user["nickname"] in page.inner_text("[data-test=chain-level1]")
    assert page.locator("[data-test=refund]").count() == 0  # refunds are the operators'
    assert page.locator("[data-test=chain] a").count() == 0  # user pages are not finance's either
    fin.shot("order-detail")
    r = fin.api.post(f"/admin/orders/{order['id']}/refund", json={"reason": "not mine to do"})
    assert r.status_code == 403


def test_a_full_refund_from_the_keyboard_alone(console, live, ops):
    """The refund form without a mouse: the button opens it, the focus is on the reason,
    Enter shows the clawback, Tab reaches the confirm button and Enter refunds. Both
    distributors' commission is taken back whole."""
    a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=8_000)["id"])
    drain(live)
    assert (b.get("/me/wallet").json()["available_fen"], a.get("/me/wallet").json()["available_fen"]) == (800, 400)

    op = console("operator")
    op.open(f"/orders/{order['id']}")
    page = op.page
    page.locator("[data-test=commissions-table] tbody tr").nth(1).wait_for()
    page.focus("[data-test=refund]")
    page.keyboard.press("Enter")
    dialog = page.locator(".el-dialog:visible")
    expect(dialog.locator("[data-test=refund-reason]")).to_be_focused(timeout=3000)
    page.keyboard.type("wrong part shipped")
    page.keyboard.press("Enter")  # Enter previews (the refund itself needs its own button)
    preview = dialog.locator("[data-test=refund-preview]")
    preview.wait_for()
    text = preview.inner_text()
    assert "¥8.00" in text and "¥4.00" in text, text
    assert op.api.get(f"/admin/orders/{order['id']}").json()["order"]["refunded_fen"] == 0  # nothing yet
    for _ in range(30):  # Tab through the dialog to its confirm button
        if page.evaluate("() => document.activeElement?.closest('[data-test=refund-confirm]') !== null"):
            break
        page.keyboard.press("Tab")
    else:
        raise AssertionError("Tab never reached the confirm button")
    op.shot("order-refund-full-preview")
    page.keyboard.press("Enter")
    page.locator("[data-test=order-status]", has_text="已退款").wait_for()
    op.shot("order-refunded")

    assert (b.get("/me/wallet").json()["available_fen"], a.get("/me/wallet").json()["available_fen"]) == (0, 0)
    detail = op.api.get(f"/admin/orders/{order['id']}").json()
    assert (detail["order"]["status"], detail["order"]["refunded_fen"]) == ("refunded", 8_000)

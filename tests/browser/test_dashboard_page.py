"""The dashboard after a real paid order: its figures are the API's, to the fen."""

from __future__ import annotations

from helpers import buy, chain, create_product, drain


def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def test_the_dashboard_shows_the_apis_figures_after_a_paid_order(console, live, ops):
    product = create_product(ops, price_fen=12_345)
    _, _, buyer = chain(live)
    buy(live, buyer, product["id"])
    drain(live)

    c = console("operator")
    c.open("/")
    c.page.wait_for_selector("[data-test=dash-chart] canvas")
    api = c.api.get("/admin/dashboard").json()
    assert api["today"]["paid_orders"] >= 1 and api["today"]["gmv_fen"] >= 12_345
    for period, key in (("today", "today"), ("30d", "last_30_days")):
        figures = api[key]
        assert c.page.locator(f"[data-test=dash-{period}-gmv_fen]").inner_text() == yuan(figures["gmv_fen"])
        assert c.page.locator(f"[data-test=dash-{period}-paid_orders]").inner_text() == str(figures["paid_orders"])
        assert c.page.locator(f"[data-test=dash-{period}-commission_credited_fen]").inner_text() == \
            yuan(figures["commission_credited_fen"])
        new = c.page.locator(f"[data-test=dash-{period}-new_distributors]").inner_text()
        assert new == str(figures["new_distributors"])
    for k in ("pending", "in_transit", "failed"):
        assert c.page.locator(f"[data-test=dash-payouts-{k}-count]").inner_text() == str(api["payouts"][k])
    top = api["top_distributors"]
    assert top, "the order's distributors earned commission"
    assert c.page.locator("[data-test=dash-top] .el-table__body tr").count() == len(top)
    c.shot("dashboard")


def test_finance_opens_the_dashboard_too(console, live):
    c = console("finance")
    c.open("/")
    c.page.wait_for_selector("[data-test=dash-today-gmv_fen]")
    api = c.api.get("/admin/dashboard").json()
    assert c.page.locator("[data-test=dash-today-paid_orders]").inner_text() == str(api["today"]["paid_orders"])
    c.shot("dashboard")

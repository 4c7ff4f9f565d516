"""Growth pages: group invites (a live code and a group with its QR registered through the
page, then closed), the funnel (its chart drawn, its totals the API's, its CSV downloaded),
campaigns (created with prizes and closed) and the leaderboards (a board and its rebuild)."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import requests
from helpers import buy, chain, create_product, drain, live_code, login, personal_group, tiny_png

from backend.timeutil import SHOP_TZ


def _pick(page, select: str, option: str) -> None:
    page.click(select, force=True)
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def _confirm(page) -> None:
    page.locator(".el-message-box__btns .el-button--primary").click()


def test_an_operator_creates_a_live_code_and_a_group_then_closes_it(console, ops):
    c = console("operator")
    c.open("/groups")
    code_name, group_name = f"code-{uuid.uuid4().hex[:6]}", f"group-{uuid.uuid4().hex[:6]}"

    c.page.click("[data-test=code-new]")
    c.page.fill("#lc-name", code_name)
    c.page.fill("#lc-text", "加群领售后服务")
    c.page.locator("#lc-name").press("Enter")  # the dialog's form submits from the keyboard
    c.page.wait_for_selector(".el-message--success")
    code = next(x for x in c.api.get("/admin/community/live-codes").json() if x["name"] == code_name)
    assert code["text"] == "加群领售后服务" and code["active"] is True

    c.page.click("[data-test=group-new]")
    _pick(c.page, "#group-code", code_name)
    c.page.fill("#group-name", group_name)
    c.page.fill("#group-capacity", "150")
    c.page.locator("[data-test=group-qr-upload] input[type=file]").set_input_files(
        {"name": "qr.png", "mimeType": "image/png", "buffer": base64.b64decode(tiny_png())})
    c.page.wait_for_selector("[data-test=group-qr-preview]")
    c.page.click("[data-test=group-submit]")
    c.page.wait_for_selector(".el-message--success")
    row = c.page.locator("[data-test=groups-table] .el-table__body tr", has_text=group_name)
    row.wait_for()
    group = next(g for g in c.api.get("/admin/community/groups").json()["items"] if g["name"] == group_name)
    assert group["live_code_id"] == code["id"] and group["capacity"] == 150 and group["kind"] == "personal"
    assert group["qr_image_path"] and group["offerable"] is True
    assert "0/150" in row.inner_text()
    # the uploaded QR is shown from the API's image URL
    row.locator("img").wait_for()
    # the thumbnail is fetched after the row is drawn: wait until the browser has decoded it
    c.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=row.locator("img").element_handle(),
                             timeout=15_000)
    c.shot("groups")

    row.locator("[data-test=group-toggle]").click()
    _confirm(c.page)
    c.page.wait_for_selector(".el-message--success >> nth=-1")
    row.locator("[data-test=group-status]", has_text="已关闭").wait_for()
    group = next(g for g in c.api.get("/admin/community/groups").json()["items"] if g["name"] == group_name)
    assert group["status"] == "closed" and group["offerable"] is False

    c.page.click("#tab-codes")
    c.page.locator("[data-test=codes-table]", has_text=code_name).wait_for()
    c.shot("live-codes")


def test_the_funnel_draws_its_chart_and_downloads_its_csv(console, live, ops):
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"])
    ops.post("/admin/community/groups", json={"live_code_id": code["id"], "kind": "personal",
                                               "name": f"g-{uuid.uuid4().hex[:6]}", "qr_image": tiny_png()})
    _, b, buyer = chain(live)
    buy(live, buyer, product["id"])
    drain(live)

    c = console("operator")
    c.open("/funnel")
    c.page.wait_for_selector("[data-test=funnel-chart-steps] canvas")
    c.page.wait_for_selector("[data-test=funnel-chart-rows] canvas")
    first, last = c.page.url.split("from=")[1].split("&")[0], c.page.url.split("to=")[1].split("&")[0]
    to = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    api = c.api.get("/admin/community/funnel", params={"from": first, "to": to, "by": "day"}).json()
    assert api["totals"]["paid_orders"] >= 1
    shown = c.page.locator("[data-test=funnel-total-paid_orders]").inner_text()
    assert shown == str(api["totals"]["paid_orders"])
    assert c.page.locator("[data-test=funnel-total-shown]").inner_text() == str(api["totals"]["shown"])
    c.shot("funnel")

    # by product: the product of the order is a row
    c.page.click("[data-test=funnel-by-product]")
    c.page.locator("[data-test=funnel-table]", has_text=f"#{product['id']}").wait_for()

    with c.page.expect_download() as info:
        c.page.click("[data-test=funnel-csv]")
    download = info.value
    assert download.suggested_filename.startswith("group-funnel-product-")
    body = Path(download.path()).read_bytes()
    expected = c.api.get("/admin/community/funnel.csv", params={"from": first, "to": to, "by": "product"}).content
    assert body == expected and str(product["id"]).encode() in body


def test_the_leaderboard_shows_the_board_and_rebuilds_it(console, live, ops):
    product = create_product(ops, price_fen=54_321)
    _, b, buyer = chain(live)
    buy(live, buyer, product["id"])
    drain(live)
    board = requests.get(live.api("/leaderboards/commission"), params={"period": "week", "limit": 100},
                         timeout=10).json()
    mine = next(i for i in board["items"] if i["user"]["id"] == b.id)

    c = console("operator")
    c.open("/leaderboards")
    c.page.wait_for_selector("[data-test=lb-score]")
    rows = c.page.locator("[data-test=lb-table] .el-table__body tr")
    row = next(rows.nth(i) for i in range(rows.count()) if rows.nth(i).locator("td").nth(1).inner_text() == str(b.id))
    assert row.locator("[data-test=lb-rank]").inner_text() == str(mine["rank"])
    assert row.locator("[data-test=lb-score]").inner_text() == f"¥{mine['score'] // 100:,}.{mine['score'] % 100:02d}"
    assert c.page.locator("[data-test=lb-period-key]").inner_text().endswith(board["period_key"])

    c.page.click("[data-test=lb-check]")
    c.page.wait_for_selector("[data-test=lb-drift-ok], [data-test=lb-drift-bad]")
    c.page.click("[data-test=lb-rebuild]")
    _confirm(c.page)
    c.page.wait_for_selector("[data-test=lb-rebuild-progress]")
    drain(live)  # the worker runs the rebuild; the page polls its progress
    c.page.locator("[data-test=lb-rebuild-progress]", has_text="已完成").wait_for(timeout=15_000)
    c.page.click("[data-test=lb-check]")
    c.page.wait_for_selector("[data-test=lb-drift-ok]")
    assert c.api.get("/admin/leaderboards/drift", params={"metric": "commission", "period": "week"}).json()["ok"]
    c.shot("leaderboards")


def test_analytics_draws_its_charts_with_the_api_figures(console, live, ops):
    product = create_product(ops)
    _, b, buyer = chain(live)
    buy(live, buyer, product["id"])
    drain(live)

    c = console("operator")
    # It opens on the 30 closed days up to yesterday (T+1); this order was paid today.
    c.open("/analytics")
    today = datetime.now(SHOP_TZ).date()
    c.page.wait_for_url(re.compile(r"to=\d{4}-\d{2}-\d{2}"))  # the page writes its range into the address
    assert f"to={today - timedelta(days=1)}" in c.page.url and f"from={today - timedelta(days=30)}" in c.page.url
    c.open(f"/analytics?from={today - timedelta(days=29)}&to={today}")
    for chart in ("spread", "daily", "depth", "mix"):
        c.page.wait_for_selector(f"[data-test=an-chart-{chart}] canvas")
    first = c.page.url.split("from=")[1].split("&")[0]
    last = c.page.url.split("to=")[1].split("&")[0]
    to = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    totals = c.api.get("/admin/analytics/fission", params={"from": first, "to": to}).json()["totals"]
    assert c.page.locator("[data-test=an-participants]").inner_text() == str(totals["participants"])
    assert c.page.locator("[data-test=an-new_customers]").inner_text() == str(totals["new_customers"])
    depth = c.api.get("/admin/analytics/depth").json()
    assert c.page.locator("[data-test=an-depth_total]").inner_text() == str(depth["total"])
    c.shot("analytics")

    # one tree: the figures follow the root
    root = c.api.get(f"/admin/users/{b.id}/tree").json()
    root_id = (root.get("ancestors") or [{"id": b.id}])[-1]["id"]  # nearest first: the last is the root
    c.page.fill("#an-root", str(root_id))
    c.page.click("[data-test=an-search]")
    tree = c.api.get("/admin/analytics/depth", params={"root_id": root_id}).json()
    c.page.locator("[data-test=an-depth_total]", has_text=str(tree["total"])).wait_for()


def _type_time(page, selector: str, ms_from_now: int) -> None:
    """Type a time into an Element Plus datetime box, as the browser's clock reads it."""
    text = page.evaluate("""ms => { const d = new Date(Date.now() + ms), p = n => String(n).padStart(2, '0');
        return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} `
             + `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`; }""", ms_from_now)
    box = page.locator(selector)
    box.fill(text)
    box.press("Enter")
    # Enter may leave the picker's own panel open (its date and time boxes are Element
    # Plus's, not the page's); close it as a person would, by clicking the dialog's title
    # (Escape would close the dialog when the panel is already shut).
    # The panel opens on focus, after a transition, so it may only show after the first
    # click: go on closing until none has been open for a moment (CI's loaded machine
    # opened it late, and it stayed open over the page after the dialog had closed).
    panels, quiet = page.locator(".el-picker__popper:visible"), 0
    for _ in range(40):
        if panels.count():
            quiet = 0
            page.locator(".el-dialog__title:visible").first.click()
        else:
            quiet += 1
            if quiet == 3:
                return
        page.wait_for_timeout(150)
    raise AssertionError("the date picker's panel would not close")


def test_an_operator_creates_a_campaign_and_closes_it(console, live, ops):
    product = create_product(ops, price_fen=20_000)
    _, b, buyer = chain(live)
    buy(live, buyer, product["id"])
    drain(live)

    c = console("operator")
    c.open("/campaigns")
    name = f"双十二冲榜 {uuid.uuid4().hex[:4]}"
    c.page.click("[data-test=campaign-new]")
    c.page.fill("#campaign-name", name)
    _type_time(c.page, "#campaign-start", -3_600_000)
    _type_time(c.page, "#campaign-end", -1_000)  # ended a moment ago: it can be closed now
    c.page.fill("#tier-0-to", "3")
    c.page.press("#tier-0-to", "Tab")
    c.page.fill("#tier-0-amount", "8.88")
    c.page.click("[data-test=campaign-submit]")
    c.page.wait_for_selector(".el-message--success")
    row = c.page.locator("[data-test=campaigns-table] .el-table__body tr", has_text=name)
    row.wait_for()
    campaign = next(x for x in c.api.get("/admin/campaigns").json()["items"] if x["name"] == name)
    assert campaign["prizes"] == [{"from_rank": 1, "to_rank": 3, "amount_fen": 888}]
    assert campaign["metric"] == "commission" and campaign["status"] == "open"
    assert row.locator("[data-test=campaign-status]").inner_text() == "已结束待结算"
    c.shot("campaigns")

    row.locator("[data-test=campaign-close]").click()
    _confirm(c.page)
    c.page.wait_for_selector("[data-test=campaign-paid]")
    detail = c.api.get(f"/admin/campaigns/{campaign['id']}").json()
    assert detail["status"] == "closed" and detail["paid_fen"] == sum(a["amount_fen"] for a in detail["awards"])
    assert any(a["user"]["id"] == b.id for a in detail["awards"])  # the order's distributor won a prize
    paid = detail["paid_fen"]
    assert c.page.locator("[data-test=campaign-paid]").inner_text() == f"¥{paid // 100:,}.{paid % 100:02d}"
    assert c.page.locator("[data-test=campaign-awards] .el-table__body tr").count() == len(detail["awards"])
    c.shot("campaign-closed")
    row.locator("[data-test=campaign-status]", has_text="已结算").wait_for()


def test_a_live_code_running_dry_and_a_full_group_are_shown_on_top(console, live, ops):
    """A code with two groups, one of a single seat: once a buyer joined it and another was
    shown the other group, the code is down to its low-water mark. The page opens on the
    alert (the code, how many groups are left) and on the full group, as the API has them."""
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"], low_water=1)
    one_seat = personal_group(ops, code["id"], capacity=1)
    roomy = personal_group(ops, code["id"], capacity=50)
    first, second = login(live), login(live)
    order1 = buy(live, first, product["id"])
    assert first.get(f"/orders/{order1['id']}/group-invite").json()["group"]["id"] == one_seat["id"]
    assert ops.post(f"/admin/community/orders/{order1['id']}/join", json={}).json()["recorded"] is True
    order2 = buy(live, second, product["id"])
    assert second.get(f"/orders/{order2['id']}/group-invite").json()["group"]["id"] == roomy["id"]
    [alert] = [a for a in ops.get("/admin/community/alerts", params={"open": "true"}).json()["items"]
               if a["live_code_id"] == code["id"]]
    assert alert["usable_groups"] == 1

    c = console("operator")
    c.open("/groups")
    mine = c.page.locator("[data-test=groups-alert]", has_text=code["name"])
    mine.wait_for()
    assert "只剩 1 个" in mine.inner_text()
    attention = c.page.locator("[data-test=groups-attention]")
    assert f"{one_seat['name']}（1/1" in attention.inner_text()
    assert one_seat["id"] in [g["id"] for g in c.api.get("/admin/community/groups/attention").json()["items"]]
    c.shot("groups-alerts")

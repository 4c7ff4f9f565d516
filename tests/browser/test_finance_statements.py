"""Finance pages, part B, walked as a finance user would: run the monthly and the weekly
batches and watch the progress reach 100% (running again adds nothing, and says so); open a
statement, dispute a line, regenerate, confirm; import the supplier's own statement with
planted differences and see exactly those, resolve one; send a run to a local SMTP server
with one failing recipient, then "send what failed"; the aging page shows the API's
figures. An operator can open none of it."""

from __future__ import annotations

import random
import re
import uuid
import zipfile
from datetime import date
from pathlib import Path

from helpers import drain, upload
from test_reconciliation_pricing import R, csv_bytes, make_part, make_supplier
from test_reconciliation_send import smtp  # noqa: F401 - the local SMTP server fixture
from test_reconciliation_statements import deliveries, receipt, statements_of


def year_of_our_own() -> int:
    """Runs are global per side, cycle and month: each test takes a year no other test uses."""
    return random.randint(3000, 8999)


def customer(fin, cycle: str, cutoff: int, email: str = "ar@example.test", name: str = "杭州智造科技") -> dict:
    r = fin.post(f"{R}/counterparties", json={"kind": "customer", "code": f"C{uuid.uuid4().hex[:8].upper()}",
                                              "name": name, "billing_cycle": cycle, "cutoff_day": cutoff,
                                              "email": email})
    assert r.status_code == 201, r.text
    return r.json()


def pick(page, select: str, option: str) -> None:
    page.click(f"[data-test={select}]")
    page.locator(".el-select-dropdown__item:visible").filter(has_text=re.compile(f"^{re.escape(option)}$")).click()


def start_run(c, side: str, cycle: str, month: str) -> int:
    """Start a batch from the runs page; returns the run the page went to."""
    c.open("/finance/statement-runs")
    page = c.page
    pick(page, "run-side", {"receivable": "应收（客户）", "payable": "应付（供应商）"}[side])
    pick(page, "run-cycle", {"weekly": "周结", "semi_monthly": "半月结", "monthly": "月结"}[cycle])
    page.fill("#run-month", month)
    page.keyboard.press("Enter")
    page.click("[data-test=start-run]")
    page.wait_for_url("**/finance/statement-runs/*")
    return int(page.url.split("/statement-runs/")[1].split("?")[0])


def watch_to_100(c, live, run_id: int) -> dict:
    """The job runs (a real RQ worker); the page, polling, shows 100%."""
    drain(live)
    c.page.locator("[data-test=run-progress][data-percent='100']").wait_for(timeout=15_000)
    c.page.locator("[data-test=run-state]", has_text="已生成").wait_for()
    run = c.api.get(f"{R}/statement-runs/{run_id}").json()
    assert run["state"] == "generated" and run["progress_done"] == run["progress_total"] > 0
    assert c.page.locator("[data-test=run-statements]").inner_text() == str(run["statements"])
    return run


def test_monthly_and_weekly_batches_reach_100_percent_and_a_rerun_adds_nothing(console, live):
    c = console("finance")
    y = year_of_our_own()
    part = make_part(c.api)
    monthly = customer(c.api, "monthly", 0, name="月结客户")
    weekly = customer(c.api, "weekly", 2, name="周结客户")  # Tuesdays: no other test bills on them
    deliveries(c.api, monthly, part, [date(y, 5, 3), date(y, 5, 31)])
    tuesdays = [date(y, 5, d) for d in range(1, 32) if date(y, 5, d).isoweekday() == 2]
    deliveries(c.api, weekly, part, tuesdays)

    run_id = start_run(c, "receivable", "monthly", f"{y}-05")
    run = watch_to_100(c, live, run_id)
    c.shot("statement-run-monthly")
    [made] = statements_of(c.api, monthly)
    c.page.locator(f"[data-test=statement-link-{made['id']}]").wait_for()
    totals = c.api.get(f"{R}/statement-runs/{run_id}/totals").json()["currencies"]
    assert c.page.locator("[data-test=run-totals]").inner_text().count("CNY") == len(totals)

    # running it again: nothing new, and the page says so
    with c.page.expect_response(lambda r: r.url.endswith("/statement-runs") and r.request.method == "POST"):
        c.page.click("[data-test=start-run]")
    again = watch_to_100(c, live, run_id)
    c.page.locator("[data-test=nothing-new]").wait_for()
    assert (again["statements"], again["lines"]) == (run["statements"], run["lines"])
    assert statements_of(c.api, monthly) == [made]

    weekly_run = start_run(c, "receivable", "weekly", f"{y}-05")
    assert weekly_run != run_id
    watch_to_100(c, live, weekly_run)
    mine = statements_of(c.api, weekly)
    assert [s["period_end"] for s in mine] == [d.isoformat() for d in tuesdays]
    c.shot("statement-run-weekly")
    c.open("/finance/statement-runs?cycle=weekly")
    c.page.locator(f"[data-test=run-link-{weekly_run}]").wait_for()
    c.shot("statement-runs")


def test_dispute_a_line_regenerate_and_confirm(console, live):
    c = console("finance")
    y = year_of_our_own()
    part = make_part(c.api)
    cp = customer(c.api, "monthly", 0, name="争议客户")
    deliveries(c.api, cp, part, [date(y, 7, 2), date(y, 7, 9)], qty=100, price="2.5")
    r = c.api.post(f"{R}/statement-runs", json={"side": "receivable", "cycle": "monthly", "month": f"{y}-07"})
    assert r.status_code == 202
    drain(live)
    [statement] = statements_of(c.api, cp)
    lines = c.api.get(f"{R}/statements/{statement['id']}/lines").json()["items"]
    page = c.page
    c.open(f"/finance/statements/{statement['id']}")
    page.locator("[data-test=statement-state]", has_text="草稿").wait_for()
    assert page.locator("[data-test=action-confirm]").is_disabled()
    assert page.locator("[data-test=action-dispute]").is_disabled()

    page.click("[data-test=action-send]")
    page.locator(".el-message-box .el-button--primary").click()
    page.locator("[data-test=statement-state]", has_text="已发送").wait_for()
    assert page.locator("[data-test=action-send]").is_disabled()
    line = lines[1]["document_line_id"]
    page.click(f"[data-test=mark-{line}]")
    page.click("[data-test=action-dispute]")
    page.fill(f"input[data-test=dispute-note-{line}]", "数量应为 99")
    c.shot("statement-dispute")
    page.click("[data-test=dispute-confirm]")
    page.locator("[data-test=statement-state]", has_text="有争议").wait_for()
    assert c.api.get(f"{R}/statements/{statement['id']}").json()["state"] == "disputed"
    events = c.api.get(f"{R}/statements/{statement['id']}/events").json()["items"]
    assert [(e["document_line_id"], e["note"]) for e in events if e["action"] == "note"] == [(line, "数量应为 99")]

    # reopen, a late delivery arrives, regenerate: version 2 adds it; send and confirm
    page.click("[data-test=action-reopen]")
    page.fill("input[data-test=reason-input]", "客户补单后重出")
    page.click("[data-test=reason-confirm]")
    page.locator("[data-test=statement-state]", has_text="草稿").wait_for()
    deliveries(c.api, cp, part, [date(y, 7, 20)], qty=7, price="2.5")
    page.click("[data-test=action-regenerate]")
    page.locator("[data-test=statement-version]", has_text="2").wait_for()
    page.locator("[data-test=diff-summary]", has_text="新增 1 行").wait_for()
    c.shot("statement-versions")
    page.click("[data-test=action-send]")
    page.locator(".el-message-box .el-button--primary").click()
    page.locator("[data-test=statement-state]", has_text="已发送").wait_for()
    page.click("[data-test=action-confirm]")
    page.locator(".el-message-box .el-button--primary").click()
    page.locator("[data-test=statement-state]", has_text="已确认").wait_for()
    after = c.api.get(f"{R}/statements/{statement['id']}").json()
    assert (after["state"], after["version"]) == ("confirmed", 2)
    assert after["totals"][0]["lines"] == 3
    assert page.locator("[data-test=action-settle]").is_enabled()
    assert page.locator("[data-test=action-void]").is_disabled()
    page.click("#tab-events")
    page.locator("[data-test=events-table]", has_text="数量应为 99").wait_for()
    c.shot("statement-confirmed")
    with page.expect_download() as got:
        page.click("[data-test=export-csv]")
    text = Path(got.value.path()).read_text(encoding="utf-8-sig")
    assert statement["number"] in text and text.count("DN-") == 3


def test_the_suppliers_statement_shows_exactly_the_planted_differences(console, live):
    c = console("finance")
    y = year_of_our_own()
    supplier = make_supplier(c.api, price_tolerance="0.001")
    parts = [make_part(c.api) for _ in range(4)]
    docs = [receipt(c.api, supplier, p, date(y, 3, 5 + i), 100, "1.25") for i, p in enumerate(parts)]
    r = c.api.post(f"{R}/statement-runs", json={"side": "payable", "cycle": "monthly", "month": f"{y}-03"})
    assert r.status_code == 202
    drain(live)
    [statement] = statements_of(c.api, supplier)
    theirs = [["number", "part_no", "qty", "unit_price"],
              [docs[0]["number"], parts[0]["part_no"], 100, "1.25"],      # matches
              [docs[1]["number"], parts[1]["part_no"], 90, "1.25"],       # quantity
              [docs[2]["number"], parts[2]["part_no"], 100, "1.2505"],    # within tolerance: no difference
              ["GR-THEIRS-ONLY", parts[0]["part_no"], 5, "1.25"]]         # only theirs; docs[3]: only ours
    c.open(f"/finance/statements/{statement['id']}")
    page = c.page
    page.click("#tab-supplier")
    page.locator("[data-test=supplier-upload] input[type=file]").set_input_files(
        {"name": "theirs.csv", "mimeType": "text/csv", "buffer": csv_bytes(theirs)})
    page.locator("[data-test=diff-matched]", has_text="2").wait_for()
    api = upload(c.api, f"{R}/statements/{statement['id']}/supplier-statement", "theirs.csv", csv_bytes(theirs)).json()
    assert [x["number"] for x in api["only_theirs"]] == ["GR-THEIRS-ONLY"]
    assert [x["number"] for x in api["only_ours"]] == [docs[3]["number"]]
    assert [(x["ours"], x["theirs"]) for x in api["qty_mismatches"]] == [(100, 90)]
    assert api["price_mismatches"] == []
    for kind, n in (("only_theirs", 1), ("only_ours", 1), ("qty", 1), ("price", 0)):
        section = page.locator(f"[data-test=diff-{kind}]")
        assert section.locator(".el-table__body tr").count() == n, kind
    page.locator("[data-test=diff-only_theirs]", has_text="GR-THEIRS-ONLY").wait_for()
    page.locator("[data-test=diff-only_ours]", has_text=docs[3]["number"]).wait_for()
    assert page.locator("[data-test=diff-open]").inner_text() == "3"
    c.shot("supplier-statement-diff")

    ref = str(api["qty_mismatches"][0]["document_line_id"])
    page.click(f"[data-test=resolve-qty-{ref}]")
    page.fill("input[data-test=reason-input]", "10 件退货单另开")
    page.click("[data-test=reason-confirm]")
    page.locator(f"[data-test=resolved-qty-{ref}]", has_text="10 件退货单另开").wait_for()
    assert page.locator("[data-test=diff-open]").inner_text() == "2"
    listed = c.api.get(f"{R}/statements/{statement['id']}/resolutions").json()["items"]
    assert [(x["kind"], x["ref"], x["note"]) for x in listed] == [("qty", ref, "10 件退货单另开")]


def test_send_a_run_with_one_failing_recipient_then_send_what_failed(console, live, smtp):  # noqa: F811
    c = console("finance")
    y = year_of_our_own()
    tag = uuid.uuid4().hex[:6]
    part = make_part(c.api)
    good, bad = f"good-{tag}@x.test", f"bad-{tag}@x.test"
    cps = [customer(c.api, "weekly", 3, email=good, name="好客户"),
           customer(c.api, "weekly", 3, email=bad, name="坏邮箱客户")]
    wednesday = next(date(y, 9, d) for d in range(1, 8) if date(y, 9, d).isoweekday() == 3)
    for cp in cps:
        deliveries(c.api, cp, part, [wednesday])
    r = c.api.post(f"{R}/statement-runs", json={"side": "receivable", "cycle": "weekly", "month": f"{y}-09"})
    run_id = r.json()["id"]
    drain(live)
    smtp.refuse.add(bad)

    c.open(f"/finance/statement-runs/{run_id}")
    page = c.page
    with page.expect_response(lambda r: r.url.endswith("/send") and r.request.method == "POST"):
        page.click("[data-test=send-run]")
    drain(live)
    page.locator(f"[data-test='delivery-{bad}']", has_text="失败").wait_for(timeout=15_000)
    page.locator(f"[data-test='delivery-{good}']", has_text="已发送").wait_for()
    page.locator("[data-test=run-state]", has_text="部分发送失败").wait_for()
    page.locator("[data-test=deliveries-table]", has_text="550").wait_for()  # the reason, from the server
    log = {d["recipient"]: d for d in c.api.get(f"{R}/statement-runs/{run_id}/deliveries").json()}
    assert (log[bad]["state"], log[good]["state"]) == ("failed", "sent")
    assert c.api.get(f"{R}/statement-runs/{run_id}").json()["state"] == "send_failed"
    page.click("[data-test=log-failed]")
    assert page.locator("[data-test=deliveries-table] .el-table__body tr").count() == 1
    page.locator(f"[data-test='delivery-{bad}']").wait_for()
    c.shot("statement-run-send-failed")
    page.click("[data-test=log-all]")

    smtp.refuse.clear()
    sent_before = len(smtp.messages)
    with page.expect_response(lambda r: r.url.endswith("/send") and r.request.method == "POST"):
        page.click("[data-test=send-failed]")
    drain(live)
    page.locator("[data-test=run-state]", has_text="已完成").wait_for(timeout=15_000)
    page.locator(f"[data-test='delivery-{bad}']", has_text="已重发").wait_for()
    assert [m["X-Envelope-To"] for m in smtp.messages[sent_before:]] == [bad]
    log = {d["recipient"]: d for d in c.api.get(f"{R}/statement-runs/{run_id}/deliveries").json()}
    assert (log[bad]["state"], log[bad]["attempts"], log[good]["attempts"]) == ("sent", 2, 1)
    assert c.api.get(f"{R}/statement-runs/{run_id}").json()["state"] == "done"
    assert page.locator("[data-test=send-failed]").is_disabled()
    c.shot("statement-run-done")

    # the whole run as PDF: one file per statement, named for its counterparty, in one zip
    with page.expect_download() as got:
        page.click("[data-test=run-export-pdf]")
    with zipfile.ZipFile(got.value.path()) as archive:
        names = archive.namelist()
        assert sorted(n.split("_")[0] for n in names) == sorted(cp["code"] for cp in cps)
        assert all(n.endswith(".pdf") and archive.read(n).startswith(b"%PDF") for n in names)


def test_the_aging_page_shows_what_the_api_returns(console, live):
    c = console("finance")
    y = year_of_our_own()
    part = make_part(c.api)
    cp = customer(c.api, "monthly", 0, name="账龄客户")
    deliveries(c.api, cp, part, [date(y, 1, 10)], qty=900_000, price="999.99")  # large: first on the page
    deliveries(c.api, cp, part, [date(y, 3, 10)], qty=900_000, price="999.99")
    for month in (f"{y}-01", f"{y}-03"):
        c.api.post(f"{R}/statement-runs", json={"side": "receivable", "cycle": "monthly", "month": month})
        drain(live)
    for s in statements_of(c.api, cp):
        assert c.api.post(f"{R}/statements/{s['id']}/transitions", json={"action": "send"}).status_code == 200
    as_of = date(y, 4, 15)
    api = c.api.get(f"{R}/aging", params={"side": "receivable", "as_of": as_of.isoformat()}).json()
    [mine] = [i for i in api["items"] if i["counterparty"]["id"] == cp["id"]]
    # March (ends Mar 31) is 15 days old, January (ends Jan 31) 74
    assert mine["b0_30"] > 0 and mine["b31_60"] == 0 and mine["b61_90"] > 0 and mine["b90_plus"] == 0

    c.open(f"/finance/aging?side=receivable&as_of={as_of.isoformat()}")
    page = c.page
    page.locator("[data-test=aging-chart] canvas").wait_for()

    def shown(cents: int) -> str:
        return f"¥{cents // 100:,}.{cents % 100:02d}"

    for key in ("b0_30", "b31_60", "b61_90", "b90_plus", "total"):
        assert page.locator(f"[data-test=aging-{cp['code']}-{key}]").inner_text() == shown(mine[key]), key
    [cny] = [x for x in api["totals"] if x["currency"] == "CNY"]
    assert page.locator("[data-test=aging-total-CNY-total]").inner_text() == shown(cny["total"])
    c.shot("aging-receivable")
    page.click("[data-test=aging-side-payable]")
    page.wait_for_url("**side=payable**")
    page.locator("h1", has_text="应付账龄").wait_for()
    c.shot("aging-payable")


def test_an_operator_cannot_open_the_finance_pages(console, live):
    op = console("operator")
    for path in ("/finance/statement-runs", "/finance/statement-runs/1", "/finance/statements/1", "/finance/aging"):
        op.open(path)
        op.page.wait_for_url("**/forbidden**")
    assert op.page.locator("[data-test=menu-statement-runs]").count() == 0
    assert op.page.locator("[data-test=menu-aging]").count() == 0
    op.shot("finance-forbidden")
    for path in ("/statement-runs", "/statement-runs/1", "/statements/1", "/aging?side=receivable"):
        assert op.api.get(f"{R}{path}").status_code == 403, path

"""The finance console's own endpoints: the statement runs list and a run's totals and
zip, resolved differences of a counterparty's statement, and the aging report, whose
figures equal a hand computation over statements settled across a month end in
Asia/Shanghai."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import UTC, date, datetime

import pytest
from helpers import drain, finance_client, upload
from openpyxl import load_workbook
from test_reconciliation_pricing import R, csv_bytes, make_part, make_supplier
from test_reconciliation_statements import deliveries, make_customer, receipt, run, statements_of

from backend.extensions import db
from backend.reconciliation.money import line_amount_cents


@pytest.fixture
def fin(live):
    return finance_client(live)


def year_of_our_own() -> int:
    """Runs are global per side, cycle and month: the test takes a year no other test uses."""
    return random.randint(3000, 8999)


def issue(fin, statement: dict, *actions: str) -> dict:
    for action in actions:
        r = fin.post(f"{R}/statements/{statement['id']}/transitions", json={"action": action})
        assert r.status_code == 200, r.text
    return r.json()


def settle_at(live, statement: dict, moment: datetime) -> None:
    """The statement's settlement happened at ``moment`` (the test cannot wait for it)."""
    from backend.reconciliation.models import StatementEvent

    with live.app.app_context():
        db.session.query(StatementEvent).filter_by(statement_id=statement["id"], action="settle") \
            .update({"created_at": moment})
        db.session.commit()
        db.session.remove()


def cents(days: list[date], qty: int, price: str) -> int:
    from decimal import Decimal

    return sum(line_amount_cents(qty + i, Decimal(price)) for i in range(len(days)))


def aging_of(fin, side: str, cp: dict, as_of: date) -> dict:
    r = fin.get(f"{R}/aging", params={"side": side, "as_of": as_of.isoformat(), "counterparty_id": cp["id"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["basis"] == "period_end" and body["as_of"] == as_of.isoformat()
    return {i["currency"]: {k: i[k] for k in ("b0_30", "b31_60", "b61_90", "b90_plus", "total", "statements")}
            for i in body["items"]}


def test_aging_equals_a_hand_computation_across_shanghai_month_ends(fin, live):
    y = year_of_our_own()
    part = make_part(fin)
    a, b = make_customer(fin, "monthly"), make_customer(fin, "monthly")
    days = {"oct": [date(y, 10, 5), date(y, 10, 31)], "nov": [date(y, 11, 30)], "dec": [date(y, 12, 1)],
            "jan": [date(y + 1, 1, 31)]}
    for key in ("oct", "nov", "dec", "jan"):
        deliveries(fin, a, part, days[key], qty=1000, price="0.01782")
    deliveries(fin, b, part, days["dec"], qty=500, price="1.2345")
    deliveries(fin, b, part, days["jan"], qty=700, price="1.2345")
    for month in (f"{y}-10", f"{y}-11", f"{y}-12", f"{y + 1}-01"):
        run(fin, live, "receivable", "monthly", month)
    a_oct, a_nov, a_dec, a_jan = statements_of(fin, a)
    b_dec, b_jan = statements_of(fin, b)
    assert [s["period_end"] for s in (a_oct, a_nov, a_dec, a_jan)] == [
        f"{y}-10-31", f"{y}-11-30", f"{y}-12-31", f"{y + 1}-01-31"]
    for s in (a_oct, a_dec, a_jan):
        issue(fin, s, "send")
    issue(fin, a_nov, "send", "confirm", "settle")
    issue(fin, b_dec, "send", "confirm", "settle")  # b_jan stays a draft: not issued, not owed yet
    settle_at(live, a_nov, datetime(y + 1, 1, 31, 15, 30, tzinfo=UTC))  # 23:30 on Jan 31 in Shanghai
    settle_at(live, b_dec, datetime(y + 1, 1, 31, 16, 30, tzinfo=UTC))  # 00:30 on Feb 1 in Shanghai

    # by hand, as of Jan 31: Oct 31 is 92 days old, Dec 31 is 31, Jan 31 is 0; a's November
    # was settled that evening (Shanghai), b's December only after midnight
    oct_, dec_, jan_ = (cents(days[k], 1000, "0.01782") for k in ("oct", "dec", "jan"))
    b_dec_cents = cents(days["dec"], 500, "1.2345")
    assert aging_of(fin, "receivable", a, date(y + 1, 1, 31)) == {"CNY": {
        "b0_30": jan_, "b31_60": dec_, "b61_90": 0, "b90_plus": oct_, "total": oct_ + dec_ + jan_, "statements": 3}}
    assert aging_of(fin, "receivable", b, date(y + 1, 1, 31)) == {"CNY": {
        "b0_30": 0, "b31_60": b_dec_cents, "b61_90": 0, "b90_plus": 0, "total": b_dec_cents, "statements": 1}}
    assert aging_of(fin, "receivable", b, date(y + 1, 2, 1)) == {}
    # as of Jan 30 a's November was open (61 days: 61-90), October 91 days old (90+), December
    # 30 (0-30), and January's period had not ended; as of Jan 29, 90 days is still 61-90
    nov_ = cents(days["nov"], 1000, "0.01782")
    assert aging_of(fin, "receivable", a, date(y + 1, 1, 30)) == {"CNY": {
        "b0_30": dec_, "b31_60": 0, "b61_90": nov_, "b90_plus": oct_, "total": oct_ + nov_ + dec_,
        "statements": 3}}
    assert aging_of(fin, "receivable", a, date(y + 1, 1, 29)) == {"CNY": {
        "b0_30": dec_, "b31_60": nov_, "b61_90": oct_, "b90_plus": 0, "total": oct_ + nov_ + dec_,
        "statements": 3}}
    assert aging_of(fin, "payable", a, date(y + 1, 1, 31)) == {}

    r = fin.get(f"{R}/aging", params={"side": "receivable", "as_of": f"{y + 1}-01-31", "counterparty_id": a["id"],
                                      "format": "xlsx"})
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert rows == [[a["code"], a["name"], "CNY", jan_ / 100, dec_ / 100, 0, oct_ / 100,
                     (oct_ + dec_ + jan_) / 100, 3]]


def test_payables_aging_and_its_checks(fin, live):
    y = year_of_our_own()
    supplier = make_supplier(fin)
    receipt(fin, supplier, make_part(fin), date(y, 3, 10), 10, "2.50")
    run(fin, live, "payable", "monthly", f"{y}-03")
    [statement] = statements_of(fin, supplier)
    issue(fin, statement, "send")
    assert aging_of(fin, "payable", supplier, date(y, 5, 1)) == {"CNY": {
        "b0_30": 0, "b31_60": 2500, "b61_90": 0, "b90_plus": 0, "total": 2500, "statements": 1}}
    assert fin.get(f"{R}/aging", params={"side": "both"}).status_code == 422
    assert fin.get(f"{R}/aging", params={"side": "payable", "per_page": 101}).status_code == 422
    assert fin.get(f"{R}/aging", params={"side": "payable", "as_of": "2026-13-01"}).status_code == 422


def test_runs_list_totals_and_a_whole_run_as_a_zip(fin, live):
    y = year_of_our_own()
    part = make_part(fin)
    suppliers = [make_supplier(fin, billing_cycle="semi_monthly", cutoff_day=15) for _ in range(2)]
    for i, s in enumerate(suppliers):
        receipt(fin, s, part, date(y, 6, 3), 100 + i, "0.5")
    made = run(fin, live, "payable", "semi_monthly", f"{y}-06")
    listed = fin.get(f"{R}/statement-runs", params={"side": "payable", "cycle": "semi_monthly",
                                                    "month": f"{y}-06"}).json()
    assert [r["id"] for r in listed["items"]] == [made["id"]] and listed["total"] == 1
    assert listed["items"][0]["statements"] == made["statements"] >= 2
    assert fin.get(f"{R}/statement-runs", params={"state": "nonsense"}).status_code == 422
    assert fin.get(f"{R}/statement-runs", params={"per_page": 101}).status_code == 422

    totals = fin.get(f"{R}/statement-runs/{made['id']}/totals").json()
    ours = sum(s["totals"][0]["amount_cents"] for s in fin.get(
        f"{R}/statements", params={"run_id": made["id"], "per_page": 100}).json()["items"])
    assert totals["currencies"] == [{"currency": "CNY", "statements": made["statements"], "lines": made["lines"],
                                     "amount_cents": ours}]
    assert [[t["amount_cents"] for t in statements_of(fin, s)[0]["totals"]] for s in suppliers] == [[5000], [5050]]
    assert totals["states"] == [{"state": "draft", "statements": made["statements"]}]

    r = fin.get(f"{R}/statement-runs/{made['id']}/export", params={"format": "csv"})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert len(names) == made["statements"]
    assert all(any(n.startswith(s["code"]) for n in names) for s in suppliers)
    assert fin.get(f"{R}/statement-runs/999999/export").status_code == 404


def test_a_difference_is_resolved_with_a_note_audited_and_in_the_events(fin, live, admin_token):
    y = year_of_our_own()
    supplier = make_supplier(fin, billing_cycle="monthly", cutoff_day=0)
    part = make_part(fin)
    doc = receipt(fin, supplier, part, date(y, 2, 3), 10, "1.00")
    run(fin, live, "payable", "monthly", f"{y}-02")
    [statement] = statements_of(fin, supplier)
    theirs = csv_bytes([["number", "part_no", "qty", "unit_price"], [doc["number"], part["part_no"], 11, "1.00"]])
    diff = upload(fin, f"{R}/statements/{statement['id']}/supplier-statement", "theirs.csv", theirs).json()
    [mismatch] = diff["qty_mismatches"]
    ref = str(mismatch["document_line_id"])
    r = fin.post(f"{R}/statements/{statement['id']}/resolutions", json={"kind": "qty", "ref": ref,
                                                                       "note": "一件是样品 (a free sample)"})
    assert r.status_code == 201, r.text
    again = fin.post(f"{R}/statements/{statement['id']}/resolutions", json={"kind": "qty", "ref": ref,
                                                                           "note": "sample, agreed by phone"})
    assert again.json()["id"] == r.json()["id"]
    listed = fin.get(f"{R}/statements/{statement['id']}/resolutions").json()
    assert [(i["kind"], i["ref"], i["note"]) for i in listed["items"]] == [("qty", ref, "sample, agreed by phone")]
    events = fin.get(f"{R}/statements/{statement['id']}/events").json()["items"]
    assert [e["action"] for e in events].count("resolve") == 2
    assert fin.post(f"{R}/statements/{statement['id']}/resolutions",
                    json={"kind": "other", "ref": ref, "note": "x"}).status_code == 422
    assert fin.post(f"{R}/statements/{statement['id']}/resolutions",
                    json={"kind": "qty", "ref": ref, "note": ""}).status_code == 422
    from helpers import admin as admin_client

    audit = admin_client(live, admin_token).get("/admin/audit", params={"per_page": 100}).json()["items"]
    mine = [e for e in audit if e["path"] == f"/api/v1{R}/statements/{statement['id']}/resolutions"]
    assert len(mine) >= 2
    assert {(e["target_type"], e["target_id"]) for e in mine} == {("statement", str(statement["id"]))}


def test_an_operator_is_refused_every_console_endpoint(live):
    op = finance_client(live, "operator")
    for path in ("/statement-runs", "/statement-runs/1/totals", "/statement-runs/1/export",
                 "/statements/1/resolutions", "/aging?side=receivable"):
        assert op.get(f"{R}{path}").status_code == 403, path
    assert op.post(f"{R}/statements/1/resolutions", json={"kind": "qty", "ref": "1", "note": "x"}).status_code == 403
    drain(live)


def events_at(live, statement: dict, *moments: tuple[str, datetime]) -> None:
    """The statement's events happened at these moments: each (action, moment) names the
    next event of that action, in the order they were written."""
    from backend.reconciliation.models import StatementEvent

    with live.app.app_context():
        taken: dict[str, int] = {}
        for action, moment in moments:
            rows = db.session.query(StatementEvent).filter_by(statement_id=statement["id"], action=action) \
                .order_by(StatementEvent.id).all()
            rows[taken.get(action, 0)].created_at = moment
            taken[action] = taken.get(action, 0) + 1
        db.session.commit()
        db.session.remove()


def shanghai(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    from backend.timeutil import SHOP_TZ

    return datetime(y, m, d, hh, mm, tzinfo=SHOP_TZ).astimezone(UTC)


def test_aging_as_of_a_past_day_reads_the_history_not_todays_state(fin, live):
    """Sent after D: not open on D. Voided after D: still open on D. Reopened (a draft
    again) on D: not open. The amounts are the version current at the end of D."""
    y = year_of_our_own()
    part = make_part(fin)
    c = make_customer(fin, "monthly")
    days = {"oct": [date(y, 10, 20)], "nov": [date(y, 11, 3)], "dec": [date(y, 12, 1)], "late": [date(y, 12, 15)]}
    for key, qty in (("oct", 100), ("nov", 200), ("dec", 300)):
        deliveries(fin, c, part, days[key], qty=qty, price="1.5")
    for month in (f"{y}-10", f"{y}-11", f"{y}-12"):
        run(fin, live, "receivable", "monthly", month)
    s_oct, s_nov, s_dec = statements_of(fin, c)
    oct_, nov_, dec1 = (cents(days[k], q, "1.5") for k, q in (("oct", 100), ("nov", 200), ("dec", 300)))

    issue(fin, s_oct, "send", "void")  # sent on Nov 5, voided on Dec 10
    events_at(live, s_oct, ("send", shanghai(y, 11, 5)), ("void", shanghai(y, 12, 10)))
    issue(fin, s_nov, "send")  # 00:30 on Jan 1 in Shanghai (16:30 UTC on Dec 31)
    events_at(live, s_nov, ("send", datetime(y, 12, 31, 16, 30, tzinfo=UTC)))
    # December: version 1 sent Jan 2, disputed Jan 5, reopened Jan 6 23:59; a late line; version 2
    # regenerated and sent Jan 8
    issue(fin, s_dec, "send")
    lines = fin.get(f"{R}/statements/{s_dec['id']}/lines", params={"per_page": 10}).json()["items"]
    r = fin.post(f"{R}/statements/{s_dec['id']}/transitions", json={
        "action": "dispute", "notes": [{"document_line_id": lines[0]["document_line_id"], "note": "qty?"}]})
    assert r.status_code == 200, r.text
    issue(fin, s_dec, "reopen")
    deliveries(fin, c, part, days["late"], qty=40, price="1.5")
    assert fin.post(f"{R}/statements/{s_dec['id']}/regenerate").status_code == 200
    issue(fin, s_dec, "send")
    events_at(live, s_dec, ("send", shanghai(y + 1, 1, 2)), ("dispute", shanghai(y + 1, 1, 5)),
              ("reopen", shanghai(y + 1, 1, 6, 23, 59)), ("regenerate", shanghai(y + 1, 1, 7)),
              ("send", shanghai(y + 1, 1, 8)))
    late = cents(days["late"], 40, "1.5")
    assert fin.get(f"{R}/statements/{s_dec['id']}").json()["state"] == "sent"

    def of(day):
        return aging_of(fin, "receivable", c, day)

    # Nov 30: October was sent (Nov 5) and is 30 days old; November's period has ended but
    # it is sent only after Dec 31 in Shanghai
    assert of(date(y, 11, 30)) == {"CNY": {"b0_30": oct_, "b31_60": 0, "b61_90": 0, "b90_plus": 0,
                                           "total": oct_, "statements": 1}}
    # Dec 9: October still open (voided the next day) although it is void today, 39 days old
    assert of(date(y, 12, 9)) == {"CNY": {"b0_30": 0, "b31_60": oct_, "b61_90": 0, "b90_plus": 0,
                                          "total": oct_, "statements": 1}}
    # Dec 10: voided that day; Dec 31: November sent at 00:30 Jan 1 Shanghai, not yet
    assert of(date(y, 12, 10)) == {} and of(date(y, 12, 31)) == {}
    # Jan 1: November is open (32 days: 31-60)
    assert of(date(y + 1, 1, 1)) == {"CNY": {"b0_30": 0, "b31_60": nov_, "b61_90": 0, "b90_plus": 0,
                                             "total": nov_, "statements": 1}}
    # Jan 5: December's version 1 (sent Jan 2, disputed that day: still a claim), 5 days old
    assert of(date(y + 1, 1, 5)) == {"CNY": {"b0_30": dec1, "b31_60": nov_, "b61_90": 0, "b90_plus": 0,
                                             "total": nov_ + dec1, "statements": 2}}
    # Jan 6: reopened at 23:59, a draft at the end of the day; Jan 7: regenerated, still a draft
    assert of(date(y + 1, 1, 6))["CNY"]["statements"] == 1 and of(date(y + 1, 1, 7))["CNY"]["total"] == nov_
    # Jan 8: version 2 sent: the late line, and October's line that the void gave back
    v2 = dec1 + late + oct_
    assert of(date(y + 1, 1, 8)) == {"CNY": {"b0_30": v2, "b31_60": nov_, "b61_90": 0, "b90_plus": 0,
                                             "total": nov_ + v2, "statements": 2}}
    # today's state would say: October void, December at version 2
    assert fin.get(f"{R}/statements/{s_dec['id']}").json()["version"] == 2

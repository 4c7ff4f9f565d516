"""Batch statements per billing cycle: the right statements per counterparty and period,
totals equal to their lines, idempotent runs, a real race, versions with a diff and the
confirm / dispute / settle / void workflow."""

from __future__ import annotations

import calendar
import random
import uuid
from datetime import date, timedelta

import pytest
from helpers import at_once_in_app, drain, finance_client, upload
from test_reconciliation_pricing import R, code, csv_bytes, make_part, make_supplier

from backend.extensions import db


@pytest.fixture
def fin(live):
    return finance_client(live)


def unique_month() -> tuple[int, int]:
    """Runs are global per side, cycle and month: each test takes a month of its own."""
    return random.randint(2100, 2999), random.randint(1, 12)


def make_customer(fin, cycle: str, cutoff: int = 0, email: str = "ar@example.test") -> dict:
    r = fin.post(f"{R}/counterparties", json={"kind": "customer", "code": code("C"), "name": "杭州智造科技",
                                              "billing_cycle": cycle, "cutoff_day": cutoff, "email": email})
    assert r.status_code == 201, r.text
    return r.json()


def deliveries(fin, customer: dict, part: dict, days: list[date], qty: int = 30000, price: str = "0.01782") -> dict:
    rows = [["customer_code", "number", "date", "part_no", "brand", "qty", "unit_price"]]
    rows += [[customer["code"], f"DN-{uuid.uuid4().hex[:10]}", d.isoformat(), part["part_no"], part["brand"],
              qty + i, price] for i, d in enumerate(days)]
    r = upload(fin, f"{R}/deliveries/import", "deliveries.csv", csv_bytes(rows))
    assert r.status_code == 201, r.text
    assert r.json()["report"]["rejected"] == []
    return r.json()


def receipt(fin, supplier: dict, part: dict, day: date, qty: int, price: str) -> dict:
    r = fin.post(f"{R}/documents", json={"kind": "receipt", "counterparty_id": supplier["id"],
                                         "number": f"GR-{uuid.uuid4().hex[:10]}", "doc_date": day.isoformat(),
                                         "lines": [{"part_id": part["id"], "qty": qty, "unit_price": price}]})
    assert r.status_code == 201, r.text
    return r.json()


def run(fin, live, side: str, cycle: str, month: str) -> dict:
    r = fin.post(f"{R}/statement-runs", json={"side": side, "cycle": cycle, "month": month})
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "queued"
    drain(live)
    r = fin.get(f"{R}/statement-runs/{r.json()['id']}")
    assert r.json()["state"] == "generated", r.json()
    assert r.json()["progress_done"] == r.json()["progress_total"]
    return r.json()


def statements_of(fin, cp: dict) -> list[dict]:
    items = fin.get(f"{R}/statements", params={"counterparty_id": cp["id"], "per_page": 100}).json()["items"]
    return sorted(items, key=lambda s: s["period_end"])


def lines_of(fin, statement: dict) -> list[dict]:
    return fin.get(f"{R}/statements/{statement['id']}/lines", params={"per_page": 1000}).json()["items"]


def test_batch_generation_per_cycle_and_counterparty(fin, live):
    year, month = unique_month()
    days = [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
    part = make_part(fin)
    weekly = make_customer(fin, "weekly", cutoff=7)
    halves = make_customer(fin, "semi_monthly", cutoff=15)
    deliveries(fin, weekly, part, days)
    deliveries(fin, halves, part, days)
    supplier = make_supplier(fin, cutoff_day=25)
    for d in days:
        receipt(fin, supplier, part, d, 30000, "0.01782")

    label = f"{year}-{month:02d}"
    first = run(fin, live, "receivable", "weekly", label)
    sundays = [d for d in days if d.isoweekday() == 7]
    weeks = statements_of(fin, weekly)
    assert len(weeks) == len(sundays) in (4, 5)
    assert [w["period_end"] for w in weeks] == [d.isoformat() for d in sundays]
    previous_end = date(year, month, 1) - timedelta(days=1)
    for statement, sunday in zip(weeks, sundays, strict=True):
        lines = lines_of(fin, statement)
        assert sorted(line["doc_date"] for line in lines) == \
            [d.isoformat() for d in days if previous_end < d <= sunday]
        assert statement["number"] == f"AR-{sunday:%Y%m%d}-{weekly['code']}"
        assert statement["totals"] == [{"currency": "CNY", "lines": len(lines),
                                        "amount_cents": sum(line["amount_cents"] for line in lines)}]
        previous_end = sunday
    assert first["lines"] == sum(w["totals"][0]["lines"] for w in weeks)
    assert statements_of(fin, halves) == []  # another cycle's run

    run(fin, live, "receivable", "semi_monthly", label)
    assert [len(lines_of(fin, s)) for s in statements_of(fin, halves)] == [15, len(days) - 15]

    run(fin, live, "payable", "monthly", label)
    (monthly,) = statements_of(fin, supplier)
    assert (monthly["period_start"], monthly["period_end"]) == \
        ((date(year, month, 25) - _month_back(year, month)).isoformat(), date(year, month, 25).isoformat())
    assert len(lines_of(fin, monthly)) == 25
    # 30,000 pcs at 0.01782 = 534.60 a line, exact to the cent, and the total is their sum
    assert monthly["totals"][0]["amount_cents"] == 25 * 53460

    again = run(fin, live, "receivable", "weekly", label)
    assert again["id"] == first["id"]
    assert [s["id"] for s in statements_of(fin, weekly)] == [w["id"] for w in weeks]
    assert again["lines"] == first["lines"] and again["statements"] == first["statements"]


def _month_back(year: int, month: int) -> timedelta:
    prev = date(year - 1, 12, 25) if month == 1 else date(year, month - 1, 25)
    return date(year, month, 25) - prev - timedelta(days=1)


def test_two_runs_racing_never_put_a_line_on_two_statements(fin, live):
    """Two generations of the same cycle and month at once, each in its own thread,
    connection and transaction (on PostgreSQL and MariaDB they truly overlap)."""
    from sqlalchemy import func, select

    from backend.reconciliation import service
    from backend.reconciliation import statements as engine
    from backend.reconciliation.models import DocumentLine, Statement, StatementLine

    year, month = unique_month()
    part = make_part(fin)
    suppliers = [make_supplier(fin, billing_cycle="semi_monthly", cutoff_day=15) for _ in range(12)]
    for s in suppliers:
        for d in (3, 9, 14, 20, 27):
            receipt(fin, s, part, date(year, month, d), 7, "0.0023")
    with live.app.app_context():
        steps = engine.plan("payable", "semi_monthly", year, month)
        db.session.remove()
    def generate(barrier):
        for step in steps:
            barrier.wait()  # both start each period together
            service.generate_period("payable", "semi_monthly", step, None)
            db.session.commit()

    _, errors = at_once_in_app(live, generate)
    assert errors == []
    ids = [s["id"] for s in suppliers]
    with live.app.app_context():
        open_lines = db.session.scalar(select(func.count()).where(DocumentLine.counterparty_id.in_(ids),
                                                                  engine.is_open()))
        twice = db.session.execute(
            select(StatementLine.document_line_id).join(Statement, Statement.id == StatementLine.statement_id)
            .where(Statement.counterparty_id.in_(ids), Statement.live == 1)
            .group_by(StatementLine.document_line_id).having(func.count() > 1)).all()
        per_cp = db.session.execute(select(Statement.counterparty_id, func.count()).where(
            Statement.counterparty_id.in_(ids)).group_by(Statement.counterparty_id)).all()
        db.session.remove()
    assert open_lines == 0 and twice == []
    assert sorted(n for _, n in per_cp) == [2] * len(suppliers)
    for s in suppliers:
        first, second = statements_of(fin, s)
        assert (first["totals"][0]["lines"], second["totals"][0]["lines"]) == (3, 2)
        assert first["totals"][0]["amount_cents"] == 3 * 2  # 7 × 0.0023 = 0.0161 → 0.02


def test_regenerating_a_draft_makes_a_new_version_with_a_diff(fin, live):
    year, month = unique_month()
    part = make_part(fin)
    supplier = make_supplier(fin)
    kept = receipt(fin, supplier, part, date(year, month, 2), 100, "1.00")
    run(fin, live, "payable", "monthly", f"{year}-{month:02d}")
    (statement,) = statements_of(fin, supplier)
    assert statement["version"] == 1 and statement["totals"][0]["amount_cents"] == 10000
    late = receipt(fin, supplier, part, date(year, month, 5), 10, "2.50")  # entered after the run
    r = fin.post(f"{R}/statements/{statement['id']}/regenerate")
    assert r.status_code == 200, r.text
    diff = r.json()
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    assert [a["document_line_id"] for a in diff["added"]] == [late["lines"][0]["id"]]
    assert diff["removed"] == [] and diff["changed"] == []
    now = fin.get(f"{R}/statements/{statement['id']}").json()
    assert now["version"] == 2 and now["totals"][0] == {"currency": "CNY", "lines": 2, "amount_cents": 12500}
    old = fin.get(f"{R}/statements/{statement['id']}/lines", params={"version": 1}).json()
    assert [i["document_line_id"] for i in old["items"]] == [kept["lines"][0]["id"]]  # v1 stays frozen
    assert fin.get(f"{R}/statements/{statement['id']}/diff",
                   params={"from_version": 1, "to_version": 2}).json()["added"] == diff["added"]


def test_workflow_confirm_dispute_settle_and_void(fin, live):
    year, month = unique_month()
    part = make_part(fin)
    supplier = make_supplier(fin)
    doc = receipt(fin, supplier, part, date(year, month, 2), 100, "1.00")
    label = f"{year}-{month:02d}"
    run(fin, live, "payable", "monthly", label)
    (statement,) = statements_of(fin, supplier)
    url = f"{R}/statements/{statement['id']}/transitions"

    def act(action, **body):
        return fin.post(url, json={"action": action, **body})

    assert act("settle").json()["error"]["code"] == "STATEMENT_STATE_CONFLICT"
    assert act("send").json()["state"] == "sent"
    assert fin.post(f"{R}/statements/{statement['id']}/regenerate").status_code == 409
    assert act("dispute").status_code == 422  # a dispute says which lines
    line_id = doc["lines"][0]["id"]
    r = act("dispute", notes=[{"document_line_id": line_id, "note": "我们只收到 90 个"}])
    assert r.status_code == 200 and r.json()["state"] == "disputed"
    events = fin.get(f"{R}/statements/{statement['id']}/events").json()["items"]
    assert {"action": "note", "document_line_id": line_id, "note": "我们只收到 90 个"} in \
        [{k: e[k] for k in ("action", "document_line_id", "note")} for e in events]
    assert act("confirm").json()["state"] == "confirmed"
    assert act("void").status_code == 409
    assert act("settle").json()["state"] == "settled"

    # voiding gives the lines back: a new run makes a fresh statement with the same number
    other = make_supplier(fin)
    receipt(fin, other, part, date(year, month, 3), 5, "1.00")
    run(fin, live, "payable", "monthly", label)
    (draft,) = statements_of(fin, other)
    assert fin.post(f"{R}/statements/{draft['id']}/transitions", json={"action": "void"}).json()["state"] == "void"
    run(fin, live, "payable", "monthly", label)
    reissued = [s for s in statements_of(fin, other) if s["state"] == "draft"]
    assert len(reissued) == 1 and reissued[0]["number"] == draft["number"] and reissued[0]["id"] != draft["id"]
    assert reissued[0]["totals"][0]["lines"] == 1


def test_delivery_imports_report_bad_rows_and_keep_good_ones(fin):
    part = make_part(fin)
    customer = make_customer(fin, "monthly")
    header = ["customer_code", "number", "date", "part_no", "brand", "qty", "unit_price"]
    number = f"DN-{uuid.uuid4().hex[:8]}"
    rows = [header,
            [customer["code"], number, "2026-08-03", part["part_no"], part["brand"], 10, "1.5"],
            [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", part["part_no"], part["brand"], -4, "1"],
            [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", "NOPE-99", "X", 1, "1"],
            ["NOBODY", f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", part["part_no"], part["brand"], 1, "1"],
            [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "03/08", part["part_no"], part["brand"], 1, "1"],
            [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", part["part_no"], part["brand"], 1.5, "1"]]
    r = upload(fin, f"{R}/deliveries/import", "d.csv", csv_bytes(rows))
    assert r.status_code == 201, r.text
    assert r.json() == {"documents": 1, "report": {"rows": 6, "accepted": 1, "rejected": [
        {"row": 3, "column": "qty", "code": "TOO_SMALL",
         "reason": "quantity must be positive (returns are their own documents)"},
        {"row": 4, "column": "part_no", "code": "UNKNOWN_PART", "reason": "unknown part NOPE-99 / X"},
        {"row": 5, "column": "customer_code", "code": "UNKNOWN_CUSTOMER", "reason": "unknown customer 'NOBODY'"},
        {"row": 6, "column": "date", "code": "NOT_A_DATE", "reason": "not a date (YYYY-MM-DD)"},
        {"row": 7, "column": "qty", "code": "NOT_A_WHOLE_NUMBER", "reason": "not a whole number"}],
        "rejected_total": 5, "rejected_not_listed": 0}}
    again = upload(fin, f"{R}/deliveries/import", "d.csv", csv_bytes(rows[:2]))
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_IMPORTED"
    first = again.json()["error"]["details"]["report"]["rejected"][0]
    assert (first["code"], first["reason"]) == ("DOCUMENT_EXISTS", f"delivery {number} exists")
    wrong = upload(fin, f"{R}/deliveries/import", "d.csv", csv_bytes([["customer", "number"], ["x", "y"]]))
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "IMPORT_BAD_COLUMNS"
    broken = upload(fin, f"{R}/deliveries/import", "d.xlsx", b"PK\x03\x04\x00\x00garbage")
    assert broken.status_code == 422 and broken.json()["error"]["code"] == "IMPORT_UNREADABLE"
    binary = upload(fin, f"{R}/deliveries/import", "d.csv", bytes(range(256)) * 4)
    assert binary.status_code == 422 and binary.json()["error"]["code"] == "IMPORT_UNREADABLE"


def test_delivery_rows_too_big_for_their_columns_are_reported_not_a_500(fin):
    part = make_part(fin)
    customer = make_customer(fin, "monthly")
    header = ["customer_code", "number", "date", "part_no", "brand", "qty", "unit_price", "currency"]
    good = [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", part["part_no"], part["brand"], 1, "1", ""]
    rows = [header, good,
            [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", part["part_no"], part["brand"], 1, "1",
             "EURO"],
            [customer["code"], "DN-" + "9" * 80, "2026-08-03", part["part_no"], part["brand"], 1, "1", ""],
            [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", part["part_no"], part["brand"], 10**12,
             "1", ""],
            [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", part["part_no"], part["brand"], 10**9,
             "999999999999", ""]]
    r = upload(fin, f"{R}/deliveries/import", "d.csv", csv_bytes(rows))
    assert r.status_code == 201, r.text
    assert [(x["row"], x["column"], x["code"]) for x in r.json()["report"]["rejected"]] == [
        (3, "currency", "UNKNOWN_CURRENCY"), (4, "number", "TOO_LONG"), (5, "qty", "TOO_LARGE"),
        (6, "unit_price", "TOO_LARGE")]
    assert r.json()["documents"] == 1


def test_a_line_amount_too_large_to_store_is_refused(fin):
    supplier = make_supplier(fin)
    part = make_part(fin)
    r = fin.post(f"{R}/documents", json={"kind": "receipt", "counterparty_id": supplier["id"],
                                         "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-07-01",
                                         "lines": [{"part_id": part["id"], "qty": 10**9,
                                                    "unit_price": "999999999999"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "1969-12", "9999-01", "9999-12"])
def test_a_month_off_the_calendar_is_refused_not_a_500(fin, month):
    # Found by the fuzzing (tests/test_fuzz_openapi.py): "0000-01" matched YYYY-MM and
    # then failed to be a date.
    r = fin.post(f"{R}/statement-runs", json={"side": "payable", "cycle": "weekly", "month": month})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text
    r = fin.get(f"{R}/statement-runs", params={"month": month})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text


@pytest.mark.parametrize("cycle", ["weekly", "semi_monthly", "monthly"])
def test_the_first_and_last_months_run(fin, live, cycle):
    make_customer(fin, cycle)
    for month in ("1970-01", "9998-12"):
        done = run(fin, live, "receivable", cycle, month)
        assert (done["month"], done["cycle"], done["state"]) == (month, cycle, "generated")

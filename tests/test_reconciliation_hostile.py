"""Issues 17 and 18: finance rough edges and hostile input on the reconciliation API —
date ranges, transition words, cut-off defaults, one shape for a refused import, a
delivery file imported twice, download names, the statement diff's ``matched``,
uploads that are huge or slow to parse, names with control characters, tolerances
too large for their column."""

from __future__ import annotations

import threading
import uuid
from urllib.parse import unquote

import pytest
from helpers import create_product, drain, finance_client, login, notify_xml, ordered_and_prepaid, post_notify, upload
from recon_files import row, xlsx
from sqlalchemy import update
from test_reconciliation_pricing import R, code, csv_bytes, make_part, make_supplier
from test_reconciliation_send import friday_statement, generated_run, smtp, weekly_suppliers  # noqa: F401 - smtp: a fixture
from test_reconciliation_statements import make_customer, statements_of, unique_month

from backend.extensions import db


@pytest.fixture
def fin(live):
    return finance_client(live)


def set_name(live, cp_id: int, name: str) -> None:
    """Write a name straight into the database, past the API's checks (as old rows may be)."""
    from backend.reconciliation.models import Counterparty

    with live.app.app_context():
        db.session.execute(update(Counterparty).where(Counterparty.id == cp_id).values(name=name))
        db.session.commit()
        db.session.remove()


def bad_name(live) -> str:
    """Control characters the database can hold (PostgreSQL text refuses NUL)."""
    return "坏\x7f名\x01" + ("" if live.app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "\x00")


# --- issue 17 ---------------------------------------------------------------------------

def test_repricing_with_date_from_after_date_to_is_an_invalid_range(fin):
    r = fin.post(f"{R}/receipts/reprice", json={"date_from": "2026-11-30", "date_to": "2026-11-01"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "INVALID_DATE_RANGE", r.text
    r = fin.post(f"{R}/receipts/reprice", json={"date_from": "2026-11-01", "date_to": "2026-11-01"})
    assert r.status_code == 200 and "lines" in r.json()


def test_an_illegal_transition_says_what_it_would_have_done_in_words(fin, live):
    year, month = unique_month()
    (supplier,) = weekly_suppliers(fin, ["w@x.test"])
    generated_run(fin, live, [supplier], year, month)
    (statement,) = statements_of(fin, supplier)
    words = {"settle": "settled", "reopen": "reopened", "confirm": "confirmed"}
    for action, done in words.items():
        r = fin.post(f"{R}/statements/{statement['id']}/transitions", json={"action": action})
        assert r.status_code == 409 and r.json()["error"]["code"] == "STATEMENT_STATE_CONFLICT"
        message = r.json()["error"]["message"]
        assert f"A draft statement cannot be {done} (needs" in message and "settleed" not in message, message


@pytest.mark.parametrize(("cycle", "cutoff"), [("weekly", 7), ("semi_monthly", 15), ("monthly", 0)])
def test_a_counterparty_created_without_a_cutoff_gets_its_cycles_documented_default(fin, cycle, cutoff):
    r = fin.post(f"{R}/counterparties", json={"kind": "customer", "code": code("C"), "name": "杭州智造科技",
                                              "billing_cycle": cycle})
    assert r.status_code == 201 and r.json()["cutoff_day"] == cutoff, r.text
    assert fin.get(f"{R}/counterparties/{r.json()['id']}").json()["cutoff_day"] == cutoff
    r = fin.post(f"{R}/counterparties", json={"kind": "customer", "code": code("C"), "name": "x",
                                              "billing_cycle": cycle, "cutoff_day": 3})
    assert r.json()["cutoff_day"] == 3


def test_a_refused_import_reports_in_the_shape_of_an_accepted_one(fin):
    supplier, part = make_supplier(fin), make_part(fin)
    path = f"{R}/suppliers/{supplier['id']}/price-lists"
    good = upload(fin, path, "p.csv", csv_bytes([["part_no", "brand", "unit_price"], [part["part_no"], "Murata", "1"],
                                                 ["NOPE", "Murata", "1"]]), effective_date="2026-07-01")
    assert good.status_code == 201, good.text
    bad = upload(fin, path, "p.csv", csv_bytes([["part_no", "brand", "unit_price"], ["NOPE", "Murata", "1"]]),
                 effective_date="2026-07-01")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "IMPORT_NO_VALID_ROWS"
    details = bad.json()["error"]["details"]
    assert set(details["report"]) == set(good.json()["report"])
    assert details["report"] == {"rows": 1, "accepted": 0, "rejected_total": 1, "rejected_not_listed": 0,
                                 "rejected": [{"row": 2, "column": "part_no", "code": "UNKNOWN_PART",
                                               "reason": "unknown part NOPE / Murata"}]}
    assert details["rejected"] == details["report"]["rejected"]  # the old keys stay


def test_importing_the_same_delivery_file_again_is_already_imported(fin):
    part, customer = make_part(fin), make_customer(fin, "monthly")
    rows = [["customer_code", "number", "date", "part_no", "brand", "qty", "unit_price"]]
    rows += [[customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-08-03", part["part_no"], part["brand"], 5, "1"]
             for _ in range(3)]
    first = upload(fin, f"{R}/deliveries/import", "d.csv", csv_bytes(rows))
    assert first.status_code == 201 and first.json()["documents"] == 3
    again = upload(fin, f"{R}/deliveries/import", "d.csv", csv_bytes(rows))
    assert again.status_code == 409 and again.json()["error"]["code"] == "ALREADY_IMPORTED", again.text
    assert again.json()["error"]["details"]["report"]["accepted"] == 0
    assert "already" in again.json()["error"]["message"].lower()


def test_a_download_keeps_a_readable_ascii_name_beside_the_utf8_one(fin, live, monkeypatch, tmp_path):
    monkeypatch.setenv("RECON_EXPORT_DIR", str(tmp_path))
    year, month = unique_month()
    (supplier,) = weekly_suppliers(fin, ["n@x.test"])
    generated_run(fin, live, [supplier], year, month)
    (statement,) = statements_of(fin, supplier)
    r = fin.get(f"{R}/statements/{statement['id']}/export")
    assert r.status_code == 200
    disposition = r.headers["Content-Disposition"]
    ascii_name = f"{supplier['code']}_{statement['number']}_v1.xlsx"
    assert f'filename="{ascii_name}"' in disposition, disposition
    utf8 = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(utf8) == f"{supplier['code']}_{supplier['name'].replace(' ', '_')}_{statement['number']}_v1.xlsx"


def test_the_diffs_matched_counts_pairs_within_both_tolerances(fin, live):
    supplier, parts, docs, statement = friday_statement(fin, live, parts=4, qty=100, price="1",
                                                        qty_tolerance=1, price_tolerance="0.01")
    theirs = [["number", "part_no", "qty", "unit_price"],
              [docs[0]["number"].lower(), parts[0]["part_no"].lower(), 101, "1.01"],  # within both: matched
              [docs[1]["number"], parts[1]["part_no"], 105, "1.5"],  # beyond both: one pair, not matched
              [docs[2]["number"], parts[2]["part_no"], 100, "1"]]  # equal: matched; docs[3]: only ours
    r = upload(fin, f"{R}/statements/{statement['id']}/supplier-statement", "t.csv", csv_bytes(theirs))
    assert r.status_code == 200, r.text
    diff = r.json()
    assert diff["matched"] == 2
    assert [m["number"] for m in diff["qty_mismatches"]] == [m["number"] for m in diff["price_mismatches"]] \
        == [docs[1]["number"]]
    mismatched = {m["document_line_id"] for m in diff["qty_mismatches"] + diff["price_mismatches"]}
    assert diff["matched"] + len(mismatched) + len(diff["only_ours"]) == len(parts)


# --- issue 18 ---------------------------------------------------------------------------

def test_a_notify_is_answered_while_a_huge_import_is_being_parsed(fin, live, ops, monkeypatch):
    from backend.reconciliation import imports

    buyer = login(live)
    product = create_product(ops, price_fen=1_000)
    order, openid = ordered_and_prepaid(live, buyer, product["id"])
    supplier = make_supplier(fin)
    data = xlsx(["part_no", "brand", "unit_price"], [(row(["P", "B", 1]), 210_000)])
    assert len(data) < 200 * 1024
    parsing, notified = threading.Event(), threading.Event()
    original = imports._xlsx_rows

    def slow_rows(payload):  # the parse pauses (a thousand rows in) until the notify is answered
        for n, values in enumerate(original(payload)):
            if n == 1000:
                parsing.set()
                notified.wait(90)
            yield values

    monkeypatch.setattr(imports, "_xlsx_rows", slow_rows)
    answer = {}

    def import_it():
        # parsing 200,000 rows takes seconds on a quiet machine, a minute on a loaded one
        answer["r"] = upload(fin, f"{R}/suppliers/{supplier['id']}/price-lists", "big.xlsx", data,
                             timeout=240, effective_date="2026-07-01")

    worker = threading.Thread(target=import_it)
    worker.start()
    try:
        assert parsing.wait(60)
        reply = post_notify(live, notify_xml(order["out_trade_no"], 1_000, openid))
        still_parsing = worker.is_alive()
    finally:
        notified.set()
        worker.join(180)
    assert "SUCCESS" in reply and still_parsing
    r = answer["r"]
    assert r.status_code == 422 and r.json()["error"]["code"] == "IMPORT_UNREADABLE", r.text
    assert "At most 200000 rows" in r.json()["error"]["message"]
    assert fin.get(f"{R}/suppliers/{supplier['id']}/price-lists").json() == []


def test_a_huge_cell_is_refused_as_such_and_never_echoed(fin):
    supplier = make_supplier(fin)
    data = xlsx(["part_no", "brand", "unit_price"], [(row(["x" * 30_000_000, "Murata", 1]), 1)])
    assert len(data) < 64 * 1024
    r = upload(fin, f"{R}/suppliers/{supplier['id']}/price-lists", "big.xlsx", data, effective_date="2026-07-01")
    assert r.status_code == 422 and r.json()["error"]["code"] == "IMPORT_NO_VALID_ROWS"
    assert len(r.content) < 64 * 1024
    (rejected,) = r.json()["error"]["details"]["report"]["rejected"]
    assert (rejected["row"], rejected["column"], rejected["code"]) == (2, "part_no", "CELL_TOO_LARGE")
    assert "cell too large" in rejected["reason"]


def test_a_report_quotes_short_prefixes_and_lists_at_most_200_rows(fin):
    supplier = make_supplier(fin)
    long_value = "Z" * 100
    rows = [["part_no", "brand", "unit_price"]] + [[f"{long_value}{i}", "Murata", "1"] for i in range(300)]
    r = upload(fin, f"{R}/suppliers/{supplier['id']}/price-lists", "p.csv", csv_bytes(rows),
               effective_date="2026-07-01")
    assert r.status_code == 422, r.text
    report = r.json()["error"]["details"]["report"]
    assert len(report["rejected"]) == 200 and report["rejected_total"] == 300 and report["rejected_not_listed"] == 100
    assert report["rejected"][0]["reason"] == f"unknown part {'Z' * 64}… / Murata"
    assert len(r.content) < 64 * 1024


@pytest.mark.parametrize("field", ["name", "code", "email"])
@pytest.mark.parametrize("bad", ["a\x00b", "a\x7fb", "a\r\nBcc: x@evil.test", "a\x01"])
def test_control_characters_are_refused_at_the_door(fin, field, bad):
    body = {"kind": "supplier", "code": code(), "name": "深圳元件", "billing_cycle": "monthly",
            "email": "ap@example.test", field: bad}
    # NUL is refused for every JSON body before the schema sees it (backend/json_input.py)
    expected = "INVALID_TEXT" if "\x00" in bad else "VALIDATION_ERROR"
    r = fin.post(f"{R}/counterparties", json=body)
    assert r.status_code == 422 and r.json()["error"]["code"] == expected, r.text
    supplier = make_supplier(fin)
    if field != "code":
        r = fin.patch(f"{R}/counterparties/{supplier['id']}", json={field: bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == expected, r.text


def test_a_tolerance_beyond_its_column_is_a_validation_error(fin):
    r = fin.post(f"{R}/counterparties", json={"kind": "supplier", "code": code(), "name": "x",
                                              "billing_cycle": "monthly", "qty_tolerance": 2**63})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text
    supplier = make_supplier(fin)
    r = fin.patch(f"{R}/counterparties/{supplier['id']}", json={"qty_tolerance": 2**63})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", r.text


def test_an_export_for_a_name_with_control_characters_has_a_safe_name(fin, live, monkeypatch, tmp_path):
    monkeypatch.setenv("RECON_EXPORT_DIR", str(tmp_path))
    year, month = unique_month()
    (supplier,) = weekly_suppliers(fin, ["c@x.test"])
    generated_run(fin, live, [supplier], year, month)
    (statement,) = statements_of(fin, supplier)
    set_name(live, supplier["id"], bad_name(live))
    for fmt in ("xlsx", "csv", "pdf"):
        r = fin.get(f"{R}/statements/{statement['id']}/export", params={"format": fmt})
        assert r.status_code == 200, (fmt, r.text[:300])
        disposition = r.headers["Content-Disposition"]
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in disposition), disposition
        assert f'filename="{supplier["code"]}_{statement["number"]}_v1.{fmt}"' in disposition
        assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in unquote(disposition.split("''", 1)[1]))


def test_one_bad_name_fails_its_own_delivery_row_never_the_run(fin, live, smtp):  # noqa: F811 - the fixture
    year, month = unique_month()
    tag = uuid.uuid4().hex[:6]
    addresses = [f"{c}-{tag}@x.test" for c in "abcd"]
    suppliers = weekly_suppliers(fin, addresses)
    run = generated_run(fin, live, suppliers, year, month)
    set_name(live, suppliers[1]["id"], bad_name(live))
    r = fin.post(f"{R}/statement-runs/{run['id']}/send")
    assert r.status_code == 202
    drain(live)
    run = fin.get(f"{R}/statement-runs/{run['id']}").json()
    assert run["state"] == "send_failed", run
    log = {row["recipient"]: row for row in fin.get(f"{R}/statement-runs/{run['id']}/deliveries").json()}
    assert log[addresses[1]]["state"] == "failed" and "control characters" in log[addresses[1]]["error"]
    assert all(log[a]["state"] == "sent" for a in addresses if a != addresses[1]), log
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(a for a in addresses if a != addresses[1])

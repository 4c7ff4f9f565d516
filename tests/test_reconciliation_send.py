"""Export and send: XLSX / CSV / PDF files named for their counterparty, batch mailing over
a real local SMTP server (aiosmtpd) with a delivery log, a failing recipient and a re-run,
a wrong attachment refused; the supplier's own statement diffed against ours; the CLI."""

from __future__ import annotations

import asyncio
import csv
import email
import io
import uuid
from datetime import date

import pytest
from aiosmtpd.controller import Controller
from helpers import at_once_in_app, drain, finance_client, free_port, upload
from openpyxl import load_workbook
from test_reconciliation_pricing import R, csv_bytes, make_part, make_supplier
from test_reconciliation_statements import receipt, statements_of, unique_month

from backend.extensions import db


class Inbox:
    """An SMTP server's handler that keeps what it accepts and refuses chosen mailboxes."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(monkeypatch, tmp_path):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), loop=asyncio.new_event_loop())
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(controller.port))
    monkeypatch.setenv("SMTP_FROM", "finance@fission.test")
    monkeypatch.setenv("RECON_EXPORT_DIR", str(tmp_path))
    yield inbox
    controller.stop()


@pytest.fixture
def fin(live):
    return finance_client(live)


def attachment(message) -> tuple[str, bytes]:
    (part,) = [p for p in message.walk() if p.get_filename()]
    return part.get_filename(), part.get_payload(decode=True)


def weekly_suppliers(fin, emails: list[str]) -> list[dict]:
    """Weekly suppliers (cut-off Friday): no other test bills suppliers weekly, so the run is ours."""
    return [make_supplier(fin, billing_cycle="weekly", cutoff_day=5, email=e, name=f"供应商 {i}")
            for i, e in enumerate(emails)]


def generated_run(fin, live, suppliers: list[dict], year: int, month: int) -> dict:
    part = make_part(fin)
    fridays = [date(year, month, d) for d in range(1, 29) if date(year, month, d).isoweekday() == 5]
    for i, s in enumerate(suppliers):
        receipt(fin, s, part, fridays[0], 100 + i, "0.01782")
    r = fin.post(f"{R}/statement-runs", json={"side": "payable", "cycle": "weekly", "month": f"{year}-{month:02d}"})
    drain(live)
    return fin.get(f"{R}/statement-runs/{r.json()['id']}").json()


def test_batch_send_with_one_failing_recipient_then_a_rerun(fin, live, smtp):
    year, month = unique_month()
    tag = uuid.uuid4().hex[:6]
    addresses = [f"a-{tag}@x.test", f"b-{tag}@x.test, c-{tag}@x.test", f"bad-{tag}@x.test", f"d-{tag}@x.test"]
    suppliers = weekly_suppliers(fin, addresses)
    run = generated_run(fin, live, suppliers, year, month)
    assert run["state"] == "generated" and run["statements"] >= len(suppliers)
    smtp.refuse.add(f"bad-{tag}@x.test")

    r = fin.post(f"{R}/statement-runs/{run['id']}/send")
    assert r.status_code == 202
    drain(live)
    run = fin.get(f"{R}/statement-runs/{run['id']}").json()
    assert run["state"] == "send_failed" and run["done_at"] is None
    log = fin.get(f"{R}/statement-runs/{run['id']}/deliveries").json()
    by_recipient = {row["recipient"]: row for row in log}
    assert by_recipient[f"bad-{tag}@x.test"]["state"] == "failed"
    assert "550" in by_recipient[f"bad-{tag}@x.test"]["error"]
    good = [f"a-{tag}@x.test", f"b-{tag}@x.test", f"c-{tag}@x.test", f"d-{tag}@x.test"]
    assert all(by_recipient[a]["state"] == "sent" for a in good)

    owner = {a.strip(): s for s in suppliers for a in s["email"].split(",")}
    assert sorted(m["X-Envelope-To"] for m in smtp.messages) == sorted(good)
    for message in smtp.messages:  # everyone got exactly their own file
        supplier = owner[message["X-Envelope-To"]]
        name, data = attachment(message)
        assert name.startswith(f"{supplier['code']}_") and name.endswith(".xlsx")
        sheet = load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[1][:3] == ("对方 Counterparty", supplier["code"], supplier["name"])
        (statement,) = statements_of(fin, supplier)
        assert rows[0][1] == statement["number"]
        assert rows[5][4] == 100 + suppliers.index(supplier)
        assert rows[5][0].date().isoweekday() == 5 and rows[5][5] == 0.01782  # a date cell, a number cell
    states = {s["code"]: statements_of(fin, s)[0]["state"] for s in suppliers}
    assert states == {s["code"]: ("draft" if "bad" in s["email"] else "sent") for s in suppliers}

    smtp.refuse.clear()
    sent_before = len(smtp.messages)
    fin.post(f"{R}/statement-runs/{run['id']}/send")
    drain(live)
    assert [m["X-Envelope-To"] for m in smtp.messages[sent_before:]] == [f"bad-{tag}@x.test"]
    name, _ = attachment(smtp.messages[-1])
    assert name.startswith(f"{suppliers[2]['code']}_")
    run = fin.get(f"{R}/statement-runs/{run['id']}").json()
    assert run["state"] == "done" and run["done_at"]
    log = fin.get(f"{R}/statement-runs/{run['id']}/deliveries").json()
    assert {row["recipient"]: row["attempts"] for row in log if tag in row["recipient"]} == \
        {f"a-{tag}@x.test": 1, f"b-{tag}@x.test": 1, f"c-{tag}@x.test": 1, f"d-{tag}@x.test": 1,
         f"bad-{tag}@x.test": 2}
    # the log is history: a statement settled since keeps its rows in it
    (first,) = statements_of(fin, suppliers[0])
    for action in ("confirm", "settle"):
        r = fin.post(f"{R}/statements/{first['id']}/transitions", json={"action": action})
        assert r.status_code == 200, r.text
    log = fin.get(f"{R}/statement-runs/{run['id']}/deliveries").json()
    assert f"a-{tag}@x.test" in {row["recipient"] for row in log}


def test_a_wrong_attachment_is_never_sent(fin, live, smtp):
    from backend.reconciliation.models import StatementExport

    year, month = unique_month()
    tag = uuid.uuid4().hex[:6]
    first, second = weekly_suppliers(fin, [f"one-{tag}@x.test", f"two-{tag}@x.test"])
    run = generated_run(fin, live, [first, second], year, month)
    (a,), (b,) = statements_of(fin, first), statements_of(fin, second)
    assert fin.get(f"{R}/statements/{a['id']}/export").status_code == 200
    assert fin.get(f"{R}/statements/{b['id']}/export").status_code == 200
    with live.app.app_context():  # a bug files A's export under B's statement
        mine = db.session.query(StatementExport).filter_by(statement_id=a["id"]).one()
        theirs = db.session.query(StatementExport).filter_by(statement_id=b["id"]).one()
        theirs.path, theirs.sha256 = mine.path, mine.sha256
        db.session.commit()
        db.session.remove()
    fin.post(f"{R}/statement-runs/{run['id']}/send")
    drain(live)
    assert [m["X-Envelope-To"] for m in smtp.messages] == [f"one-{tag}@x.test"]
    log = {row["recipient"]: row for row in fin.get(f"{R}/statement-runs/{run['id']}/deliveries").json()}
    assert log[f"two-{tag}@x.test"]["state"] == "failed"
    assert first["code"] in log[f"two-{tag}@x.test"]["error"]
    assert fin.get(f"{R}/statement-runs/{run['id']}").json()["state"] == "send_failed"


def test_without_smtp_settings_nothing_pretends_to_be_sent(fin, live, monkeypatch, tmp_path):
    monkeypatch.delenv("SMTP_HOST", raising=False)
    monkeypatch.setenv("RECON_EXPORT_DIR", str(tmp_path))
    year, month = unique_month()
    (supplier,) = weekly_suppliers(fin, [f"x-{uuid.uuid4().hex[:6]}@x.test"])
    run = generated_run(fin, live, [supplier], year, month)
    fin.post(f"{R}/statement-runs/{run['id']}/send")
    drain(live)
    (row,) = fin.get(f"{R}/statement-runs/{run['id']}/deliveries").json()
    assert row["state"] == "failed" and "SMTP_HOST is not set" in row["error"]
    assert fin.get(f"{R}/statement-runs/{run['id']}").json()["state"] == "send_failed"
    assert any(p.name.startswith(supplier["code"]) for p in tmp_path.rglob("*.xlsx"))


def test_exports_in_three_formats(fin, live, monkeypatch, tmp_path):
    monkeypatch.setenv("RECON_EXPORT_DIR", str(tmp_path))
    year, month = unique_month()
    (supplier,) = weekly_suppliers(fin, ["x@x.test"])
    generated_run(fin, live, [supplier], year, month)
    (statement,) = statements_of(fin, supplier)
    url = f"{R}/statements/{statement['id']}/export"
    r = fin.get(url, params={"format": "csv"})
    assert r.status_code == 200 and supplier["code"] in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["fission-statement", f"statement_id={statement['id']}"]
    assert rows[2][4:8] == ["100", "0.017820", "1.78", "CNY"]
    assert rows[-1][6] == "1.78"
    pdf = fin.get(url, params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and b"STSong-Light" in pdf.content
    xlsx = fin.get(url)
    assert load_workbook(io.BytesIO(xlsx.content)).properties.title == f"对账单 {statement['number']}"
    # the current version by its number is the same file; another version is refused, not ignored
    assert fin.get(url, params={"version": statement["version"]}).content == xlsx.content
    other = fin.get(url, params={"version": statement["version"] + 1})
    assert other.status_code == 422 and other.json()["error"]["code"] == "VALIDATION_ERROR"


def friday_statement(fin, live, *, parts: int, qty: int, price: str, **tolerances):
    """A weekly supplier (cut-off Friday) with one receipt per new part on a Friday of
    a fresh month, and its generated statement: (supplier, parts, receipts, statement)."""
    year, month = unique_month()
    supplier = make_supplier(fin, billing_cycle="weekly", cutoff_day=5, **tolerances)
    made = [make_part(fin) for _ in range(parts)]
    friday = next(date(year, month, d) for d in range(1, 8) if date(year, month, d).isoweekday() == 5)
    docs = [receipt(fin, supplier, p, friday, qty, price) for p in made]
    fin.post(f"{R}/statement-runs", json={"side": "payable", "cycle": "weekly", "month": f"{year}-{month:02d}"})
    drain(live)
    (statement,) = statements_of(fin, supplier)
    return supplier, made, docs, statement


def test_supplier_statement_with_planted_differences(fin, live):
    supplier, parts, docs, statement = friday_statement(fin, live, parts=6, qty=1000, price="0.5",
                                                        qty_tolerance=2, price_tolerance="0.0001")
    theirs = [["单号", "型号", "数量", "单价"]]
    for i, (doc, part) in enumerate(zip(docs, parts, strict=True)):
        qty, price = 1000, "0.5"
        if i == 0:
            continue  # only ours
        if i == 1:
            qty = 1005  # beyond the tolerance of 2
        if i == 2:
            qty = 1002  # within it
        if i == 3:
            price = "0.5002"  # beyond 0.0001
        if i == 4:
            price = "0.50005"  # within
        theirs.append([doc["number"], part["part_no"], qty, price])
    theirs.append(["GR-THEIRS-ONLY", "XYZ-1", 10, "1"])
    theirs.append(["GR-BAD", "XYZ-2", "ten", "1"])
    r = upload(fin, f"{R}/statements/{statement['id']}/supplier-statement", "their.csv", csv_bytes(theirs))
    assert r.status_code == 200, r.text
    diff = r.json()
    assert [line["number"] for line in diff["only_ours"]] == [docs[0]["number"]]
    assert [(line["number"], line["qty"]) for line in diff["only_theirs"]] == [("GR-THEIRS-ONLY", 10)]
    assert [(m["number"], m["ours"], m["theirs"]) for m in diff["qty_mismatches"]] == [(docs[1]["number"], 1000, 1005)]
    assert [(m["number"], m["ours"], m["theirs"]) for m in diff["price_mismatches"]] == \
        [(docs[3]["number"], "0.500000", "0.500200")]
    assert diff["matched"] == 3
    assert diff["report"]["rejected"] == [{"row": 8, "column": "qty", "code": "NOT_A_NUMBER", "reason": "not a number"}]


def test_cli_generate_send_and_status(live, fin, smtp):
    year, month = unique_month()
    tag = uuid.uuid4().hex[:6]
    (supplier,) = weekly_suppliers(fin, [f"cli-{tag}@x.test"])
    receipt(fin, supplier, make_part(fin), date(year, month, 1), 3, "1")
    runner = live.app.test_cli_runner()
    month_arg = ["--side", "payable", "--cycle", "weekly", "--month", f"{year}-{month:02d}"]
    result = runner.invoke(args=["statements", "generate", *month_arg])
    assert result.exit_code == 0, result.output
    assert '"statements": 1' in result.output and "periods" in result.output
    result = runner.invoke(args=["statements", "send", *month_arg])
    assert result.exit_code == 0, result.output
    assert [m["X-Envelope-To"] for m in smtp.messages] == [f"cli-{tag}@x.test"]
    result = runner.invoke(args=["statements", "status", *month_arg])
    assert '"state": "done"' in result.output and '"unsent": []' in result.output
    bad = runner.invoke(args=["statements", "generate", "--side", "payable", "--cycle", "weekly", "--month", "13"])
    assert bad.exit_code != 0


def test_two_sends_of_a_run_at_once_mail_each_recipient_once(fin, live, smtp):
    """The same run sent twice at the same moment (the RQ job and the CLI, say): every
    recipient gets one message, and neither sender fails."""
    import time

    from backend.reconciliation import mail, service

    year, month = unique_month()
    tag = uuid.uuid4().hex[:6]
    suppliers = weekly_suppliers(fin, [f"r{i}-{tag}@x.test, s{i}-{tag}@x.test" for i in range(3)])
    run = generated_run(fin, live, suppliers, year, month)
    slow = smtp.handle_DATA

    async def handle_data(server, session, envelope):
        time.sleep(0.2)  # a slow mail server: the other sender catches up meanwhile
        return await slow(server, session, envelope)

    smtp.handle_DATA = handle_data
    settings = mail.SmtpSettings.from_env()

    def send(barrier):
        barrier.wait()
        return service.send_run(run["id"], settings=settings)

    _, errors = at_once_in_app(live, send)
    assert errors == []
    got = sorted(m["X-Envelope-To"] for m in smtp.messages if tag in m["X-Envelope-To"])
    assert got == sorted(f"{p}{i}-{tag}@x.test" for i in range(3) for p in "rs")
    assert fin.get(f"{R}/statement-runs/{run['id']}").json()["state"] == "done"


def test_a_run_is_not_sent_before_its_statements_are_generated(fin, live, smtp):
    year, month = unique_month()
    r = fin.post(f"{R}/statement-runs", json={"side": "receivable", "cycle": "semi_monthly",
                                              "month": f"{year}-{month:02d}"})
    assert r.status_code == 202 and r.json()["state"] == "queued"
    sent = fin.post(f"{R}/statement-runs/{r.json()['id']}/send")
    assert sent.status_code == 409 and sent.json()["error"]["code"] == "STATEMENT_STATE_CONFLICT", sent.text
    drain(live)
    run = fin.get(f"{R}/statement-runs/{r.json()['id']}").json()
    assert run["state"] == "generated" and run["done_at"] is None
    assert fin.post(f"{R}/statement-runs/{run['id']}/send").status_code == 202


def test_the_cli_does_not_mark_a_month_never_generated_done(live, smtp):
    year, month = unique_month()
    runner = live.app.test_cli_runner()
    result = runner.invoke(args=["statements", "send", "--side", "receivable", "--cycle", "weekly",
                                 "--month", f"{year}-{month:02d}"])
    assert result.exit_code != 0
    status = runner.invoke(args=["statements", "status", "--side", "receivable", "--cycle", "weekly",
                                 "--month", f"{year}-{month:02d}"])
    assert '"state": "done"' not in status.output


def test_correcting_a_bad_address_lets_the_run_finish(fin, live, smtp):
    """The fix for a refused address is to correct it: the old address is no longer a
    recipient, so the run is done once the new one has the file."""
    year, month = unique_month()
    tag = uuid.uuid4().hex[:6]
    (supplier,) = weekly_suppliers(fin, [f"typo-{tag}@x.test"])
    run = generated_run(fin, live, [supplier], year, month)
    smtp.refuse.add(f"typo-{tag}@x.test")
    fin.post(f"{R}/statement-runs/{run['id']}/send")
    drain(live)
    assert fin.get(f"{R}/statement-runs/{run['id']}").json()["state"] == "send_failed"
    import requests

    r = requests.patch(live.api(f"{R}/counterparties/{supplier['id']}"), json={"email": f"right-{tag}@x.test"},
                       headers=fin._headers(), timeout=10)
    assert r.status_code == 200, r.text
    fin.post(f"{R}/statement-runs/{run['id']}/send")
    drain(live)
    assert [m["X-Envelope-To"] for m in smtp.messages if tag in m["X-Envelope-To"]] == [f"right-{tag}@x.test"]
    assert statements_of(fin, supplier)[0]["state"] == "sent"
    assert fin.get(f"{R}/statement-runs/{run['id']}").json()["state"] == "done"


def test_two_exports_of_one_statement_at_once_leave_one_intact_file(fin, live, monkeypatch, tmp_path):
    """Two senders export the same statement at the same moment: the second reuses the
    first one's file, so the file on disk is the one whose hash was recorded (a rewrite
    would differ: an XLSX carries the time it was written)."""
    import time
    from pathlib import Path

    from backend.reconciliation import exports
    from backend.reconciliation.models import Statement

    year, month = unique_month()
    (supplier,) = weekly_suppliers(fin, ["x@x.test"])
    generated_run(fin, live, [supplier], year, month)
    (listed,) = statements_of(fin, supplier)
    plain = exports.WRITERS["csv"]

    def slow_and_dated(path, statement, cp):
        plain(path, statement, cp)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"written at {time.time_ns()}\n")  # two writes never match
        time.sleep(0.3)  # the other exporter arrives meanwhile

    monkeypatch.setitem(exports.WRITERS, "csv", slow_and_dated)
    def export(barrier):
        statement = db.session.get(Statement, listed["id"])
        db.session.expunge(statement)
        db.session.commit()  # as a sender does after its log rows: no snapshot held
        barrier.wait()
        row = exports.export(statement, "csv", tmp_path)
        db.session.commit()
        return row.id, row.path, row.sha256

    made, errors = at_once_in_app(live, export, timeout=60)
    assert errors == [] and len(made) == 2
    assert made[0] == made[1]  # one export, reused
    _, path, digest = made[0]
    assert exports.sha256(Path(path)) == digest
    assert [p.name for p in tmp_path.iterdir()] == [Path(path).name]  # nothing left aside


def test_a_pdf_for_a_supplier_whose_name_looks_like_markup(fin, live, monkeypatch, tmp_path):
    """The PDF's heading reads markup: a name with & and < is shown as it is written."""
    monkeypatch.setenv("RECON_EXPORT_DIR", str(tmp_path))
    year, month = unique_month()
    supplier = make_supplier(fin, billing_cycle="weekly", cutoff_day=5, email="m@x.test", name="A&B <电子> 1")
    generated_run(fin, live, [supplier], year, month)
    (statement,) = statements_of(fin, supplier)
    pdf = fin.get(f"{R}/statements/{statement['id']}/export", params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF"), pdf.text[:300]
    from pypdf import PdfReader

    heading = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text().splitlines()[1]
    assert heading == (f"{supplier['code']} A&B <电子> 1 | {statement['period_start']} – {statement['period_end']}"
                       f" | version {statement['version']}")

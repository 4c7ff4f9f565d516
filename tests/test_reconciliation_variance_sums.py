"""The price-variance sums kept per supplier, part and month (``variance_sums``): after
every kind of line write they equal a fresh aggregation over the lines, and the report
built from them equals the one built from the lines (the old way), date ranges with
partial months included. Two writers of the same cell lose nothing."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from helpers import at_once_in_app, finance_client, upload
from sqlalchemy import func, select
from test_reconciliation_pricing import R, csv_bytes, make_part, make_po, make_supplier, price_list

from backend.extensions import db


@pytest.fixture
def fin(live):
    return finance_client(live)


def kept_sums_agree(live) -> list[dict]:
    from backend.reconciliation import variance_sums

    with live.app.app_context():
        out = variance_sums.check()
        db.session.remove()
    return out


def from_the_lines(live, args: dict) -> dict:
    """The report's sums and count computed over the lines, as before the kept sums."""
    from backend.reconciliation.models import Part
    from backend.reconciliation.money import cents_text
    from backend.reconciliation.repricing import variance_query

    with live.app.app_context():
        lines = variance_query(args, with_document=False).order_by(None).subquery()
        diff = func.sum(lines.c.amount_cents - lines.c.po_amount_cents)
        out = {"total": db.session.scalar(select(func.count()).select_from(lines))}
        for name, cols in (("by_supplier", (lines.c.supplier_code,)), ("by_brand", (lines.c.brand,)),
                           ("by_part", (lines.c.part_no, lines.c.brand))):
            rows = db.session.execute(select(*cols, func.count().label("lines"), diff.label("d"))
                                      .group_by(*cols).order_by(*cols)).mappings().all()
            out[name] = [{**{k: v for k, v in r.items() if k != "d"}, "diff_amount": cents_text(r["d"] or 0)}
                         for r in rows]
        assert Part  # the model module is loaded for the query's joins
        db.session.remove()
    return out


def report_sums(fin, **params) -> dict:
    r = fin.get(f"{R}/reports/price-variance", params={**params, "per_page": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    return {k: body[k] for k in ("total", "by_supplier", "by_brand", "by_part")}


def receive(fin, po: dict, policy: str, day: str, lines: list[tuple[int, int]] | None = None) -> dict:
    body = {"policy": policy, "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": day}
    if lines is not None:
        body["lines"] = [{"po_line_id": lid, "qty": q} for lid, q in lines]
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_kept_sums_follow_every_kind_of_write_and_answer_the_report(fin, live):
    supplier, other = make_supplier(fin), make_supplier(fin)
    a, b = make_part(fin), make_part(fin, brand="TI")
    for s in (supplier, other):
        assert price_list(fin, s["id"], "2026-01-01", [["part_no", "brand", "unit_price"],
                                                      [a["part_no"], "Murata", "0.01782"],
                                                      [b["part_no"], "TI", "1.25"]]).status_code == 201
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-01-20",
                 [(a, 30000, "0.0170"), (b, 7, "1.333333")])
    lines = {line["part_id"]: line["id"] for line in po["lines"]}
    scope = {"supplier_id": supplier["id"]}

    receive(fin, po, "price_list", "2026-01-31", [(lines[a["id"]], 10000)])  # partial conversion, month end
    assert kept_sums_agree(live) == []
    receive(fin, po, "po", "2026-02-01")  # the rest, at the PO price: no variance, nothing kept
    assert kept_sums_agree(live) == []
    assert report_sums(fin, **scope) == from_the_lines(live, scope)
    assert report_sums(fin, **scope)["total"] == 1

    other_po = make_po(fin, other["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-02-02", [(a, 999, "0.0171")])
    receive(fin, other_po, "price_list", "2026-02-14")
    r = fin.post(f"{R}/documents", json={  # a manual receipt and a return: no PO price, not listed
        "kind": "receipt", "counterparty_id": supplier["id"], "number": f"GR-{uuid.uuid4().hex[:8]}",
        "doc_date": "2026-02-03", "lines": [{"part_id": a["id"], "qty": 5, "unit_price": "0.02"}]})
    assert r.status_code == 201, r.text
    r = fin.post(f"{R}/documents", json={
        "kind": "return", "counterparty_id": supplier["id"], "number": f"RT-{uuid.uuid4().hex[:8]}",
        "doc_date": "2026-02-04", "lines": [{"part_id": a["id"], "qty": 3, "unit_price": "0.0170"}]})
    assert r.status_code == 201, r.text
    customer = fin.post(f"{R}/counterparties", json={
        "kind": "customer", "code": f"C{uuid.uuid4().hex[:8].upper()}", "name": "客户", "billing_cycle": "monthly",
        "cutoff_day": 0, "currency": "CNY", "email": "ar@example.test"}).json()
    delivered = upload(fin, f"{R}/deliveries/import", "d.csv", csv_bytes([
        ["customer_code", "number", "date", "part_no", "brand", "qty", "unit_price"],
        [customer["code"], f"DN-{uuid.uuid4().hex[:8]}", "2026-02-05", a["part_no"], "Murata", 10, "0.03"]]))
    assert delivered.status_code == 201, delivered.text
    assert kept_sums_agree(live) == []

    # re-pricing moves lines in and out of the report: from the 25th part a is listed at
    # its PO price (January's line leaves the report), b above it (February's b line enters)
    assert price_list(fin, supplier["id"], "2026-01-25", [["part_no", "brand", "unit_price"],
                                                         [a["part_no"], "Murata", "0.0170"],
                                                         [b["part_no"], "TI", "1.4"]]).status_code == 201
    r = fin.post(f"{R}/receipts/reprice", json={"supplier_id": supplier["id"], "date_from": "2026-01-01",
                                                 "date_to": "2026-02-28"})
    assert r.status_code == 200, r.text
    assert kept_sums_agree(live) == []
    report = report_sums(fin, **scope)
    assert report == from_the_lines(live, scope)
    # a: 0.0170 now equals its PO price (out of the report); b: 1.4 vs 1.333333 (in)
    assert report["total"] == 1 and report["by_part"][0]["part_no"] == b["part_no"]
    r = fin.post(f"{R}/receipts/reprice", json={"date_from": "2026-01-01", "date_to": "2026-02-28"})
    assert r.status_code == 200, r.text  # all suppliers
    assert kept_sums_agree(live) == []

    # every filter, and date ranges with and without whole months, agree with the lines
    both = {"brand": "Murata"}
    for args in (scope, {"supplier_id": other["id"]}, {"part_id": a["id"]}, both,
                 {"date_from": date(2026, 1, 1), "date_to": date(2026, 2, 28)},
                 {"date_from": date(2026, 1, 31), "date_to": date(2026, 2, 14)},
                 {"date_from": date(2026, 2, 1)}, {"date_to": date(2026, 1, 31)},
                 {"date_from": date(2026, 2, 2), "date_to": date(2026, 2, 20)},
                 {"date_from": date(2026, 2, 15), "part_id": a["id"]},
                 {"date_to": date(2026, 2, 13), "supplier_id": other["id"]}):
        params = {k: v.isoformat() if isinstance(v, date) else v for k, v in args.items()}
        mine = report_sums(fin, **params)
        assert mine == from_the_lines(live, args), args


def test_two_conversions_of_the_same_cell_at_once_lose_nothing(fin, live):
    """Two POs of the same supplier and part, converted at the same moment in two
    sessions onto the same day: both add to the same (supplier, part, month) row."""
    from backend.reconciliation import receipts

    supplier, part = make_supplier(fin), make_part(fin)
    assert price_list(fin, supplier["id"], "2026-03-01", [["part_no", "brand", "unit_price"],
                                                         [part["part_no"], "Murata", "0.02"]]).status_code == 201
    pos = [make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-03-02", [(part, 100 + i, "0.01")])
           for i in range(2)]

    def convert(barrier):
        po = pos.pop()
        barrier.wait()
        receipts.convert(po["id"], "price_list", f"GR-{uuid.uuid4().hex[:8]}", date(2026, 3, 9), None)
        db.session.commit()

    _, errors = at_once_in_app(live, convert)
    assert errors == []
    assert kept_sums_agree(live) == []
    report = report_sums(fin, supplier_id=supplier["id"])
    assert report["total"] == 2 and report["by_supplier"][0]["diff_amount"] == "2.01"  # (100 + 101) × 0.01


def test_a_reprice_beside_a_conversion_keeps_the_sums_exact(fin, live):
    """A re-pricing and a conversion of the same supplier at once: whichever goes first,
    the kept sums are the lines' sums afterwards."""
    from backend.reconciliation import receipts, repricing

    supplier, part = make_supplier(fin), make_part(fin)
    assert price_list(fin, supplier["id"], "2026-04-01", [["part_no", "brand", "unit_price"],
                                                         [part["part_no"], "Murata", "0.02"]]).status_code == 201
    first = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-04-02", [(part, 500, "0.01")])
    receive(fin, first, "po", "2026-04-05")
    second = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-04-02", [(part, 300, "0.015")])
    jobs = ["reprice", "convert"]

    def work(barrier):
        job = jobs.pop()
        barrier.wait()
        if job == "convert":
            receipts.convert(second["id"], "po", f"GR-{uuid.uuid4().hex[:8]}", date(2026, 4, 6), None)
        else:
            repricing.reprice(supplier["id"], date(2026, 4, 1), date(2026, 4, 30))
        db.session.commit()

    _, errors = at_once_in_app(live, work)
    assert errors == []
    assert kept_sums_agree(live) == []


def test_rebuild_recomputes_what_check_reports(fin, live):
    from backend.reconciliation import variance_sums
    from backend.reconciliation.models import PriceVarianceSum

    supplier, part = make_supplier(fin), make_part(fin)
    assert price_list(fin, supplier["id"], "2026-05-01", [["part_no", "brand", "unit_price"],
                                                         [part["part_no"], "Murata", "0.02"]]).status_code == 201
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-05-02", [(part, 10, "0.01")])
    receive(fin, po, "price_list", "2026-05-03")
    with live.app.app_context():
        cell = db.session.get(PriceVarianceSum, (supplier["id"], part["id"], 202605))
        assert (cell.line_count, cell.diff_cents) == (1, 10)
        cell.line_count = 7  # a writer that forgot the sums
        db.session.commit()
        wrong = variance_sums.check()
        assert [(w["counterparty_id"], w["lines"], w["expected_lines"]) for w in wrong] == [(supplier["id"], 7, 1)]
        variance_sums.rebuild()
        db.session.commit()
        assert variance_sums.check() == []
        db.session.remove()


def test_two_repricings_of_the_same_lines_at_once_keep_the_sums_exact(fin, live):
    """Each re-pricing moves the sums by new − old: the second must read the first one's
    prices as old, so they queue on the supplier's row."""
    from backend.reconciliation import repricing

    supplier, part = make_supplier(fin), make_part(fin)
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-08-01", [(part, 900, "0.01")])
    receive(fin, po, "po", "2026-08-05")
    assert price_list(fin, supplier["id"], "2026-08-01", [["part_no", "brand", "unit_price"],
                                                         [part["part_no"], "Murata", "0.013"]]).status_code == 201

    def work(barrier):
        barrier.wait()
        count = repricing.reprice(supplier["id"], date(2026, 8, 1), date(2026, 8, 31))
        db.session.commit()
        return count

    results, errors = at_once_in_app(live, work)
    assert errors == [] and results == [1, 1]
    assert kept_sums_agree(live) == []
    assert report_sums(fin, supplier_id=supplier["id"])["by_supplier"][0]["diff_amount"] == "2.70"  # 900 × 0.003


def test_the_cli_reports_a_gap_and_rebuilds(fin, live):
    import json

    from backend.reconciliation.models import PriceVarianceSum

    supplier, part = make_supplier(fin), make_part(fin)
    assert price_list(fin, supplier["id"], "2026-09-01", [["part_no", "brand", "unit_price"],
                                                         [part["part_no"], "Murata", "0.02"]]).status_code == 201
    receive(fin, make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-09-02", [(part, 10, "0.01")]),
            "price_list", "2026-09-03")
    cli = live.app.test_cli_runner()
    assert cli.invoke(args=["statements", "variance-sums"]).exit_code == 0
    with live.app.app_context():
        db.session.get(PriceVarianceSum, (supplier["id"], part["id"], 202609)).diff_cents = 0
        db.session.commit()
        db.session.remove()
    found = cli.invoke(args=["statements", "variance-sums"])
    assert found.exit_code == 1 and json.loads(found.output)["differing_cells"] == 1
    fixed = cli.invoke(args=["statements", "variance-sums", "--rebuild"])
    assert fixed.exit_code == 0, fixed.output
    assert cli.invoke(args=["statements", "variance-sums"]).exit_code == 0


def test_parts_limit_keeps_the_parts_with_the_largest_differences_and_counts_them_all(fin, live):
    supplier = make_supplier(fin)
    parts = [make_part(fin) for _ in range(3)]
    # PO prices under the list: differences of 1, 3 and 2 yuan (x 1,000 units), one line each
    assert price_list(fin, supplier["id"], "2026-03-01", [["part_no", "brand", "unit_price"],
                                                         *[[p["part_no"], "Murata", "1.0"] for p in parts]]
                      ).status_code == 201
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-03-02",
                 [(parts[0], 1000, "0.999"), (parts[1], 1000, "0.997"), (parts[2], 1000, "0.998")])
    receive(fin, po, "price_list", "2026-03-03")
    scope = {"supplier_id": supplier["id"]}
    every = fin.get(f"{R}/reports/price-variance", params=scope).json()
    assert every["by_part_total"] == 3 and len(every["by_part"]) == 3  # without the limit: every part
    top = fin.get(f"{R}/reports/price-variance", params={**scope, "parts_limit": 2}).json()
    assert top["by_part_total"] == 3
    assert [row["part_no"] for row in top["by_part"]] == [parts[1]["part_no"], parts[2]["part_no"]]
    assert top["total"] == every["total"] == 3 and top["by_supplier"] == every["by_supplier"]
    bad = fin.get(f"{R}/reports/price-variance", params={**scope, "parts_limit": 0})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_range_edge_off_the_calendar_is_refused_not_a_500(fin):
    for params in ({"date_to": "0001-01-01"}, {"date_from": "0001-01-01"}, {"date_from": "9999-12-31"}):
        r = fin.get(f"{R}/reports/price-variance", params=params)
        assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR", (params, r.text)
    assert fin.get(f"{R}/reports/price-variance", params={"date_to": "1900-01-01"}).status_code == 200

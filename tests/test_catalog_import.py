"""The catalog import: a distributor's export (CSV, XLSX) upserted by (MPN, brand) through
the admin API (an RQ job with progress) and the CLI; bad rows refused with their row and
column, good rows kept; a re-import changes nothing."""

from __future__ import annotations

import io
import json
import uuid

import pytest
from helpers import admin, drain, upload

HEAD = ["mpn", "manufacturer", "package", "value", "voltage", "tolerance", "dielectric", "stock", "price breaks"]


@pytest.fixture
def ops(live, admin_token):
    return admin(live, admin_token)


def _csv(rows: list[list[str]]) -> bytes:
    return "\n".join(",".join(r) for r in [HEAD, *rows]).encode()


def _import(live, ops, name: str, data: bytes) -> dict:
    r = upload(ops, "/admin/catalog/imports", name, data)
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "queued"
    drain(live)
    done = ops.get(f"/admin/catalog/imports/{r.json()['id']}")
    assert done.status_code == 200, done.text
    return done.json()


def _catalog(tag: str) -> list[list[str]]:
    return [
        [f"GRM155R71C104KA88D{tag}", "村田", "0402", "100nF", "16V", "±10%", "X7R", "10000",
         "1-999:0.0065;1000-9999:0.0050;10000-:0.0042"],
        [f"CL05B104KO5NNNC{tag}", "SEMCO", "0402", "0.1uF", "16V", "10%", "X7R", "0", "10-:0.0040"],
        [f"RC0402FR-0710KL{tag}", "国巨", "0402", "10k", "", "±1%", "", "50000", "1-:0.0009"],
        [f"BAD-PKG{tag}", "Murata", "0403", "1nF", "50V", "", "", "1", "1-:0.01"],  # row 5
        [f"BAD-PRICE{tag}", "Murata", "0402", "1nF", "50V", "", "", "1", "1-99:0.01;100-:-0.01"],  # row 6
        [f"BAD-TIER{tag}", "Murata", "0402", "1nF", "50V", "", "", "1", "100-999:0.01;10-99:0.02"],  # row 7
        [f"BAD-VOLT{tag}", "Murata", "0402", "1nF", "fifty", "", "", "1", "1-:0.01"],  # row 8
    ]


def _product(ops, mpn: str) -> dict:
    [found] = [p for p in ops.get("/admin/products", params={"q": mpn}).json()["items"] if p["part_no"] == mpn]
    return found


def test_an_import_keeps_the_good_rows_and_reports_the_bad_ones_then_changes_nothing(live, ops):
    tag = uuid.uuid4().hex[:6].upper()
    data = _csv(_catalog(tag))
    done = _import(live, ops, "catalog.csv", data)
    assert done["state"] == "done", done
    report = done["report"]
    assert (report["rows"], report["accepted"], report["created"], report["updated"]) == (7, 3, 3, 0)
    assert [(x["row"], x["column"], x["code"]) for x in report["rejected"]] == [
        (5, "package", "UNKNOWN_PACKAGE"), (6, "price breaks", "NEGATIVE_PRICE"),
        (7, "price breaks", "BREAKS_GO_DOWN"), (8, "voltage", "BAD_VALUE")]
    assert "unknown package" in report["rejected"][0]["reason"]
    assert "negative price" in report["rejected"][1]["reason"]
    assert "goes down in quantity" in report["rejected"][2]["reason"]
    assert (done["progress_done"], done["progress_total"]) == (3, 3)
    mlcc = _product(ops, f"GRM155R71C104KA88D{tag}")
    assert (mlcc["brand"], mlcc["stock"], mlcc["moq"], mlcc["price_fen"]) == ("村田", 10000, 1, 1)
    assert mlcc["price_breaks"] == [{"min_qty": 1, "unit_price": "0.006500"},
                                    {"min_qty": 1000, "unit_price": "0.005000"},
                                    {"min_qty": 10000, "unit_price": "0.004200"}]
    assert _product(ops, f"CL05B104KO5NNNC{tag}")["moq"] == 10
    # the second time: nothing created, nothing updated, the same products and breaks
    again = _import(live, ops, "catalog.csv", data)["report"]
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert _product(ops, f"GRM155R71C104KA88D{tag}") == mlcc
    # a changed price and stock update that row only; the same part written "Murata" is that part
    rows = _catalog(tag)[:3]
    rows[0] = [f"grm155r71c104ka88d{tag}".lower(), "Murata", "0402", "100nF", "16V", "±10%", "X7R", "8000",
               "1-999:0.0060;1000-:0.0048"]
    changed = _import(live, ops, "catalog-2.csv", _csv(rows))["report"]
    assert (changed["created"], changed["updated"], changed["unchanged"]) == (0, 1, 2)
    after = _product(ops, f"GRM155R71C104KA88D{tag}")
    assert (after["id"], after["stock"]) == (mlcc["id"], 8000)
    assert [b["unit_price"] for b in after["price_breaks"]] == ["0.006000", "0.004800"]


def test_an_xlsx_export_imports_like_the_csv(live, ops):
    from openpyxl import Workbook

    tag = uuid.uuid4().hex[:6].upper()
    book = Workbook()
    sheet = book.active
    sheet.append(HEAD + ["multiple"])
    sheet.append([f"0402B104K160CT{tag}", "风华", "0402", "100nF", "16V", "±10%", "X7R", 40000,
                  "10000-49999:0.0021;50000-:0.0018", 10000])
    sheet.append([f"0402B104K160CT{tag}X", "FH", "0402", "100nF", "16V", "±10%", "X7R", 1, "10000-:0.0021", 3000])
    out = io.BytesIO()
    book.save(out)
    done = _import(live, ops, "catalog.xlsx", out.getvalue())
    assert done["state"] == "done", done
    assert (done["report"]["accepted"], done["report"]["created"]) == (1, 1)
    assert [(x["row"], x["column"], x["code"]) for x in done["report"]["rejected"]] == [
        (3, "price breaks", "NOT_A_MULTIPLE")]  # the MOQ (10000) is not a multiple of 3000
    product = _product(ops, f"0402B104K160CT{tag}")
    assert (product["moq"], product["order_multiple"], product["stock"]) == (10000, 10000, 40000)


def test_a_broken_file_fails_with_its_reason_and_writes_nothing(live, ops):
    done = _import(live, ops, "broken.xlsx", b"PK\x03\x04 this is not a zip")
    assert done["state"] == "failed" and done["error"].startswith("IMPORT_UNREADABLE")
    missing = _import(live, ops, "cols.csv", b"mpn,brand\nX,Y\n")
    assert missing["state"] == "failed" and missing["error"].startswith("IMPORT_BAD_COLUMNS")
    assert ops.get("/admin/catalog/imports/999999").json()["error"]["code"] == "CATALOG_IMPORT_NOT_FOUND"


def test_the_cli_imports_a_file_with_a_progress_bar(live, ops, tmp_path):
    tag = uuid.uuid4().hex[:6].upper()
    path = tmp_path / "catalog.csv"
    path.write_bytes(_csv(_catalog(tag)[:3]))
    result = live.app.test_cli_runner().invoke(args=["fission", "catalog-import", str(path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert (report["accepted"], report["created"]) == (3, 3)
    again = live.app.test_cli_runner().invoke(args=["fission", "catalog-import", str(path)])
    assert json.loads(again.output.strip().splitlines()[-1])["unchanged"] == 3
    assert _product(ops, f"RC0402FR-0710KL{tag}")["price_breaks"] == [{"min_qty": 1, "unit_price": "0.000900"}]

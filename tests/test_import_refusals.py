"""Every refused import row says why twice: a stable code for a program (the console's
words, a script sorting a report) and an English reason quoting the bad value. The
codes are one list (backend/import_refusals.py); these tests read files as the imports
do, without a database, and check that the code names no code outside the list."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from backend.catalog.importer import read_catalog
from backend.import_refusals import CODES, Refused, code_of
from backend.reconciliation.imports import Report

BACKEND = Path(__file__).resolve().parent.parent / "backend"
HEAD = "mpn,manufacturer,package,value,voltage,tolerance,dielectric,lifecycle,stock,moq,multiple,price breaks"
GOOD = "GRM155R71C104KA88D,Murata,0402,100nF,16V,±10%,X7R,active,100,,,1-:0.0065"


def _one(**cells) -> list[str]:
    row = dict(zip(HEAD.split(","), GOOD.split(","), strict=True))
    row.update(cells)
    return [row[c] for c in HEAD.split(",")]


CASES = [
    ("mpn", "MISSING_VALUE", {"mpn": ""}),
    ("mpn", "TOO_LONG", {"mpn": "X" * 65}),
    ("manufacturer", "MISSING_VALUE", {"manufacturer": ""}),
    ("package", "MISSING_VALUE", {"package": ""}),
    ("package", "UNKNOWN_PACKAGE", {"package": "0403"}),
    ("value", "BAD_VALUE", {"value": "100nX", "dielectric": "X7R"}),
    ("value", "TOO_FINE", {"value": "0.0001pF"}),
    ("voltage", "BAD_VALUE", {"voltage": "fifty"}),
    ("dielectric", "UNKNOWN_DIELECTRIC", {"dielectric": "X9Q"}),
    ("lifecycle", "UNKNOWN_LIFECYCLE", {"lifecycle": "dead"}),
    ("stock", "MISSING_VALUE", {"stock": ""}),
    ("stock", "NOT_A_NUMBER", {"stock": "lots"}),
    ("stock", "NOT_A_WHOLE_NUMBER", {"stock": "1.5"}),
    ("stock", "TOO_SMALL", {"stock": "-1"}),
    ("order_multiple", "TOO_SMALL", {"multiple": "0"}),
    ("price breaks", "MISSING_VALUE", {"price breaks": ""}),
    ("price breaks", "BAD_PRICE_BREAKS", {"price breaks": "1+:0.01"}),
    ("price breaks", "NEGATIVE_PRICE", {"price breaks": "1-:-0.01"}),
    ("price breaks", "TOO_MANY_DECIMALS", {"price breaks": "1-:0.0000001"}),
    ("price breaks", "BREAKS_GO_DOWN", {"price breaks": "100-999:0.01;10-99:0.02"}),
    ("price breaks", "PRICE_RISES", {"price breaks": "1-99:0.01;100-:0.02"}),
    ("price breaks", "FIRST_BREAK_NOT_MOQ", {"moq": "10", "price breaks": "1-:0.01"}),
    ("price breaks", "NOT_A_MULTIPLE", {"moq": "10", "multiple": "4", "price breaks": "10-:0.01"}),
]


@pytest.mark.parametrize(("column", "code", "cells"), CASES, ids=[f"{c[1]}-{c[0]}" for c in CASES])
def test_each_bad_catalog_row_is_refused_with_its_column_and_code(column, code, cells):
    data = "\n".join([HEAD, GOOD.replace("GRM", "OK-"), ",".join(_one(**cells))]).encode()
    rows, report = read_catalog("catalog.csv", data)
    assert [r.mpn for r in rows] == ["OK-155R71C104KA88D"]  # the good row is kept
    [refused] = report.rejected
    assert (refused["row"], refused["column"], refused["code"]) == (3, column, code)
    assert refused["reason"]  # and the words for a person


def test_a_repeated_part_and_an_oversized_cell_have_their_codes():
    data = "\n".join([HEAD, GOOD, GOOD.replace("GRM", "grm").replace("Murata", "MURATA"),
                      ",".join(_one(mpn="Y" * 5000))]).encode()
    rows, report = read_catalog("catalog.csv", data)
    assert len(rows) == 1
    # the reading refuses an oversized cell before any row is checked
    assert [(r["row"], r["code"]) for r in report.rejected] == [(4, "CELL_TOO_LARGE"), (3, "DUPLICATE_ROW")]


def test_a_plain_value_error_or_text_is_an_invalid_value_and_unknown_codes_are_refused():
    report = Report()
    report.reject(2, "qty", ValueError("odd"))
    report.reject(3, "qty", "odd too")
    report.reject(4, "qty", Refused("NOT_A_NUMBER", "not a number"))
    assert [r["code"] for r in report.rejected] == ["INVALID_VALUE", "INVALID_VALUE", "NOT_A_NUMBER"]
    assert code_of("text") == "INVALID_VALUE"
    with pytest.raises(KeyError):
        Refused("NO_SUCH_CODE", "typo")


def _named_codes() -> list[tuple[str, int, str]]:
    """Every code the backend writes: ``Refused("X", ...)``, ``Bad(col, "X", ...)``,
    ``code="X"`` and the codes ``_check_row`` returns as a tuple's third item."""
    found = []
    for path in BACKEND.rglob("*.py"):
        source = path.read_text()
        if "Refused" not in source and "reject(" not in source:
            continue
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                args = node.args[1:2] if name == "Bad" else node.args[:1] if name == "Refused" else []
                args += [k.value for k in node.keywords if k.arg == "code"]
                found += [(str(path), node.lineno, a.value) for a in args
                          if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 3:
                last = node.value.elts[2]
                if isinstance(last, ast.Constant) and re.fullmatch(r"[A-Z_]+", str(last.value)):
                    found.append((str(path), node.lineno, last.value))
    return found


def test_every_code_the_backend_names_is_in_the_list():
    named = _named_codes()
    assert len({code for *_, code in named}) >= 20  # the scan sees them
    assert [(p, line, code) for p, line, code in named if code not in CODES] == []

"""The counterparty's side: their own statement file against ours.

Lines are matched by (document number, part number, n-th occurrence); the result
lists the lines only they have, the lines only we have, and the quantity and
price differences beyond the tolerances set on the counterparty.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation.exports import line_rows
from backend.reconciliation.imports import Report, parse_qty, parse_upload, text
from backend.reconciliation.models import Counterparty
from backend.reconciliation.money import parse_price, price_text
from backend.reconciliation.workflow import get_statement


def _key_counter():
    seen: dict[tuple, int] = defaultdict(int)

    def key(number: str, part_no: str) -> tuple:
        base = (number.upper(), part_no.upper())
        seen[base] += 1
        return (*base, seen[base])

    return key


def diff_file(statement_id: int, filename: str, data: bytes) -> dict:
    report = Report()  # the file is parsed before any query (``parse_upload``)
    rows = parse_upload(filename, data, ("number", "part_no", "qty", "unit_price"), ("brand", "date", "amount"),
                        report)
    statement = get_statement(statement_id)
    cp = db.session.get(Counterparty, statement.counterparty_id)
    if statement.state == "void":
        raise ApiError("STATEMENT_STATE_CONFLICT", "A void statement has nothing to compare")
    theirs: dict[tuple, dict] = {}
    key = _key_counter()
    for number, row in rows:
        doc, part_no = text(row.get("number")), text(row.get("part_no"))
        if not doc or not part_no:
            report.reject(number, "number" if not doc else "part_no", "empty", code="MISSING_VALUE")
            continue
        try:
            qty = parse_qty(row.get("qty"))
        except ValueError as exc:
            report.reject(number, "qty", exc)
            continue
        try:
            price = parse_price(row.get("unit_price"))
        except ValueError as exc:
            report.reject(number, "unit_price", exc)
            continue
        theirs[key(doc, part_no)] = {"row": number, "number": doc, "part_no": part_no, "qty": qty,
                                     "unit_price": price}
    report.accepted = len(theirs)
    ours: dict[tuple, dict] = {}
    key = _key_counter()
    for _day, doc, part_no, _brand, qty, price, _cents, _cur, line_id in line_rows(statement, statement.version):
        ours[key(doc, part_no)] = {"document_line_id": line_id, "number": doc, "part_no": part_no, "qty": qty,
                                   "unit_price": Decimal(price)}
    qty_tol, price_tol = cp.qty_tolerance or 0, Decimal(cp.price_tolerance or 0)
    result = {"statement_id": statement.id, "number": statement.number, "version": statement.version,
              "tolerance": {"qty": qty_tol, "price": price_text(price_tol)},
              "only_theirs": [], "only_ours": [], "qty_mismatches": [], "price_mismatches": [], "matched": 0}
    for k in sorted(theirs.keys() | ours.keys()):
        mine, their = ours.get(k), theirs.get(k)
        if mine is None:
            result["only_theirs"].append(_shown(their))
        elif their is None:
            result["only_ours"].append(_shown(mine))
        else:
            pair = {"number": mine["number"], "part_no": mine["part_no"], "row": their["row"],
                    "document_line_id": mine["document_line_id"]}
            mismatch = False
            if abs(mine["qty"] - their["qty"]) > qty_tol:
                result["qty_mismatches"].append({**pair, "ours": mine["qty"], "theirs": their["qty"]})
                mismatch = True
            if abs(mine["unit_price"] - their["unit_price"]) > price_tol:
                result["price_mismatches"].append({**pair, "ours": price_text(mine["unit_price"]),
                                                   "theirs": price_text(their["unit_price"])})
                mismatch = True
            result["matched"] += not mismatch
    result["report"] = report.to_dict()
    return result


def _shown(line: dict) -> dict:
    return {**line, "unit_price": price_text(line["unit_price"])}

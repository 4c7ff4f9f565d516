"""Returns of a receipt line never exceed what it received, across several return
documents and when two returns race; a refused return writes nothing."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from helpers import at_once_in_app, finance_client
from test_reconciliation_pricing import R, make_part, make_po, make_supplier

from backend.extensions import db


@pytest.fixture
def fin(live):
    return finance_client(live)


def a_receipt(fin, qty: int = 100) -> tuple[dict, dict, dict]:
    supplier, part = make_supplier(fin), make_part(fin)
    po = make_po(fin, supplier["id"], f"PO-{uuid.uuid4().hex[:8]}", "2026-07-01", [(part, qty, "0.5")])
    r = fin.post(f"{R}/purchase-orders/{po['id']}/receipts", json={
        "policy": "po", "number": f"GR-{uuid.uuid4().hex[:8]}", "doc_date": "2026-07-02"})
    assert r.status_code == 201, r.text
    return supplier, part, r.json()["lines"][0]


def give_back(fin, supplier: dict, lines: list[dict], number: str | None = None):
    return fin.post(f"{R}/documents", json={
        "kind": "return", "counterparty_id": supplier["id"], "number": number or f"RT-{uuid.uuid4().hex[:8]}",
        "doc_date": "2026-07-05", "lines": lines})


def test_two_returns_that_each_fit_but_together_exceed_the_receipt(fin):
    supplier, part, line = a_receipt(fin, 100)
    first = give_back(fin, supplier, [{"receipt_line_id": line["id"], "qty": 60, "unit_price": "0.5"}])
    assert first.status_code == 201, first.text
    back = first.json()["lines"][0]
    assert (back["qty"], back["part_id"], back["return_of_line_id"], back["amount_cents"]) == \
        (-60, part["id"], line["id"], -3000)
    number = f"RT-{uuid.uuid4().hex[:8]}"
    second = give_back(fin, supplier, [{"receipt_line_id": line["id"], "part_id": part["id"], "qty": 50,
                                        "unit_price": "0.5"}], number)
    assert second.status_code == 422, second.text
    error = second.json()["error"]
    assert error["code"] == "RETURN_EXCEEDS_RECEIVED"
    assert error["details"] == {"receipt_line_id": line["id"], "received": 100, "returned": 60,
                                "returnable": 40, "asked": 50}
    # nothing of the refused return was written: its number is still free, the count unchanged
    docs = fin.get(f"{R}/documents", params={"kind": "return", "counterparty_id": supplier["id"]}).json()
    assert [d["number"] for d in docs["items"]] == [first.json()["number"]]
    assert give_back(fin, supplier, [{"receipt_line_id": line["id"], "qty": 40, "unit_price": "0.5"}],
                     number).status_code == 201  # exactly what is left, under the refused one's number
    last = give_back(fin, supplier, [{"receipt_line_id": line["id"], "qty": 1, "unit_price": "0.5"}])
    assert last.status_code == 422 and last.json()["error"]["details"]["returnable"] == 0


def test_two_lines_of_one_return_naming_the_same_receipt_line_count_together(fin):
    supplier, _, line = a_receipt(fin, 10)
    r = give_back(fin, supplier, [{"receipt_line_id": line["id"], "qty": 6, "unit_price": "0.5"},
                                  {"receipt_line_id": line["id"], "qty": 5, "unit_price": "0.5"}])
    assert r.status_code == 422 and r.json()["error"]["details"]["asked"] == 11
    assert give_back(fin, supplier, [{"receipt_line_id": line["id"], "qty": 6, "unit_price": "0.5"},
                                     {"receipt_line_id": line["id"], "qty": 4, "unit_price": "0.5"}]).status_code == 201


def test_a_return_names_a_receipt_line_of_its_own_supplier_and_part(fin):
    supplier, part, line = a_receipt(fin, 10)
    other = make_supplier(fin)
    r = give_back(fin, other, [{"receipt_line_id": line["id"], "qty": 1, "unit_price": "0.5"}])
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    r = give_back(fin, supplier, [{"receipt_line_id": line["id"], "part_id": make_part(fin)["id"], "qty": 1,
                                   "unit_price": "0.5"}])
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    ret = give_back(fin, supplier, [{"receipt_line_id": line["id"], "qty": 1, "unit_price": "0.5"}]).json()
    r = give_back(fin, supplier, [{"receipt_line_id": ret["lines"][0]["id"], "qty": 1, "unit_price": "0.5"}])
    assert r.status_code == 422, r.text  # a return line is not a receipt line
    r = fin.post(f"{R}/documents", json={
        "kind": "receipt", "counterparty_id": supplier["id"], "number": f"GR-{uuid.uuid4().hex[:8]}",
        "doc_date": "2026-07-05", "lines": [{"receipt_line_id": line["id"], "part_id": part["id"], "qty": 1,
                                             "unit_price": "0.5"}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "VALIDATION_ERROR"
    # a return without a receipt line is taken as before (goods received before the system)
    assert give_back(fin, supplier, [{"part_id": part["id"], "qty": 500, "unit_price": "0.5"}]).status_code == 201


def test_two_returns_at_once_never_exceed_the_receipt_together(fin, live):
    """Two sessions each return 70 of a 100 received, at the same moment: one wins, the
    other is refused with 30 returnable (on PostgreSQL and MariaDB they truly overlap)."""
    from backend.errors import ApiError
    from backend.reconciliation import receipts

    supplier, _, line = a_receipt(fin, 100)

    def give(barrier):
        barrier.wait()
        try:
            receipts.create_document({"kind": "return", "counterparty_id": supplier["id"],
                                      "number": f"RT-{uuid.uuid4().hex[:8]}", "doc_date": date(2026, 7, 6),
                                      "lines": [{"receipt_line_id": line["id"], "qty": 70,
                                                 "unit_price": Decimal("0.5")}]})
            db.session.commit()
            return "saved"
        except ApiError as exc:
            db.session.rollback()
            return exc.details["returnable"]

    results, errors = at_once_in_app(live, give)
    assert errors == []
    assert sorted(results, key=str) == [30, "saved"]
    with live.app.app_context():
        from backend.reconciliation.models import DocumentLine

        assert db.session.get(DocumentLine, line["id"]).returned_qty == 70
        db.session.remove()

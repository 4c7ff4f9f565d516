"""0025: a database at 0021 with products, reconciliation parts, price lists, receipts and
statement lines upgrades to one part master: every row is still there and linked, two
spellings of one part ("FH" / "Fenghua") become one part, products sell the part of
their (part number, brand)."""

from __future__ import annotations

import uuid

from flask_migrate import downgrade, upgrade
from helpers import finance_client
from sqlalchemy import text

from backend.extensions import db


def _insert(sql: str, **values) -> int:
    db.session.execute(text(sql), values)
    table = sql.split()[2]
    key, value = next(iter(values.items()))
    return db.session.execute(text(f"SELECT max(id) FROM {table} WHERE {key} = :v"), {"v": value}).scalar_one()  # noqa: S608


def _build_at_0021(tag: str) -> dict:
    ids: dict = {}
    ids["cp"] = _insert(
        "INSERT INTO recon_counterparties (code, kind, name, billing_cycle, cutoff_day, currency, email,"
        " qty_tolerance, price_tolerance, created_at) VALUES (:code, 'supplier', 'Old', 'monthly', 0, 'CNY', '',"
        " 0, 0, CURRENT_TIMESTAMP)", code=f"MIG-{tag}")
    part = "INSERT INTO recon_parts (part_no, brand, package, description) VALUES (:part_no, :brand, '0402', '')"
    ids["fh"] = _insert(part, part_no=f"0402B104K160CT{tag}", brand="FH")
    ids["fenghua"] = _insert(part, part_no=f"0402b104k160ct{tag}".lower(), brand="Fenghua")  # the same part
    ids["murata"] = _insert(part, part_no=f"GRM155R71C104KA88D{tag}", brand="Murata")
    ids["odd"] = _insert(part, part_no=f"ODD-{tag}", brand=f"Oddbrand {tag}")
    rows = db.engine.dialect.identifier_preparer.quote("rows")  # a reserved word in MariaDB
    price_list = ("INSERT INTO recon_price_lists (supplier_id, version, effective_date, currency, source,"
                  f" {rows}, created_at) VALUES (:cp, :v, '2026-01-01', 'CNY', 'old.csv', 2, CURRENT_TIMESTAMP)")
    db.session.execute(text(price_list), {"cp": ids["cp"], "v": 1})
    db.session.execute(text(price_list), {"cp": ids["cp"], "v": 2})
    lists = db.session.execute(text("SELECT id FROM recon_price_lists WHERE supplier_id = :cp ORDER BY version"),
                               {"cp": ids["cp"]}).scalars().all()
    price = ("INSERT INTO recon_prices (price_list_id, supplier_id, part_id, effective_date, version, unit_price)"
             " VALUES (:l, :cp, :p, '2026-01-01', :v, :price)")
    for list_id, version, pid, amount in ((lists[0], 1, ids["fh"], "0.0023"), (lists[0], 1, ids["murata"], "0.01"),
                                          (lists[1], 2, ids["fenghua"], "0.0021"), (lists[1], 2, ids["odd"], "1.5")):
        db.session.execute(text(price), {"l": list_id, "cp": ids["cp"], "p": pid, "v": version, "price": amount})
    ids["doc"] = _insert(
        "INSERT INTO recon_documents (number, kind, counterparty_id, doc_date, currency, pricing_policy, created_at)"
        " VALUES (:number, 'receipt', :cp, '2026-01-05', 'CNY', 'manual', CURRENT_TIMESTAMP)", number=f"GR-{tag}",
        cp=ids["cp"])
    line = ("INSERT INTO recon_document_lines (document_id, counterparty_id, doc_date, currency, part_id, qty,"
            " unit_price, price_diff, price_source, amount_cents, returned_qty) VALUES (:d, :cp, '2026-01-05', 'CNY',"
            " :p, :q, '0.0021', 0, 'manual', :c, 0)")
    for pid, qty, cents in ((ids["fenghua"], 10000, 2100), (ids["murata"], 4000, 4000)):
        db.session.execute(text(line), {"d": ids["doc"], "cp": ids["cp"], "p": pid, "q": qty, "c": cents})
    ids["lines"] = db.session.execute(text("SELECT id, part_id FROM recon_document_lines WHERE document_id = :d"
                                           " ORDER BY id"), {"d": ids["doc"]}).all()
    ids["st"] = _insert(
        "INSERT INTO recon_statements (number, live, side, counterparty_id, period_start, period_end, state, version,"
        " created_at, updated_at) VALUES (:number, 1, 'payable', :cp, '2026-01-01', '2026-01-31', 'draft', 1,"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", number=f"ST-{tag}", cp=ids["cp"])
    for line_id, pid in ids["lines"]:
        db.session.execute(text(
            "INSERT INTO recon_statement_lines (statement_id, version, document_line_id, document_id, doc_date,"
            " part_id, qty, unit_price, currency, amount_cents) VALUES (:s, 1, :l, :d, '2026-01-05', :p, 1,"
            " '0.0021', 'CNY', 1)"), {"s": ids["st"], "l": line_id, "d": ids["doc"], "p": pid})
    product = ("INSERT INTO products (title, brand, part_no, price_fen, stock, active, created_at, updated_at)"
               " VALUES (:title, :brand, :part_no, 5, 100, :yes, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    for key, brand, part_no in (("p_fh", "风华", f"0402B104K160CT{tag}"),
                                ("p_murata", "村田", f"grm155r71c104ka88d{tag}"),
                                ("p_new", "Yageo", f"RC0402FR-0710KL{tag}"), ("p_plain", None, None)):
        ids[key] = _insert(product, title=f"{key} {tag}", brand=brand, part_no=part_no, yes=True)
    return ids


def test_products_parts_prices_and_lines_from_before_are_one_part_master(live):
    tag = uuid.uuid4().hex[:6].upper()
    with live.app.app_context():
        downgrade(revision="0022_targets")  # the head before 0025
        ids = _build_at_0021(tag)
        before = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                  for t in ("products", "recon_prices", "recon_document_lines", "recon_statement_lines")}
        parts_before = db.session.execute(text("SELECT count(*) FROM recon_parts")).scalar_one()
        db.session.commit()
        upgrade()
        after = {t: db.session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                 for t in before}
        parts_after = db.session.execute(text("SELECT count(*) FROM parts")).scalar_one()
        fh = db.session.execute(text("SELECT id, part_no, brand, mpn_key, brand_id FROM parts WHERE id = :p"),
                                {"p": ids["fh"]}).one()
        gone = db.session.execute(text("SELECT count(*) FROM parts WHERE id = :p"), {"p": ids["fenghua"]}).scalar_one()
        prices = db.session.execute(text("SELECT part_id, unit_price FROM recon_prices WHERE supplier_id = :cp"
                                         " ORDER BY version, part_id"), {"cp": ids["cp"]}).all()
        lines = db.session.execute(text("SELECT id, part_id FROM recon_document_lines WHERE document_id = :d"
                                        " ORDER BY id"), {"d": ids["doc"]}).all()
        frozen = db.session.execute(text("SELECT document_line_id, part_id FROM recon_statement_lines"
                                         " WHERE statement_id = :s ORDER BY document_line_id"), {"s": ids["st"]}).all()
        products = dict(db.session.execute(text("SELECT id, part_id FROM products WHERE id IN (:a, :b, :c, :d)"),
                                           {"a": ids["p_fh"], "b": ids["p_murata"], "c": ids["p_new"],
                                            "d": ids["p_plain"]}).all())
        new_part = db.session.execute(text("SELECT part_no, brand, description FROM parts WHERE id = :p"),
                                      {"p": products[ids["p_new"]]}).one()
        odd = db.session.execute(text("SELECT b.name FROM parts p JOIN brands b ON b.id = p.brand_id"
                                      " WHERE p.id = :p"), {"p": ids["odd"]}).scalar_one()
        aliases = dict(db.session.execute(text(
            "SELECT a.key, b.name FROM brand_aliases a JOIN brands b ON b.id = a.brand_id"
            " WHERE a.key IN ('fh', '风华', 'fenghua', '村田')")).all())
        db.session.rollback()
    # nothing lost: the one part two spellings made is the only row that went
    assert after == {**before, "products": before["products"]}
    assert parts_after == parts_before - 1 + 1  # Fenghua merged into FH; the Yageo product made a part
    assert gone == 0
    assert (fh.part_no, fh.brand, fh.mpn_key) == (f"0402B104K160CT{tag}", "Fenghua", f"0402B104K160CT{tag}")
    assert aliases == {"fh": "Fenghua", "风华": "Fenghua", "fenghua": "Fenghua", "村田": "Murata"}
    assert odd == f"Oddbrand {tag}"
    # every price, receipt line and statement line names a part that exists, the merged one for Fenghua's
    assert [(p, str(v).rstrip("0")) for p, v in prices] == [
        (ids["fh"], "0.0023"), (ids["murata"], "0.01"), (ids["fh"], "0.0021"), (ids["odd"], "1.5")]
    assert [p for _, p in lines] == [ids["fh"], ids["murata"]]
    assert [(line_id, p) for line_id, p in frozen] == [(line_id, p) for line_id, p in lines]
    assert products == {ids["p_fh"]: ids["fh"], ids["p_murata"]: ids["murata"], ids["p_new"]: products[ids["p_new"]],
                        ids["p_plain"]: None}
    assert tuple(new_part) == (f"RC0402FR-0710KL{tag}", "Yageo", f"p_new {tag}")
    # the reconciliation API reads the merged part: both lists' prices in its history
    history = finance_client(live).get(f"/admin/reconciliation/parts/{ids['fh']}/price-history").json()
    assert [p["unit_price"] for s in history["series"] for p in s["points"]] == ["0.002300", "0.002100"]

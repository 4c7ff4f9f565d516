"""The catalog import, part two: checked rows written set-based, by (MPN key, brand).

For a chunk of rows: the parts that exist are read in one query per thousand keys, the
missing ones inserted at once (COPY on PostgreSQL: ``backend/bulk_sql.py``), the changed
ones updated in one executemany; the same for each part's product (the lowest-id product
selling it: the catalog's offer; made when the part has none) and its price breaks
(replaced only when they differ). A part whose category, package or dielectric changes
passes them on to every product of it (``search_columns``). A row that changes nothing
writes nothing, so importing a file twice changes nothing the second time. Only flushes:
the caller commits (``import_runs``).
"""

from __future__ import annotations

from sqlalchemy import delete, select, text, update

from backend.bulk_sql import chunks, insert_rows, one_of
from backend.catalog import parts as catalog_parts
from backend.catalog import search_columns
from backend.catalog.importer import Row
from backend.catalog.models import Part, PartParam, PriceBreakRow, Product
from backend.catalog.price_breaks import rounded_fen
from backend.extensions import db

PART_COLUMNS = ("category", "package", "description", "datasheet_url", "lifecycle", "capacitance_ff", "voltage_mv",
                "dielectric", "tolerance", "resistance_mohm", "power_mw")
# the part columns of a row that products copy (search_columns.COPIED; the key's are fixed)
COPIED_FROM_ROW = [c for c in search_columns.COPIED.values() if c in PART_COLUMNS]


def _existing_parts(keys: set[tuple[str, int]]) -> dict[tuple[str, int], dict]:
    found: dict[tuple[str, int], dict] = {}
    cols = [getattr(Part, c) for c in PART_COLUMNS]
    for chunk in chunks(sorted({k for k, _ in keys})):
        for row in db.session.execute(select(Part.id, Part.mpn_key, Part.brand_id, *cols)
                                      .where(one_of(Part.mpn_key, chunk))):
            if (row.mpn_key, row.brand_id) in keys:
                found[(row.mpn_key, row.brand_id)] = row._asdict()
    return found


def _write_parts(rows: dict[tuple[str, int], Row], names: dict[int, str]) -> tuple[dict, set[int]]:
    """(key → part id, ids of parts changed or made). A part whose search columns change
    passes them on to its products."""
    existing = _existing_parts(set(rows))
    existing_by_id = {e["id"]: e for e in existing.values()}
    new = [{"part_no": r.mpn, "brand": names[b], "mpn_key": k, "brand_id": b, **r.part}
           for (k, b), r in rows.items() if (k, b) not in existing]
    changed = [{"id": existing[key]["id"], **r.part} for key, r in rows.items()
               if key in existing and any(existing[key][c] != r.part[c] for c in PART_COLUMNS)]
    if new:
        insert_rows(Part.__table__, new)  # Core: the ORM splits rows by their NULLs
    if changed:
        db.session.execute(update(Part), changed)
        moved = [c["id"] for c in changed
                 if any(existing_by_id[c["id"]][col] != c[col] for col in COPIED_FROM_ROW)]
        search_columns.refresh(moved)
    ids = {key: e["id"] for key, e in existing.items()}
    if new:
        ids.update({key: e["id"] for key, e in _existing_parts({(n["mpn_key"], n["brand_id"]) for n in new}).items()})
    touched = {c["id"] for c in changed} | {ids[(n["mpn_key"], n["brand_id"])] for n in new}
    _write_params({ids[key]: r.params for key, r in rows.items()}, touched)
    return ids, touched


def _write_params(wanted: dict[int, dict], touched: set[int]) -> None:
    have: dict[int, dict] = {}
    for chunk in chunks(sorted(wanted)):
        for pid, name, value in db.session.execute(select(PartParam.part_id, PartParam.name, PartParam.value)
                                                   .where(one_of(PartParam.part_id, chunk))):
            have.setdefault(pid, {})[name] = value
    differ = [pid for pid, params in wanted.items() if have.get(pid, {}) != params]
    touched.update(differ)
    for chunk in chunks(differ):
        db.session.execute(delete(PartParam).where(one_of(PartParam.part_id, chunk)))
    rows = [{"part_id": pid, "name": k, "value": v} for pid in differ for k, v in wanted[pid].items()]
    if rows:
        insert_rows(PartParam.__table__, rows)


def _offers(part_ids: list[int]) -> dict[int, dict]:
    """part id → its catalog offer (lowest product id) with its breaks."""
    offers: dict[int, dict] = {}
    for chunk in chunks(part_ids):
        for row in db.session.execute(select(Product.id, Product.part_id, Product.stock, Product.moq,
                                             Product.order_multiple, Product.price_fen)
                                      .where(one_of(Product.part_id, chunk)).order_by(Product.id)):
            offers.setdefault(row.part_id, {**row._asdict(), "breaks": []})
    by_product = {o["id"]: o for o in offers.values()}
    for chunk in chunks(sorted(by_product)):
        for pid, qty, price in db.session.execute(
                select(PriceBreakRow.product_id, PriceBreakRow.min_qty, PriceBreakRow.unit_price_micro)
                .where(one_of(PriceBreakRow.product_id, chunk))
                .order_by(PriceBreakRow.product_id, PriceBreakRow.min_qty)):
            by_product[pid]["breaks"].append((qty, price))
    return offers


def _write_products(rows: dict[tuple[str, int], Row], ids: dict) -> tuple[int, set[int]]:
    """(products made, part ids whose offer changed)."""
    by_part = {ids[key]: r for key, r in rows.items()}
    offers = _offers(sorted(by_part))
    copies = {ids[key]: search_columns.copied({"mpn_key": key[0], "brand_id": key[1], **r.part})
              for key, r in rows.items()}  # the part as written (an unchanged part equals its row)
    new = [{"title": (r.part["description"] or f"{r.mpn} {r.brand}")[:200], "brand": r.brand, "part_no": r.mpn,
            "part_id": pid, **copies[pid], "price_fen": rounded_fen(r.breaks[0].unit_price_micro), "stock": r.stock,
            "moq": r.moq, "order_multiple": r.order_multiple, "active": True}
           for pid, r in by_part.items() if pid not in offers]
    if new:
        insert_rows(Product.__table__, new)
        offers.update({pid: {**o, "breaks": None} for pid, o in _offers([n["part_id"] for n in new]).items()})
    changed, rebreak, changed_parts = [], [], set()
    for pid, r in by_part.items():
        offer = offers[pid]
        fields = {"stock": r.stock, "moq": r.moq, "order_multiple": r.order_multiple,
                  "price_fen": rounded_fen(r.breaks[0].unit_price_micro)}
        if any(offer[k] != v for k, v in fields.items()):
            changed.append({"id": offer["id"], **fields})
            changed_parts.add(pid)
        if offer["breaks"] != [(b.min_qty, b.unit_price_micro) for b in r.breaks]:
            rebreak.append((offer["id"], pid, r))
            changed_parts.add(pid)
    if changed:
        db.session.execute(update(Product), changed)
    for chunk in chunks(rebreak):
        db.session.execute(delete(PriceBreakRow).where(one_of(PriceBreakRow.product_id, [c[0] for c in chunk])))
    breaks = [{"product_id": product_id, "min_qty": b.min_qty, "unit_price_micro": b.unit_price_micro}
              for product_id, _, r in rebreak for b in r.breaks]
    if breaks:
        insert_rows(PriceBreakRow.__table__, breaks)
    return len(new), changed_parts


def write_rows(rows: list[Row]) -> dict:
    """Upsert a chunk of checked rows: {created, updated, unchanged} (a row is created when
    its part is new, updated when its part, parameters, product or breaks changed)."""
    if not rows:
        return {"created": 0, "updated": 0, "unchanged": 0}
    brand_of = catalog_parts.brand_ids({r.brand for r in rows})
    names = catalog_parts.brand_names(brand_of.values())
    keyed: dict[tuple[str, int], Row] = {}
    for r in rows:
        keyed[(r.key[0], brand_of[r.brand])] = r  # "FH" and "风华" in one file: the later row
    before = _existing_parts(set(keyed))
    ids, touched = _write_parts(keyed, names)
    _, offers_changed = _write_products(keyed, ids)
    created = sum(1 for key in keyed if key not in before)
    changed_ids = {ids[key] for key in keyed if key in before} & (touched | offers_changed)
    return {"created": created, "updated": len(changed_ids), "unchanged": len(keyed) - created - len(changed_ids)}



def analyze() -> None:
    """PostgreSQL: fresh statistics for the tables an import grew. A first import into
    empty tables otherwise plans its later chunks' lookups (IN lists of a thousand keys)
    for empty tables: sequential scans, five times slower (bench/catalog.py)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("ANALYZE parts, part_params, products, product_price_breaks"))

"""Supplier price lists: imported versions with an effective date, and the latest
price of a part from a supplier as of any date."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation import parts
from backend.reconciliation.imports import BATCH, Report, no_valid_rows, parse_upload, quote, safe_source, text
from backend.reconciliation.models import Price, PriceList, PurchaseOrder, PurchaseOrderLine
from backend.reconciliation.money import parse_price

COLUMNS = ("part_no", "brand", "unit_price")


def import_price_list(supplier_id: int, filename: str, data: bytes, effective_date: date,
                      currency: str | None = None) -> tuple[PriceList, Report]:
    """Good rows become a new version; bad rows are reported, and a file with no good
    row writes nothing (IMPORT_NO_VALID_ROWS)."""
    supplier, prices, report = check_rows(supplier_id, filename, data)
    if not prices:
        raise no_valid_rows(report)
    version = next_version(supplier.id)
    price_list = PriceList(supplier_id=supplier.id, version=version, effective_date=effective_date,
                           currency=currency or supplier.currency, source=safe_source(filename), rows=len(prices))
    try:
        with db.session.begin_nested():
            db.session.add(price_list)
    except IntegrityError as exc:  # another import took this version number first
        raise ApiError("CONFLICT", "Another price list import for this supplier is running; retry") from exc
    items = list(prices.items())
    for i in range(0, len(items), BATCH):  # bounded batches
        db.session.execute(insert(Price), [
            {"price_list_id": price_list.id, "supplier_id": supplier.id, "part_id": pid,
             "effective_date": effective_date, "version": version, "unit_price": price}
            for pid, price in items[i:i + BATCH]])
    return price_list, report


def next_version(supplier_id: int) -> int:
    return (db.session.scalar(select(func.max(PriceList.version)).where(PriceList.supplier_id == supplier_id))
            or 0) + 1


def check_rows(supplier_id: int, filename: str, data: bytes):
    """(supplier, part id -> price of the good rows, report): what an import would keep and
    refuse, row by row. Writes nothing (the preview and the import both call it)."""
    report = Report()
    rows = parse_upload(filename, data, COLUMNS, ("package", "description"), report)  # before any query
    supplier = parts.get_counterparty(supplier_id, "supplier")
    known = parts.part_ids({(text(r.get("part_no")), text(r.get("brand"))) for _, r in rows})
    prices: dict[int, Decimal] = {}
    for number, row in rows:
        key = (text(row.get("part_no")), text(row.get("brand")))
        if not key[0]:
            report.reject(number, "part_no", "empty", code="MISSING_VALUE")
            continue
        if key not in known:
            report.reject(number, "part_no", f"unknown part {quote(key[0])} / {quote(key[1])}", code="UNKNOWN_PART")
            continue
        try:
            price = parse_price(row.get("unit_price"))
        except ValueError as exc:
            report.reject(number, "unit_price", exc)
            continue
        if known[key] in prices:
            report.reject(number, "part_no", f"{quote(key[0])} / {quote(key[1])} appears twice", code="DUPLICATE_ROW")
            continue
        prices[known[key]] = price
    report.accepted = len(prices)
    return supplier, prices, report


def _ranked(query_cols, partition, order, where):
    rank = func.row_number().over(partition_by=partition, order_by=order).label("rank")
    return select(*query_cols, rank).where(*where).subquery()


def latest_list_prices(supplier_id: int, part_ids: set[int], as_of: date) -> dict[int, Decimal]:
    """part id -> the price of the newest list in force on ``as_of`` (later version wins a tie)."""
    found: dict[int, Decimal] = {}
    ids = sorted(part_ids)
    for i in range(0, len(ids), 1000):
        sub = _ranked((Price.part_id, Price.unit_price), Price.part_id,
                      (Price.effective_date.desc(), Price.version.desc()),
                      (Price.supplier_id == supplier_id, Price.part_id.in_(ids[i:i + 1000]),
                       Price.effective_date <= as_of))
        found.update(db.session.execute(select(sub.c.part_id, sub.c.unit_price).where(sub.c.rank == 1)).all())
    return found


def latest_po_prices(supplier_id: int, part_ids: set[int], as_of: date) -> dict[int, Decimal]:
    """part id -> the price on the supplier's most recent purchase order up to ``as_of``."""
    found: dict[int, Decimal] = {}
    ids = sorted(part_ids)
    for i in range(0, len(ids), 1000):
        sub = _ranked((PurchaseOrderLine.part_id, PurchaseOrderLine.unit_price), PurchaseOrderLine.part_id,
                      (PurchaseOrder.order_date.desc(), PurchaseOrder.id.desc(), PurchaseOrderLine.id.desc()),
                      (PurchaseOrderLine.po_id == PurchaseOrder.id, PurchaseOrder.supplier_id == supplier_id,
                       PurchaseOrderLine.part_id.in_(ids[i:i + 1000]), PurchaseOrder.order_date <= as_of))
        found.update(db.session.execute(select(sub.c.part_id, sub.c.unit_price).where(sub.c.rank == 1)).all())
    return found


def list_price_lists(supplier_id: int) -> list[PriceList]:
    parts.get_counterparty(supplier_id, "supplier")
    return db.session.scalars(select(PriceList).where(PriceList.supplier_id == supplier_id)
                              .order_by(PriceList.version.desc())).all()

"""The catalog import, part one: a distributor's export (CSV or XLSX) read into checked rows.

Columns (docs/catalog.md, "Import"): ``mpn``, ``manufacturer``, ``package``, ``stock``,
``price breaks`` required; ``value``, ``voltage``, ``tolerance``, ``dielectric``,
``power``, ``category``, ``description``, ``datasheet``, ``lifecycle``, ``moq``,
``multiple`` optional. The reading (encodings, XLSX, size limits, the report's shape) is
the reconciliation imports' (``reconciliation.imports``); a bad row goes to the report
with its row and column and the good ones are kept. Nothing here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from backend.catalog import values
from backend.catalog.keys import brand_key, mpn_key
from backend.catalog.models import LIFECYCLES
from backend.catalog.price_breaks import PriceBreak, check_breaks
from backend.import_refusals import Refused, code_of
from backend.reconciliation.imports import Report, parse_qty, read_table, text

REQUIRED = ("mpn", "brand", "package", "stock", "price_breaks")
OPTIONAL = ("value", "voltage", "tolerance", "dielectric", "power", "category", "description", "datasheet_url",
            "lifecycle", "moq", "order_multiple", "part_no")
HEADERS = {"manufacturer": "brand", "mfr": "brand", "price breaks": "price_breaks", "pricebreaks": "price_breaks",
           "price_breaks": "price_breaks", "阶梯价": "price_breaks", "datasheet": "datasheet_url",
           "multiple": "order_multiple", "spq": "order_multiple", "库存": "stock", "容值": "value", "阻值": "value",
           "耐压": "voltage", "精度": "tolerance", "材质": "dielectric", "功率": "power"}
_TIER = re.compile(r"^(\d+)\s*-\s*(\d*)\s*:\s*(-?[\d.]+)$")
MICRO = Decimal(1_000_000)


@dataclass
class Row:
    number: int
    mpn: str
    brand: str
    key: tuple[str, str]  # (mpn_key, brand_key)
    part: dict = field(default_factory=dict)  # the part's columns
    params: dict = field(default_factory=dict)  # part_params
    stock: int = 0
    moq: int = 1
    order_multiple: int = 1
    breaks: list[PriceBreak] = field(default_factory=list)


class Bad(Refused):
    """A refused row: the column at fault, the refusal's code and reason."""

    def __init__(self, column: str, code: str, reason: str):
        super().__init__(code, reason)
        self.column = column

    @classmethod
    def of(cls, column: str, exc: ValueError, quoted: str | None = None) -> Bad:
        return cls(column, code_of(exc), f"{exc}: {quoted[:40]!r}" if quoted is not None else str(exc))


def parse_breaks(cell: str) -> list[PriceBreak]:
    """``qFrom-qTo:price;...`` (the last ``qTo`` may be empty) → breaks. Quantities must go
    up, tier after tier; prices are yuan with at most six decimals, never negative."""
    tiers = [t.strip() for t in str(cell or "").split(";") if t.strip()]
    if not tiers:
        raise Refused("MISSING_VALUE" if not str(cell or "").strip() else "BAD_PRICE_BREAKS",
                      "no price break (qFrom-qTo:price;...)")
    out: list[PriceBreak] = []
    last_to = 0
    for tier in tiers:
        found = _TIER.match(tier.replace(" ", ""))
        if not found:
            raise Refused("BAD_PRICE_BREAKS", f"not a tier: {tier!r} (qFrom-qTo:price)")
        q_from, q_to = int(found[1]), int(found[2]) if found[2] else None
        try:
            price = Decimal(found[3])
        except InvalidOperation as exc:
            raise Refused("BAD_PRICE_BREAKS", f"not a price: {found[3]!r}") from exc
        if price < 0:
            raise Refused("NEGATIVE_PRICE", f"negative price in {tier!r}")
        if price.as_tuple().exponent < -6:
            raise Refused("TOO_MANY_DECIMALS", f"more than six decimals in {tier!r}")
        if q_from < 1 or (q_to is not None and q_to < q_from):
            raise Refused("BREAKS_GO_DOWN", f"tier {tier!r} goes down in quantity")
        if out and q_from <= last_to:
            raise Refused("BREAKS_GO_DOWN", f"tier {tier!r} goes down in quantity (the previous one reaches {last_to})")
        out.append(PriceBreak(q_from, int(price * MICRO)))
        last_to = q_to if q_to is not None else 10**12
    return out


def _typed(record: dict, category: str) -> tuple[dict, dict]:
    """The typed columns and free parameters of a row, by category."""
    part: dict = {"capacitance_ff": None, "voltage_mv": None, "dielectric": None, "tolerance": None,
                  "resistance_mohm": None, "power_mw": None}
    params: dict = {}
    value = text(record.get("value"))
    if category == "mlcc" and value:
        part["capacitance_ff"] = _cell("value", values.capacitance_ff, value)
    elif category == "chip_resistor" and value:
        part["resistance_mohm"] = _cell("value", values.resistance_mohm, value)
    elif value:
        params["value"] = value[:100]
    for column, parse, target in (("voltage", values.voltage_mv, "voltage_mv"),
                                  ("tolerance", values.tolerance, "tolerance"),
                                  ("dielectric", values.dielectric, "dielectric"),
                                  ("power", values.power_mw, "power_mw")):
        cell = text(record.get(column))
        if cell:
            part[target] = _cell(column, parse, cell)
    return part, params


def _cell(column: str, parse, cell: str):
    try:
        return parse(cell)
    except ValueError as exc:
        raise Bad.of(column, exc, cell) from exc


def _category(record: dict) -> str:
    given = text(record.get("category")).lower().replace(" ", "_")
    if given:
        return {"capacitor": "mlcc", "resistor": "chip_resistor", "电容": "mlcc", "电阻": "chip_resistor"}.get(
            given, given[:32])
    value = text(record.get("value"))
    if text(record.get("dielectric")) or value.upper().endswith("F"):
        return "mlcc"
    try:
        values.resistance_mohm(value)
        return "chip_resistor"
    except ValueError:
        return "other"


def _whole(record: dict, column: str, default: int | None = None, least: int = 0) -> int:
    cell = record.get(column)
    if text(cell) == "":
        if default is None:
            raise Bad(column, "MISSING_VALUE", "missing")
        return default
    try:
        number = parse_qty(cell)
    except ValueError as exc:
        raise Bad.of(column, exc) from exc
    if number < least:
        raise Bad(column, "TOO_SMALL", f"below {least}")
    return number


def check_row(number: int, record: dict) -> Row:
    mpn = text(record.get("mpn")) or text(record.get("part_no"))
    if not mpn or len(mpn) > 64:
        raise Bad("mpn", *(("MISSING_VALUE", "missing") if not mpn else ("TOO_LONG", "longer than 64 characters")))
    brand = text(record.get("brand"))
    if not brand or len(brand) > 64:
        raise Bad("manufacturer",
                  *(("MISSING_VALUE", "missing") if not brand else ("TOO_LONG", "longer than 64 characters")))
    if not text(record.get("package")):
        raise Bad("package", "MISSING_VALUE", "missing")
    package = _cell("package", values.package, text(record.get("package")))
    category = _category(record)
    typed, params = _typed(record, category)
    lifecycle = text(record.get("lifecycle")).lower() or "active"
    if lifecycle not in LIFECYCLES:
        raise Bad("lifecycle", "UNKNOWN_LIFECYCLE", f"one of {', '.join(LIFECYCLES)}")
    stock = _whole(record, "stock")
    multiple = _whole(record, "order_multiple", 1, least=1)
    try:
        breaks = parse_breaks(record.get("price_breaks"))
    except ValueError as exc:
        raise Bad.of("price breaks", exc) from exc
    moq = _whole(record, "moq", breaks[0].min_qty, least=1)
    try:
        check_breaks(breaks, moq, multiple)
    except ValueError as exc:
        raise Bad.of("price breaks", exc) from exc
    part = {"category": category, "package": package, "description": text(record.get("description"))[:500],
            "datasheet_url": text(record.get("datasheet_url"))[:500] or None, "lifecycle": lifecycle, **typed}
    return Row(number, mpn, brand, (mpn_key(mpn), brand_key(brand)), part, params, stock, moq, multiple, breaks)


def read_catalog(filename: str, data: bytes) -> tuple[list[Row], Report]:
    """The file's good rows (a later row for the same part is refused as a duplicate)
    and the report of the rest. IMPORT_UNREADABLE / IMPORT_BAD_COLUMNS for a file that
    cannot be read at all."""
    report = Report()
    table = read_table(filename, data, REQUIRED, OPTIONAL, report, headers=HEADERS)
    rows: list[Row] = []
    seen: dict[tuple[str, str], int] = {}
    for number, record in table:
        try:
            row = check_row(number, record)
        except Bad as exc:
            report.reject(number, exc.column, exc)
            continue
        if row.key in seen:
            report.reject(number, "mpn", f"the same part as row {seen[row.key]}", code="DUPLICATE_ROW")
            continue
        seen[row.key] = number
        rows.append(row)
    report.accepted = len(rows)
    return rows, report

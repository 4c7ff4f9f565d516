"""Reading CSV and XLSX uploads into rows, with a row-level report.

A file that cannot be read, or lacks a required column, is refused whole with a
clear code; otherwise every row is checked by the caller and the bad ones are
listed (row, column, reason) while the good ones are kept.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from itertools import islice

from backend.errors import ApiError

# Headers as finance staff write them, Chinese included, mapped to our names.
ALIASES = {
    "型号": "part_no", "料号": "part_no", "part": "part_no", "part number": "part_no", "partno": "part_no",
    "品牌": "brand", "manufacturer": "brand",
    "封装": "package", "描述": "description",
    "单价": "unit_price", "price": "unit_price", "unit price": "unit_price",
    "数量": "qty", "quantity": "qty",
    "单号": "number", "document": "number", "doc_number": "number",
    "日期": "date", "doc_date": "date",
    "客户编码": "customer_code", "customer": "customer_code",
    "币种": "currency", "金额": "amount",
}
MAX_ROWS = 200_000


@dataclass
class Report:
    rows: int = 0
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)

    def reject(self, row: int, column: str, reason: str) -> None:
        self.rejected.append({"row": row, "column": column, "reason": reason})

    def to_dict(self) -> dict:
        return {"rows": self.rows, "accepted": self.accepted, "rejected": self.rejected}


def _header(name) -> str:
    text = str(name or "").strip().lower().replace("_", " ")
    return ALIASES.get(text, ALIASES.get(str(name or "").strip(), text.replace(" ", "_")))


def _xlsx_rows(data: bytes):
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        yield from book.worksheets[0].iter_rows(values_only=True)
    finally:
        book.close()


def _csv_rows(data: bytes):
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("not UTF-8 or GB18030 text")
    if "\x00" in text:
        raise ValueError("binary data")
    yield from csv.reader(io.StringIO(text))


def read_table(filename: str, data: bytes, required: tuple[str, ...], optional: tuple[str, ...] = ()):
    """(row number, {column: value}) for each non-empty row; row 1 is the header."""
    is_xlsx = data[:4] == b"PK\x03\x04"
    try:
        # stop one row past the limit: a small zipped sheet can unpack to millions of rows
        rows = list(islice(_xlsx_rows(data) if is_xlsx else _csv_rows(data), MAX_ROWS + 2))
    except Exception as exc:  # a broken zip, XML or encoding: one clear answer for all
        kind = "XLSX" if is_xlsx else "CSV"
        raise ApiError("IMPORT_UNREADABLE", f"{filename or 'the file'} is not a readable {kind} file: {exc}") from exc
    if not rows:
        raise ApiError("IMPORT_UNREADABLE", "The file is empty")
    if len(rows) > MAX_ROWS + 1:
        raise ApiError("IMPORT_UNREADABLE", f"At most {MAX_ROWS} rows per file")
    columns = [_header(name) for name in rows[0]]
    missing = [name for name in required if name not in columns]
    if missing:
        raise ApiError("IMPORT_BAD_COLUMNS", f"Missing column(s): {', '.join(missing)}",
                       details={"missing": missing, "found": [str(c) for c in rows[0]],
                                "expected": list(required) + list(optional)})
    wanted = set(required) | set(optional)
    out = []
    for number, values in enumerate(rows[1:], start=2):
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        record = {col: values[i] if i < len(values) else None for i, col in enumerate(columns) if col in wanted}
        out.append((number, record))
    return out


def text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_qty(value) -> int:
    try:
        number = Decimal(text(value).replace(",", ""))
    except InvalidOperation as exc:
        raise ValueError("not a number") from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise ValueError("not a whole number")
    return int(number)


def parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(text(value).replace("/", "-"))
    except ValueError as exc:
        raise ValueError("not a date (YYYY-MM-DD)") from exc

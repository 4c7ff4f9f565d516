"""Reading CSV and XLSX uploads into rows, with a row-level report.

A file that cannot be read, or lacks a required column, is refused whole with a
clear code; otherwise every row is checked by the caller and the bad ones are
listed (row, column, reason) while the good ones are kept.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from backend.errors import ApiError
from backend.extensions import db
from backend.import_refusals import Refused, code_of
from backend.transactions import commit_before_remote_call

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
MAX_CELL = 4096  # characters in one cell; a larger one is refused as such (row, column)
MAX_LISTED = 200  # rejected rows listed in a report; the rest are counted
QUOTED = 64  # characters of a bad value a report quotes
BATCH = 1000  # rows per INSERT when an import is written
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def has_control(value: str) -> bool:
    return bool(_CONTROL.search(value))


def safe_source(filename: str) -> str:
    """An uploaded file's name as we keep it: no control characters, at most 200."""
    return _CONTROL.sub("_", filename or "")[:200]


def quote(value) -> str:
    """A bad value as a report quotes it: its first 64 characters, ``…`` if there is more."""
    shown = text(value) if not isinstance(value, str) else value.strip()
    return shown if len(shown) <= QUOTED else shown[:QUOTED] + "…"


def _short(value, limit: int = 200) -> str:
    shown = str(value)
    return shown if len(shown) <= limit else shown[:limit] + "…"


@dataclass
class Report:
    """What became of a file's rows. At most ``MAX_LISTED`` rejected rows are listed,
    ``rejected_total`` counts them all (``rejected_not_listed`` the ones left out)."""

    rows: int = 0
    accepted: int = 0
    rejected: list[dict] = field(default_factory=list)
    rejected_total: int = 0

    def reject(self, row: int, column: str, reason: str | ValueError, code: str | None = None) -> None:
        """A refused row: ``reason`` a text or the ``Refused`` that says it (and its code)."""
        self.rejected_total += 1
        if len(self.rejected) < MAX_LISTED:
            self.rejected.append({"row": row, "column": _short(column, QUOTED), "code": code or code_of(reason),
                                  "reason": _short(reason, 300)})

    def to_dict(self) -> dict:
        return {"rows": self.rows, "accepted": self.accepted, "rejected": self.rejected,
                "rejected_total": self.rejected_total,
                "rejected_not_listed": self.rejected_total - len(self.rejected)}


def no_valid_rows(report: Report):
    """The answer to a file with no usable row: the report in ``error.details`` as before
    (``rows``, ``accepted``, ``rejected``, …) and, in the shape of an accepted import's
    answer, under ``error.details.report``."""
    found = report.to_dict()
    return ApiError("IMPORT_NO_VALID_ROWS", "No row of the file could be used", details={**found, "report": found})


def _header(name, aliases: dict | None = None) -> str:
    text = str(name or "").strip().lower().replace("_", " ")
    known = {**ALIASES, **(aliases or {})}
    return known.get(text, known.get(str(name or "").strip(), text.replace(" ", "_")))


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


def _unreadable(filename: str, kind: str, exc: Exception) -> ApiError:
    return ApiError("IMPORT_UNREADABLE",
                    f"{_short(filename or 'the file', 100)} is not a readable {kind} file: {_short(exc)}")


def read_table(filename: str, data: bytes, required: tuple[str, ...], optional: tuple[str, ...] = (),
               report: Report | None = None, headers: dict | None = None):
    """(row number, {column: value}) for each non-empty row; row 1 is the header.

    Streams the file and stops at the first row past ``MAX_ROWS`` (a small zipped sheet
    can unpack to millions of rows): refused at once. A row with a cell over
    ``MAX_CELL`` characters goes to ``report`` as "cell too large" and is left out.
    Touches no database: callers parse before their first query (see ``parse_upload``).
    ``headers`` adds header aliases of the caller's (the catalog import's) to ``ALIASES``."""
    is_xlsx = data[:4] == b"PK\x03\x04"
    kind = "XLSX" if is_xlsx else "CSV"
    report = report if report is not None else Report()
    stream = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    out = []
    try:
        head = next(stream, None)
        if head is None:
            raise ApiError("IMPORT_UNREADABLE", "The file is empty")
        columns = [_header(name, headers) for name in head]
        missing = [name for name in required if name not in columns]
        if missing:
            raise ApiError("IMPORT_BAD_COLUMNS", f"Missing column(s): {', '.join(missing)}",
                           details={"missing": missing, "found": [_short(c, QUOTED) for c in head[:100]],
                                    "expected": list(required) + list(optional)})
        wanted = [(i, col) for i, col in enumerate(columns) if col in set(required) | set(optional)]
        for number, values in enumerate(stream, start=2):
            if number > MAX_ROWS + 1:
                raise ApiError("IMPORT_UNREADABLE", f"At most {MAX_ROWS} rows per file",
                               details={"max_rows": MAX_ROWS})
            if values is None or all(v is None or str(v).strip() == "" for v in values):
                continue
            report.rows += 1
            record = {col: values[i] if i < len(values) else None for i, col in wanted}
            large = next((col for col, v in record.items() if isinstance(v, str) and len(v) > MAX_CELL), None)
            if large:
                report.reject(number, large, f"cell too large ({len(record[large])} characters, at most {MAX_CELL})",
                              code="CELL_TOO_LARGE")
                continue
            out.append((number, record))
    except ApiError:
        raise
    except Exception as exc:  # a broken zip, XML or encoding: one clear answer for all
        raise _unreadable(filename, kind, exc) from exc
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()
    return out


def parse_upload(filename: str, data: bytes, required: tuple[str, ...], optional: tuple[str, ...] = (),
                 report: Report | None = None):
    """``read_table`` outside any transaction: the request's transaction so far (the
    admin check's read) ends first, so parsing a large file holds no lock (on SQLite
    every transaction holds the database's write lock) and the database writes come
    after the parse, in a transaction of their own."""
    if db.session().in_transaction():
        commit_before_remote_call()
    return read_table(filename, data, required, optional, report)


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
        raise Refused("NOT_A_NUMBER", "not a number") from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise Refused("NOT_A_WHOLE_NUMBER", "not a whole number")
    return int(number)


def parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(text(value).replace("/", "-"))
    except ValueError as exc:
        raise Refused("NOT_A_DATE", "not a date (YYYY-MM-DD)") from exc

"""A statement as XLSX, CSV or PDF, one file per counterparty and version.

Every file says inside whose it is: XLSX in its custom document properties, CSV in
its first line (PDF in its metadata). ``read_marker`` reads that back, so the
sender can check a file against the recipient it is about to go to.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import uuid
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from sqlalchemy import select, update

from backend.cells import text_cell
from backend.extensions import db
from backend.reconciliation.models import Counterparty, Document, Part, Statement, StatementExport
from backend.reconciliation.money import cents_text, price_text
from backend.reconciliation.statements import lines_of, totals

HEADER = ["日期 Date", "单号 Document", "型号 Part no", "品牌 Brand", "数量 Qty", "单价 Unit price",
          "金额 Amount", "币种 Currency", "行号 Line id"]
MARK = "fission-statement"
CONTENT_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 "csv": "text/csv", "pdf": "application/pdf"}


def line_rows(statement: Statement, version: int, page: int | None = None, per_page: int = 100):
    """The frozen lines with their document number and part, in date order, streamed."""
    lines = lines_of(statement, version)
    query = (select(lines.doc_date, Document.number, Part.part_no, Part.brand, lines.qty,
                    lines.unit_price, lines.amount_cents, lines.currency, lines.document_line_id)
             .join(Document, Document.id == lines.document_id)
             .join(Part, Part.id == lines.part_id)
             .where(lines.statement_id == statement.id, lines.version == version)
             .order_by(lines.doc_date, lines.document_line_id))
    if page is not None:
        return db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    return db.session.execute(query.execution_options(yield_per=5000))


_UNSAFE = re.compile(r"[\\/:*?\"<>|\s\x00-\x1f\x7f-\x9f]+")  # path separators, quotes, controls
_NOT_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _safe(part: str, limit: int) -> str:
    return _UNSAFE.sub("_", part or "").strip("_.")[:limit]


def file_name(statement: Statement, cp: Counterparty, fmt: str) -> str:
    """Named for the counterparty: code, name, statement number, version. Its safe form:
    no path separators, quotes, blanks or control characters (a name with NUL or DEL
    makes no path and no header)."""
    parts = [p for p in (_safe(cp.code, 32), _safe(cp.name, 60), _safe(statement.number, 64)) if p]
    return f"{'_'.join(parts)}_v{statement.version}.{fmt}"


def ascii_file_name(statement: Statement, cp: Counterparty, fmt: str) -> str:
    """The ASCII fallback of a download's name (``filename=``): code and statement number,
    e.g. ``SUPA_AP-20261130-SUPA_v1.xlsx``; the full name goes in ``filename*``."""
    parts = [p for p in (_NOT_ASCII_SAFE.sub("_", cp.code or "").strip("_."),
                         _NOT_ASCII_SAFE.sub("_", statement.number or "").strip("_.")) if p]
    return f"{'_'.join(parts) or 'statement'}_v{statement.version}.{fmt}"


def content_disposition(statement: Statement, cp: Counterparty, fmt: str) -> str:
    """``attachment; filename="<ASCII fallback>"; filename*=UTF-8''<the full name>`` (RFC 5987)."""
    from urllib.parse import quote

    return (f'attachment; filename="{ascii_file_name(statement, cp, fmt)}"; '
            f"filename*=UTF-8''{quote(file_name(statement, cp, fmt), safe='')}")


def unsendable(cp: Counterparty) -> str | None:
    """Why a statement of this counterparty must not be mailed: a control character in its
    code, name or e-mail (refused at the door; a row written past it would break the
    message's headers), or None."""
    for label, value in (("code", cp.code), ("name", cp.name), ("e-mail", cp.email)):
        if _CONTROL.search(value or ""):
            return f"the counterparty's {label} contains control characters: correct it and send again"
    return None


def _marker(statement: Statement, cp: Counterparty) -> dict:
    return {"statement_id": str(statement.id), "number": statement.number, "version": str(statement.version),
            "counterparty_code": cp.code}


def _write_xlsx(path: Path, statement: Statement, cp: Counterparty) -> None:
    from backend.reconciliation.xlsx_stream import BOLD, MONEY, PRICE, SheetWriter

    sums = totals(statement.id, statement.version)  # before the line stream opens: one cursor at a time
    properties = {f"{MARK}-{key}": value for key, value in _marker(statement, cp).items()}
    with SheetWriter(path, "对账单", f"对账单 {statement.number}", properties) as out:
        out.row(["对账单 Statement", statement.number], BOLD)
        out.row(["对方 Counterparty", cp.code, cp.name])
        out.row(["期间 Period", str(statement.period_start), str(statement.period_end),
                 f"version {statement.version}"])
        out.row([])
        out.row(HEADER, BOLD)
        for day, number, part_no, brand, qty, price, cents, currency, line_id in line_rows(statement,
                                                                                            statement.version):
            out.row([day, number, part_no, brand, qty, (price_text(price), PRICE), (cents_text(cents), MONEY),
                     currency, line_id])
        out.row([])
        for total in sums:
            out.row(["合计 Total", total["currency"], f"{total['lines']} lines", None, None, None,
                     (cents_text(total["amount_cents"]), MONEY)], BOLD)


def _write_csv(path: Path, statement: Statement, cp: Counterparty) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:  # the BOM makes Excel read UTF-8
        out = csv.writer(fh)
        out.writerow([MARK] + [f"{k}={v}" for k, v in _marker(statement, cp).items()])
        out.writerow(HEADER)
        for day, number, part_no, brand, qty, price, cents, currency, line_id in line_rows(statement,
                                                                                            statement.version):
            out.writerow([day.isoformat(), text_cell(number), text_cell(part_no), text_cell(brand), qty,
                          price_text(price), cents_text(cents), currency, line_id])
        for total in totals(statement.id, statement.version):
            out.writerow(["合计 Total", total["currency"], f"{total['lines']} lines", "", "", "",
                          cents_text(total["amount_cents"]), total["currency"], ""])


def _write_pdf(path: Path, statement: Statement, cp: Counterparty) -> None:
    from backend.reconciliation.pdf import write_pdf

    sums = totals(statement.id, statement.version)  # before the line stream opens: one cursor at a time
    write_pdf(path, statement, cp, _marker(statement, cp), line_rows(statement, statement.version), sums)


WRITERS = {"xlsx": _write_xlsx, "csv": _write_csv, "pdf": _write_pdf}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _intact(statement: Statement, fmt: str) -> StatementExport | None:
    existing = db.session.scalar(select(StatementExport).where(
        StatementExport.statement_id == statement.id, StatementExport.version == statement.version,
        StatementExport.fmt == fmt).order_by(StatementExport.id.desc()).limit(1))
    if existing and Path(existing.path).is_file() and sha256(Path(existing.path)) == existing.sha256:
        return existing
    return None


def export(statement: Statement, fmt: str, directory: Path) -> StatementExport:
    """Write (or reuse, if intact) the file of the statement's current version. The
    caller commits soon after: until then it holds the statement's row lock.

    Two senders of one run may export the same statement at once. Each first takes the
    statement's row (a no-op UPDATE: a row lock on PostgreSQL and MySQL, the write lock
    on SQLite) and only then looks for a file, so the second one reuses the first one's
    file instead of rewriting it under the first one's recorded hash; the file is
    written aside and moved into place, so no reader sees half of it."""
    db.session.execute(update(Statement).where(Statement.id == statement.id).values(id=Statement.id)
                       .execution_options(synchronize_session=False))
    found = _intact(statement, fmt)
    if found:
        return found
    cp = db.session.get(Counterparty, statement.counterparty_id)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / file_name(statement, cp, fmt)
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
    try:
        WRITERS[fmt](aside, statement, cp)
        digest = sha256(aside)
        os.replace(aside, path)
    finally:
        aside.unlink(missing_ok=True)
    row = StatementExport(statement_id=statement.id, version=statement.version, fmt=fmt,
                          counterparty_id=cp.id, path=str(path), sha256=digest)
    db.session.add(row)
    db.session.flush()
    return row


def read_marker(path: Path) -> dict:
    """What the file says about itself; {} when it says nothing we can read."""
    try:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as archive:
                root = ElementTree.fromstring(archive.read("docProps/custom.xml"))  # noqa: S314 - our own export
            found = {}
            for prop in root:
                name = prop.get("name", "")
                if name.startswith(f"{MARK}-") and len(prop):
                    found[name[len(MARK) + 1:]] = prop[0].text or ""
            return found
        if path.suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as fh:
                first = next(csv.reader(fh))
            if first and first[0] == MARK:
                return dict(item.split("=", 1) for item in first[1:])
    except (OSError, KeyError, zipfile.BadZipFile, ElementTree.ParseError, StopIteration, ValueError):
        return {}
    return {}

"""Differences between a counterparty's own statement and ours, marked resolved with a note.

The comparison itself is not stored (``supplier_diff`` recomputes it from the file);
a resolution names its difference by kind and ``ref`` and belongs to the statement's
version, so a regenerated statement starts with none resolved."""

from __future__ import annotations

from sqlalchemy import select

from backend.extensions import db
from backend.reconciliation.models import StatementEvent, SupplierDiffResolution
from backend.reconciliation.workflow import get_statement
from backend.timeutil import utcnow


def resolve(statement_id: int, kind: str, ref: str, note: str, admin_id: int | None) -> SupplierDiffResolution:
    """Resolve (or change the note of) one difference of the current version."""
    statement = get_statement(statement_id)
    found = db.session.scalar(select(SupplierDiffResolution).where(
        SupplierDiffResolution.statement_id == statement.id, SupplierDiffResolution.version == statement.version,
        SupplierDiffResolution.kind == kind, SupplierDiffResolution.ref == ref))
    if found is None:
        found = SupplierDiffResolution(statement_id=statement.id, version=statement.version, kind=kind, ref=ref)
        db.session.add(found)
    found.note, found.admin_id, found.created_at = note, admin_id, utcnow()
    line_id = int(ref) if kind != "only_theirs" and ref.isdigit() else None
    db.session.add(StatementEvent(statement_id=statement.id, action="resolve", admin_id=admin_id,
                                  document_line_id=line_id, note=f"{kind} {ref}: {note}"[:2000]))
    db.session.flush()
    return found


def resolutions(statement_id: int, version: int | None) -> dict:
    statement = get_statement(statement_id)
    version = version or statement.version
    items = db.session.scalars(select(SupplierDiffResolution).where(
        SupplierDiffResolution.statement_id == statement.id, SupplierDiffResolution.version == version)
        .order_by(SupplierDiffResolution.id)).all()
    return {"version": version, "items": items}

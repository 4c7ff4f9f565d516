"""Statement runs as the finance console lists them: the runs (paged, filtered), the
totals per currency of the statements a run made, and a whole run's files in one zip."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from sqlalchemy import and_, func, select

from backend.extensions import db
from backend.reconciliation import exports
from backend.reconciliation.models import Counterparty, Statement, StatementRun, StatementTotal
from backend.reconciliation.runs import get_run
from backend.reconciliation.sending import export_dir


def list_runs(args: dict) -> dict:
    query = select(StatementRun).order_by(StatementRun.id.desc())
    for key in ("side", "cycle", "month", "state"):
        if args.get(key):
            query = query.where(getattr(StatementRun, key) == args[key])
    page, per_page = args["page"], args["per_page"]
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def run_totals(run_id: int) -> dict:
    """Per currency: statements, lines and amount of the live statements of the run
    (their current versions), and the statements per state."""
    get_run(run_id)
    rows = db.session.execute(
        select(StatementTotal.currency, func.count(StatementTotal.statement_id).label("statements"),
               func.sum(StatementTotal.lines).label("lines"), func.sum(StatementTotal.amount_cents).label("cents"))
        .join(Statement, and_(Statement.id == StatementTotal.statement_id,
                              Statement.version == StatementTotal.version))
        .where(Statement.run_id == run_id, Statement.live == 1)
        .group_by(StatementTotal.currency).order_by(StatementTotal.currency)).all()
    states = db.session.execute(select(Statement.state, func.count()).where(Statement.run_id == run_id)
                                .group_by(Statement.state).order_by(Statement.state)).all()
    return {"run_id": run_id,
            "currencies": [{"currency": r.currency, "statements": r.statements, "lines": int(r.lines or 0),
                            "amount_cents": int(r.cents or 0)} for r in rows],
            "states": [{"state": s, "statements": n} for s, n in states]}


def run_zip(run_id: int, fmt: str):
    """One file per live statement of the run (each named for its counterparty) in a zip,
    in a temporary file the caller sends and closes. Returns (handle, download name)."""
    run = get_run(run_id)
    statements = db.session.scalars(select(Statement).where(Statement.run_id == run_id, Statement.live == 1)
                                    .order_by(Statement.number)).all()
    handle = tempfile.NamedTemporaryFile(suffix=".zip")  # noqa: SIM115 - the caller sends and closes it
    folder = export_dir() / "downloads"
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for statement in statements:
            cp = db.session.get(Counterparty, statement.counterparty_id)
            row = exports.export(statement, fmt, folder)
            archive.write(Path(row.path), exports.file_name(statement, cp, fmt))
    handle.flush()
    handle.seek(0)
    return handle, f"statement-run-{run.id}-{run.side}-{run.cycle}-{run.month}-{fmt}.zip"

"""Finance: statement runs (generate, progress, send, delivery log) and statements."""

from __future__ import annotations

from pathlib import Path

from flask import g, send_file
from sqlalchemy import select

from backend.errors import ApiError
from backend.extensions import db
from backend.reconciliation import exports, jobs, sending, supplier_diff, workflow
from backend.reconciliation import schemas as s
from backend.reconciliation import statements as engine
from backend.reconciliation.admin_api import blp, columns, finance
from backend.reconciliation.models import Delivery, Statement
from backend.reconciliation.money import cents_text, price_text


def _run_out(run, job_id: str | None = None) -> dict:
    return {**columns(run), "job_id": job_id} if job_id else run


@blp.post("/reconciliation/statement-runs")
@finance
@blp.arguments(s.RunArgs)
@blp.response(202, s.RunSchema)
def start_run(args):
    """Generate a cycle's statements for the periods ending in ``month`` (Asia/Shanghai),
    one per counterparty with open lines, as a background job. Running again adds nothing
    that is already on a statement; progress shows in GET .../statement-runs/{id}."""
    run = jobs.open_run(args["side"], args["cycle"], args["month"])
    run.state = "queued"
    db.session.commit()
    return _run_out(run, jobs.enqueue("generate", run.id))


@blp.get("/reconciliation/statement-runs/<int:run_id>")
@finance
@blp.response(200, s.RunSchema)
def get_run(run_id):
    return _run_out(jobs.get_run(run_id))


@blp.post("/reconciliation/statement-runs/<int:run_id>/send")
@finance
@blp.response(202, s.RunSchema)
def send_run(run_id):
    """Export each statement of the run to XLSX (one file per counterparty, named for it) and
    mail it to each recipient. A re-run sends only what has not gone out; the run is
    ``done`` only when every recipient has its file."""
    run = jobs.get_run(run_id)
    jobs.check_sendable(run)
    return _run_out(run, jobs.enqueue("send", run.id))


@blp.get("/reconciliation/statement-runs/<int:run_id>/deliveries")
@finance
@blp.response(200, s.DeliveryLogSchema(many=True))
def run_deliveries(run_id):
    """The delivery log: one row per statement version and recipient, for every
    statement of the run (also those settled or voided since: the log is history)."""
    jobs.get_run(run_id)
    of_run = select(Statement.id).where(Statement.run_id == run_id)
    return db.session.scalars(select(Delivery).where(Delivery.statement_id.in_(of_run))
                              .order_by(Delivery.statement_id, Delivery.version, Delivery.recipient)).all()


@blp.get("/reconciliation/statements")
@finance
@blp.arguments(s.StatementListArgs, location="query")
@blp.response(200, s.StatementPage)
def list_statements(args):
    return workflow.list_statements(args)


@blp.get("/reconciliation/statements/<int:statement_id>")
@finance
@blp.response(200, s.StatementSchema)
def get_statement(statement_id):
    return workflow.describe(workflow.get_statement(statement_id))


@blp.get("/reconciliation/statements/<int:statement_id>/lines")
@finance
@blp.arguments(s.StatementLinesArgs, location="query")
def statement_lines(args, statement_id):
    """The frozen lines of a version (default: the current one)."""
    statement = workflow.get_statement(statement_id)
    version = args.get("version") or statement.version
    rows = exports.line_rows(statement, version, args["page"], args["per_page"])
    items = [{"document_line_id": line_id, "doc_date": day.isoformat(), "document": number, "part_no": part_no,
              "brand": brand, "qty": qty, "unit_price": price_text(price), "amount": cents_text(cents),
              "amount_cents": cents, "currency": currency}
             for day, number, part_no, brand, qty, price, cents, currency, line_id in rows]
    totals = engine.totals(statement.id, version)
    return {"items": items, "page": args["page"], "per_page": args["per_page"],
            "total": sum(t["lines"] for t in totals), "version": version, "totals": totals}


@blp.post("/reconciliation/statements/<int:statement_id>/transitions")
@finance
@blp.arguments(s.TransitionArgs)
@blp.response(200, s.StatementSchema)
def transition(args, statement_id):
    """draft → sent → confirmed | disputed (with ``notes`` per line) → settled; void; reopen a dispute."""
    statement = workflow.transition(statement_id, args["action"], g.admin.id, args.get("notes"), args["note"])
    db.session.commit()
    return workflow.describe(statement)


@blp.post("/reconciliation/statements/<int:statement_id>/regenerate")
@finance
def regenerate(statement_id):
    """A draft takes in newly open lines and current prices as a new version; returns the diff."""
    result = workflow.regenerate(statement_id, g.admin.id)
    db.session.commit()
    return _diff_out(result)


@blp.get("/reconciliation/statements/<int:statement_id>/diff")
@finance
@blp.arguments(s.DiffArgs, location="query")
def version_diff(args, statement_id):
    statement = workflow.get_statement(statement_id)
    return _diff_out(engine.diff(statement, args["from_version"], args["to_version"]))


def _diff_out(result: dict) -> dict:
    def clean(row: dict) -> dict:
        return {k: price_text(v) if "price" in k else v for k, v in row.items()}

    return {**result, **{k: [clean(r) for r in result[k]] for k in ("added", "removed", "changed")}}


@blp.get("/reconciliation/statements/<int:statement_id>/events")
@finance
def statement_events(statement_id):
    workflow.get_statement(statement_id)
    return {"items": [{"action": e.action, "document_line_id": e.document_line_id, "note": e.note,
                       "admin_id": e.admin_id, "created_at": e.created_at.isoformat()}
                      for e in workflow.events(statement_id)]}


@blp.get("/reconciliation/statements/<int:statement_id>/export")
@finance
@blp.arguments(s.ExportArgs, location="query")
def export_statement(args, statement_id):
    """The current version as XLSX, CSV or PDF (Chinese set in STSong-Light). Files are
    made of the current version only: ``version``, if given, must name it (earlier
    versions stay readable through ``…/lines?version=`` and ``…/diff``)."""
    statement = workflow.get_statement(statement_id)
    if args.get("version") not in (None, statement.version):
        raise ApiError("VALIDATION_ERROR", f"Only the current version ({statement.version}) is exported; "
                       f"read version {args['version']} through its lines", details={"field": "version"})
    row = exports.export(statement, args["format"], sending.export_dir() / "downloads")
    db.session.commit()
    path = Path(row.path)
    return send_file(path, as_attachment=True, download_name=path.name,
                     mimetype=exports.CONTENT_TYPES[args["format"]])


@blp.post("/reconciliation/statements/<int:statement_id>/supplier-statement")
@finance
@blp.arguments(s.FileUpload, location="files")
def compare_supplier_statement(files, statement_id):
    """Their statement (CSV/XLSX: number, part_no, qty, unit_price) against ours: lines only
    they have, only we have, and qty/price differences beyond the counterparty's tolerances."""
    upload = files["file"]
    return supplier_diff.diff_file(statement_id, upload.filename or "", upload.read())



"""Finance: statement runs (generate, progress, send, delivery log) and statements.

Routes on the blueprint of ``blueprint`` (``admin_api`` imports this module, so
registering ``admin_api.blp`` registers these too)."""

from __future__ import annotations

from flask import g, send_file

from backend.apidoc import errors
from backend.reconciliation import service
from backend.reconciliation import statement_schemas as s
from backend.reconciliation.blueprint import blp, finance
from backend.reconciliation.exports import CONTENT_TYPES
from backend.reconciliation.models import columns

IMPORT_ERRORS = ("IMPORT_UNREADABLE", "IMPORT_BAD_COLUMNS", "PAYLOAD_TOO_LARGE", "VALIDATION_ERROR")


def _run_out(run, job_id: str) -> dict:
    return {**columns(run), "job_id": job_id}


@blp.post("/reconciliation/statement-runs")
@finance
@blp.arguments(s.RunArgs)
@blp.response(202, s.RunSchema)
def start_run(args):
    """Generate a cycle's statements for the periods ending in ``month`` (Asia/Shanghai),
    one per counterparty with open lines, as a background job. Running again adds nothing
    that is already on a statement; progress shows in GET .../statement-runs/{id}."""
    return _run_out(*service.start_run(args["side"], args["cycle"], args["month"]))


@blp.get("/reconciliation/statement-runs/<int:run_id>")
@finance
@errors("STATEMENT_RUN_NOT_FOUND")
@blp.response(200, s.RunSchema)
def get_run(run_id):
    return service.get_run(run_id)


@blp.post("/reconciliation/statement-runs/<int:run_id>/send")
@finance
@errors("STATEMENT_RUN_NOT_FOUND", "STATEMENT_STATE_CONFLICT")
@blp.response(202, s.RunSchema)
def send_run(run_id):
    """Export each statement of the run to XLSX (one file per counterparty, named for it) and
    mail it to each recipient. A re-run sends only what has not gone out; the run is
    ``done`` only when every recipient has its file."""
    return _run_out(*service.start_sending(run_id))


@blp.get("/reconciliation/statement-runs/<int:run_id>/deliveries")
@finance
@errors("STATEMENT_RUN_NOT_FOUND")
@blp.response(200, s.DeliveryLogSchema(many=True))
def run_deliveries(run_id):
    """The delivery log: one row per statement version and recipient, for every
    statement of the run (also those settled or voided since: the log is history)."""
    return service.run_deliveries(run_id)


@blp.get("/reconciliation/statements")
@finance
@blp.arguments(s.StatementListArgs, location="query")
@blp.response(200, s.StatementPage)
def list_statements(args):
    return service.list_statements(args)


@blp.get("/reconciliation/statements/<int:statement_id>")
@finance
@errors("STATEMENT_NOT_FOUND")
@blp.response(200, s.StatementSchema)
def get_statement(statement_id):
    return service.statement(statement_id)


@blp.get("/reconciliation/statements/<int:statement_id>/lines")
@finance
@errors("STATEMENT_NOT_FOUND")
@blp.arguments(s.StatementLinesArgs, location="query")
@blp.response(200, s.StatementLinesPage)
def statement_lines(args, statement_id):
    """The frozen lines of a version (default: the current one)."""
    return service.statement_lines(statement_id, args.get("version"), args["page"], args["per_page"])


@blp.post("/reconciliation/statements/<int:statement_id>/transitions")
@finance
@errors("STATEMENT_NOT_FOUND", "STATEMENT_STATE_CONFLICT", "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(s.TransitionArgs)
@blp.response(200, s.StatementSchema)
def transition(args, statement_id):
    """draft → sent → confirmed | disputed (with ``notes`` per line) → settled; void; reopen a dispute.
    A dispute without notes, or with a line not on the statement, is 422 ``VALIDATION_ERROR``."""
    return service.transition(statement_id, args["action"], g.admin.id, args.get("notes"), args["note"])


@blp.post("/reconciliation/statements/<int:statement_id>/regenerate")
@finance
@errors("STATEMENT_NOT_FOUND", "STATEMENT_STATE_CONFLICT")
@blp.response(200, s.DiffSchema)
def regenerate(statement_id):
    """A draft takes in newly open lines and current prices as a new version; returns the diff."""
    return service.regenerate(statement_id, g.admin.id)


@blp.get("/reconciliation/statements/<int:statement_id>/diff")
@finance
@errors("STATEMENT_NOT_FOUND")
@blp.arguments(s.DiffArgs, location="query")
@blp.response(200, s.DiffSchema)
def version_diff(args, statement_id):
    return service.version_diff(statement_id, args["from_version"], args["to_version"])


@blp.get("/reconciliation/statements/<int:statement_id>/events")
@finance
@errors("STATEMENT_NOT_FOUND")
@blp.response(200, s.EventList)
def statement_events(statement_id):
    return service.statement_events(statement_id)


@blp.get("/reconciliation/statements/<int:statement_id>/export")
@finance
@errors("STATEMENT_NOT_FOUND", "VALIDATION_ERROR")
@blp.arguments(s.ExportArgs, location="query")
@blp.response(200, s.FILE, content_type=CONTENT_TYPES["xlsx"], description="format=xlsx (the default)")
@blp.alt_response(200, schema=s.FILE, content_type=CONTENT_TYPES["csv"], success=True, description="format=csv")
@blp.alt_response(200, schema=s.FILE, content_type=CONTENT_TYPES["pdf"], success=True, description="format=pdf")
def export_statement(args, statement_id):
    """The current version as XLSX, CSV or PDF (Chinese set in STSong-Light). Files are
    made of the current version only: ``version``, if given, must name it (earlier
    versions stay readable through ``…/lines?version=`` and ``…/diff``; another version
    is 422 ``VALIDATION_ERROR``)."""
    path, content_type, disposition = service.export_statement(statement_id, args["format"], args.get("version"))
    response = send_file(path, mimetype=content_type)
    response.headers["Content-Disposition"] = disposition  # ASCII fallback + filename* (RFC 5987)
    return response


@blp.post("/reconciliation/statements/<int:statement_id>/supplier-statement")
@finance
@errors("STATEMENT_NOT_FOUND", "STATEMENT_STATE_CONFLICT", *IMPORT_ERRORS)
@blp.arguments(s.FileUpload, location="files")
@blp.response(200, s.SupplierDiffSchema)
def compare_supplier_statement(files, statement_id):
    """Their statement (CSV/XLSX: number, part_no, qty, unit_price) against ours: lines only
    they have, only we have, and qty/price differences beyond the counterparty's tolerances."""
    upload = files["file"]
    return service.compare_supplier_statement(statement_id, upload.filename or "", upload.read())

"""Finance console endpoints: the statement runs list, a run's totals and files, resolved
differences of a counterparty's statement, and the receivables / payables aging.

Routes on the blueprint of ``blueprint`` (``admin_api`` imports this module)."""

from __future__ import annotations

from flask import g, send_file

from backend.apidoc import errors
from backend.reconciliation import console_schemas as s
from backend.reconciliation import service
from backend.reconciliation.blueprint import blp, finance
from backend.reconciliation.reports import XLSX
from backend.reconciliation.schemas import FILE


@blp.get("/reconciliation/statement-runs")
@finance
@blp.arguments(s.RunListArgs, location="query")
@blp.response(200, s.RunPage)
def list_runs(args):
    """The statement runs, newest first, filtered by side, cycle, month and state."""
    return service.list_runs(args)


@blp.get("/reconciliation/statement-runs/<int:run_id>/totals")
@finance
@errors("STATEMENT_RUN_NOT_FOUND")
@blp.response(200, s.RunTotals)
def run_totals(run_id):
    """Totals per currency of the live statements the run made, and their states."""
    return service.run_totals(run_id)


@blp.get("/reconciliation/statement-runs/<int:run_id>/export")
@finance
@errors("STATEMENT_RUN_NOT_FOUND")
@blp.arguments(s.RunExportArgs, location="query")
@blp.response(200, FILE, content_type="application/zip", description="one file per statement, in a zip")
def export_run(args, run_id):
    """Every live statement of the run as XLSX, CSV or PDF, one file each (named for its
    counterparty), in one zip."""
    handle, name = service.run_zip(run_id, args["format"])
    return send_file(handle, mimetype="application/zip", as_attachment=True, download_name=name)


@blp.post("/reconciliation/statements/<int:statement_id>/resolutions")
@finance
@errors("STATEMENT_NOT_FOUND", "VALIDATION_ERROR", "MALFORMED_JSON")
@blp.arguments(s.ResolveArgs)
@blp.response(201, s.ResolutionSchema)
def resolve_difference(args, statement_id):
    """Mark one difference with the counterparty's statement resolved, with a note (again:
    the note is replaced). Recorded in the statement's events too."""
    return service.resolve_difference(statement_id, args["kind"], args["ref"], args["note"], g.admin.id)


@blp.get("/reconciliation/statements/<int:statement_id>/resolutions")
@finance
@errors("STATEMENT_NOT_FOUND")
@blp.arguments(s.ResolutionListArgs, location="query")
@blp.response(200, s.ResolutionList)
def list_resolutions(args, statement_id):
    return service.resolutions(statement_id, args.get("version"))


@blp.get("/reconciliation/aging")
@finance
@blp.arguments(s.AgingArgs, location="query")
@blp.response(200, s.AgingReport)
@blp.alt_response(200, schema=FILE, content_type=XLSX, success=True, description="format=xlsx: every row")
def aging(args):
    """Open amounts of issued statements per counterparty and currency, by days since the
    period end as of ``as_of`` (Asia/Shanghai): 0–30, 31–60, 61–90, 90+; settled ones
    count until the day (in Shanghai) of their settlement."""
    if args["format"] == "xlsx":
        handle = service.aging_xlsx(args["side"], args.get("as_of"), args.get("counterparty_id"))
        return send_file(handle, as_attachment=True, mimetype=XLSX,
                         download_name=f"aging-{args['side']}-{args.get('as_of') or 'today'}.xlsx")
    return service.aging(args["side"], args.get("as_of"), args.get("counterparty_id"), args["page"],
                         args["per_page"])

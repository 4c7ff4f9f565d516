"""``flask statements ...``: batch statement runs from the command line.

The commands run the same service code as the RQ jobs, in this process, with a
progress bar; a run commits step by step (``runs``), the rest is one unit of work.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from backend.reconciliation.models import CYCLES, SIDES

group = AppGroup("statements", help="Statements: generate, export and send for a billing cycle.")
MONTH = click.option("--month", required=True, help="YYYY-MM: the periods ending in this month (Asia/Shanghai).")


def _open_run(side: str, cycle: str, month: str) -> int:
    from backend.reconciliation import service
    from backend.transactions import unit_of_work

    try:
        with unit_of_work("flask statements: open run"):
            run_id = service.open_run(side, cycle, month).id
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    return run_id


@group.command("generate")
@click.option("--side", type=click.Choice(SIDES), required=True, help="payable (suppliers) or receivable.")
@click.option("--cycle", type=click.Choice(CYCLES), required=True)
@MONTH
def generate_cmd(side: str, cycle: str, month: str):
    """Make one statement per counterparty with open lines, for each period of the cycle."""
    from backend.reconciliation import service

    run_id = _open_run(side, cycle, month)
    steps = len(service.run_periods(side, cycle, month))
    with click.progressbar(length=steps, label=f"{side} {cycle} {month}: periods") as bar:
        result = service.generate_run(run_id, bar.update)
    click.echo(json.dumps({"run_id": run_id, **result}))


@group.command("send")
@click.option("--side", type=click.Choice(SIDES), required=True)
@click.option("--cycle", type=click.Choice(CYCLES), required=True)
@MONTH
def send_cmd(side: str, cycle: str, month: str):
    """Export each statement of the run to XLSX and mail it; a re-run sends only what failed."""
    from backend.errors import ApiError
    from backend.reconciliation import service

    run_id = _open_run(side, cycle, month)
    try:
        service.check_sendable(service.get_run(run_id))
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc
    with click.progressbar(length=len(service.run_statement_ids(run_id)), label="statements") as bar:
        result = service.send_run(run_id, bar.update)
    click.echo(json.dumps({"run_id": run_id, **result}))
    if result["state"] != "done":
        raise SystemExit(1)


@group.command("status")
@click.option("--side", type=click.Choice(SIDES), required=True)
@click.option("--cycle", type=click.Choice(CYCLES), required=True)
@MONTH
def status_cmd(side: str, cycle: str, month: str):
    """The run's state and progress, and its failed deliveries."""
    from backend.reconciliation import service

    run = service.get_run(_open_run(side, cycle, month))
    failed = service.unsent_deliveries(run.id)
    click.echo(json.dumps({"run_id": run.id, "state": run.state, "progress": f"{run.progress_done}/"
                           f"{run.progress_total}", "statements": run.statements, "lines": run.lines,
                           "unsent": [{"statement_id": d.statement_id, "recipient": d.recipient, "error": d.error}
                                      for d in failed]}, ensure_ascii=False))


@group.command("variance-sums")
@click.option("--rebuild", is_flag=True, help="Recompute the kept sums from the lines (after a check found a gap).")
def variance_sums_cmd(rebuild: bool):
    """Compare the price-variance sums kept per supplier, part and month with a fresh
    aggregation over the lines; exit 1 when they differ (``--rebuild`` fixes them)."""
    from backend.reconciliation import variance_sums
    from backend.transactions import unit_of_work

    with unit_of_work("flask statements variance-sums"):
        wrong = variance_sums.check()
        cells = variance_sums.rebuild() if rebuild and wrong else None
    click.echo(json.dumps({"differing_cells": len(wrong), "first": wrong[:20], "rebuilt_cells": cells}))
    if wrong and not rebuild:
        raise SystemExit(1)

"""``flask statements ...``: batch statement runs from the command line.

The commands run the same code as the RQ jobs, in this process, with a progress bar.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from backend.reconciliation.models import CYCLES, SIDES

group = AppGroup("statements", help="Statements: generate, export and send for a billing cycle.")


def _open_run(side: str, cycle: str, month: str) -> int:
    from backend.extensions import db
    from backend.reconciliation import jobs

    try:
        run = jobs.open_run(side, cycle, month)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--month") from exc
    db.session.commit()
    return run.id


@group.command("generate")
@click.option("--side", type=click.Choice(SIDES), required=True, help="payable (suppliers) or receivable.")
@click.option("--cycle", type=click.Choice(CYCLES), required=True)
@click.option("--month", required=True, help="YYYY-MM: the periods ending in this month (Asia/Shanghai).")
def generate_cmd(side: str, cycle: str, month: str):
    """Make one statement per counterparty with open lines, for each period of the cycle."""
    from backend.reconciliation import jobs
    from backend.reconciliation import statements as engine
    from backend.reconciliation.periods import parse_month

    run_id = _open_run(side, cycle, month)
    steps = len(engine.plan(side, cycle, *parse_month(month)))
    with click.progressbar(length=steps, label=f"{side} {cycle} {month}: periods") as bar:
        result = jobs.generate(run_id, bar.update)
    click.echo(json.dumps({"run_id": run_id, **result}))


@group.command("send")
@click.option("--side", type=click.Choice(SIDES), required=True)
@click.option("--cycle", type=click.Choice(CYCLES), required=True)
@click.option("--month", required=True, help="YYYY-MM")
def send_cmd(side: str, cycle: str, month: str):
    """Export each statement of the run to XLSX and mail it; a re-run sends only what failed."""
    from backend.errors import ApiError
    from backend.reconciliation import jobs, sending

    run_id = _open_run(side, cycle, month)
    try:
        jobs.check_sendable(jobs.get_run(run_id))
    except ApiError as exc:
        raise click.ClickException(exc.message) from exc
    with click.progressbar(length=len(sending.run_statements(run_id)), label="statements") as bar:
        result = jobs.send(run_id, bar.update)
    click.echo(json.dumps({"run_id": run_id, **result}))
    if result["state"] != "done":
        raise SystemExit(1)


@group.command("status")
@click.option("--side", type=click.Choice(SIDES), required=True)
@click.option("--cycle", type=click.Choice(CYCLES), required=True)
@click.option("--month", required=True, help="YYYY-MM")
def status_cmd(side: str, cycle: str, month: str):
    """The run's state and progress, and its failed deliveries."""
    from sqlalchemy import select

    from backend.extensions import db
    from backend.reconciliation import jobs, sending
    from backend.reconciliation.models import Delivery

    run = jobs.get_run(_open_run(side, cycle, month))
    failed = db.session.scalars(select(Delivery).where(
        Delivery.statement_id.in_(sending.run_statements(run.id)), Delivery.state != "sent")).all()
    click.echo(json.dumps({"run_id": run.id, "state": run.state, "progress": f"{run.progress_done}/"
                           f"{run.progress_total}", "statements": run.statements, "lines": run.lines,
                           "unsent": [{"statement_id": d.statement_id, "recipient": d.recipient, "error": d.error}
                                      for d in failed]}, ensure_ascii=False))

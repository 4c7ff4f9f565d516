"""``flask leaderboard rebuild|check``."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

group = AppGroup("leaderboard", help="Leaderboards: rebuild from the database, check for drift.")


@group.command("rebuild")
def rebuild_cmd():
    """Recompute every kept board from the ledger (e.g. after Redis lost its data)."""
    from backend.leaderboard.jobs_rebuild import rebuild_all, rebuild_steps

    with click.progressbar(length=rebuild_steps(), label="rebuilding boards") as bar:
        written = rebuild_all(bar.update)
    click.echo(f"{written} boards written")


@group.command("check")
def check_cmd():
    """Compare Redis with the database; exit 1 if they differ."""
    from backend.leaderboard.jobs_rebuild import check_all

    report = check_all()
    click.echo(json.dumps({"ok": not report, "boards": report}, ensure_ascii=False, indent=2))
    if report:
        raise SystemExit(1)

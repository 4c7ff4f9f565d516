"""``flask fission catalog-import FILE``: the catalog import from the command line, in
this process, with a progress bar (the same code as the RQ job, ``import_runs``)."""

from __future__ import annotations

import json
from pathlib import Path

import click


def register(group) -> None:
    @group.command("catalog-import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def catalog_import(path: Path):
        """Upsert the parts, parameters, stock and price breaks of a distributor's export (CSV or XLSX)."""
        from backend.catalog import import_runs
        from backend.errors import ApiError

        bar = click.progressbar(length=0, label=f"{path.name}: rows")

        def total(count: int) -> None:
            bar.length = count

        try:
            with bar:
                result = import_runs.import_file(path.name, path.read_bytes(), bar.update, total)
        except ApiError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from exc
        click.echo(json.dumps(result, ensure_ascii=False))

"""``flask fission catalog-import FILE``: the catalog import from the command line, in
this process, with a progress bar (the same code as the RQ job, ``import_runs``).
``flask fission catalog-reindex``: every product's copy of its part's search columns
rebuilt from the parts (``search_columns``)."""

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

    @group.command("catalog-reindex")
    def catalog_reindex():
        """Copy every part's search columns (category, package, brand, dielectric, MPN key) onto its products again."""
        from backend.catalog import search_columns
        from backend.transactions import unit_of_work

        with unit_of_work("flask fission catalog-reindex"):
            stale = search_columns.stale()
            updated = search_columns.refresh()
        click.echo(json.dumps({"stale_before": stale, "products": updated}))

"""Counters kept by upsert: ``INSERT … ON CONFLICT / ON DUPLICATE KEY UPDATE col = col + new``.

One executemany per change set, rows in key order, so concurrent transactions take
the counter rows' locks in the same order and never deadlock on them.
"""

from __future__ import annotations

import functools

from sqlalchemy import Table, TextClause, text

from backend.extensions import db


def add(table: Table, keys: tuple[str, ...], rows: list[dict]) -> None:
    """Add each row's non-key values to the stored ones (a missing row starts at them)."""
    rows = sorted((r for r in rows if any(v for k, v in r.items() if k not in keys)),
                  key=lambda r: tuple(r[k] for k in keys))
    if not rows:
        return
    counted = tuple(c for c in rows[0] if c not in keys)
    dialect = db.session.get_bind().dialect.name
    db.session.execute(_upsert(table, keys, counted, dialect), rows)


@functools.cache
def _upsert(table: Table, keys: tuple[str, ...], counted: tuple[str, ...], dialect: str) -> TextClause:
    """Built once per shape, as text: SQLAlchemy's ON CONFLICT constructs have no cache
    key, so they were compiled again on every call (a quarter of a millisecond on the
    paid path). Executed with a list of rows, in key order (the order the rows are
    written and locked). The names are our own tables' and columns', not input."""
    columns = keys + counted
    insert = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608 - our own names, not input
              f"VALUES ({', '.join(':' + c for c in columns)})")
    if dialect in ("mysql", "mariadb"):
        return text(insert + " ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = {c} + VALUES({c})" for c in counted))
    return text(insert + f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
                + ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in counted))

"""Counters kept by upsert: ``INSERT … ON CONFLICT / ON DUPLICATE KEY UPDATE col = col + new``.

One executemany per change set, rows in key order, so concurrent transactions take
the counter rows' locks in the same order and never deadlock on them.
"""

from __future__ import annotations

import functools

from sqlalchemy import Table
from sqlalchemy.dialects import mysql, postgresql, sqlite

from backend.extensions import db

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert, "mysql": mysql.insert, "mariadb": mysql.insert}


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
def _upsert(table: Table, keys: tuple[str, ...], counted: tuple[str, ...], dialect: str):
    """Built once per shape: statement construction costs more than the execution on the paid path.
    Executed with a list of rows, in key order (the order the rows are written and locked)."""
    insert = _INSERTS[dialect]
    stmt = insert(table)
    if insert is mysql.insert:
        return stmt.on_duplicate_key_update({c: table.c[c] + stmt.inserted[c] for c in counted})
    return stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys],
                                      set_={c: table.c[c] + stmt.excluded[c] for c in counted})

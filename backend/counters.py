"""Counters kept by upsert: ``INSERT … ON CONFLICT / ON DUPLICATE KEY UPDATE col = col + new``.

One statement per change set, rows in key order, so concurrent transactions take
the counter rows' locks in the same order and never deadlock on them.
"""

from __future__ import annotations

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
    counted = [c for c in rows[0] if c not in keys]
    insert = _INSERTS[db.session.get_bind().dialect.name]
    stmt = insert(table).values(rows)
    if insert is mysql.insert:
        stmt = stmt.on_duplicate_key_update({c: table.c[c] + stmt.inserted[c] for c in counted})
    else:
        stmt = stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys],
                                          set_={c: table.c[c] + stmt.excluded[c] for c in counted})
    db.session.execute(stmt)

"""Keeping team_contributions in step with commissions: one upsert per change set.

Called inside the transactions that create, claw back or reinstate commissions, so
the read model can never disagree with the commissions it sums. Rows are written
in (earner, buyer) order: concurrent transactions lock them in the same order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy.dialects import mysql, postgresql, sqlite

from backend.extensions import db
from backend.referral.models import TeamContribution

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert, "mysql": mysql.insert, "mariadb": mysql.insert}


def add(changes: Iterable[tuple[int, int, int]]) -> None:
    """Add ``delta`` fen to what ``buyer`` brought ``earner``, for each (earner, buyer, delta)."""
    merged: dict[tuple[int, int], int] = defaultdict(int)
    for earner_id, buyer_id, delta in changes:
        merged[(earner_id, buyer_id)] += delta
    rows = [dict(earner_id=e, buyer_id=b, net_fen=d) for (e, b), d in sorted(merged.items()) if d]
    if not rows:
        return
    table = TeamContribution.__table__
    insert = _INSERTS[db.session.get_bind().dialect.name]
    stmt = insert(table).values(rows)
    if insert is mysql.insert:
        stmt = stmt.on_duplicate_key_update(net_fen=table.c.net_fen + stmt.inserted.net_fen)
    else:
        stmt = stmt.on_conflict_do_update(index_elements=[table.c.earner_id, table.c.buyer_id],
                                          set_={"net_fen": table.c.net_fen + stmt.excluded.net_fen})
    db.session.execute(stmt)

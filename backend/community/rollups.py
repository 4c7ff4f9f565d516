"""Funnel rollups, bumped in the same transaction as the fact they count.

One upsert statement per change (``INSERT … ON CONFLICT DO UPDATE`` / ``ON DUPLICATE
KEY UPDATE``) touching one row per dimension: the report then reads a few thousand
rollup rows for a month instead of scanning millions of events.
"""

from __future__ import annotations

from sqlalchemy.dialects import mysql, postgresql, sqlite

from backend.community.models import FUNNEL_DIMS, FunnelDaily, GroupInvite
from backend.extensions import db
from backend.timeutil import as_utc

COUNTERS = ("shown", "opened", "saved", "joined", "contacts", "join_seconds")
KEY = ("day", "dim", "dim_id")


def invite_keys(invite: GroupInvite, group_id: int | None = None) -> list[dict]:
    """The rollup rows an invite counts in: its order's paid day and, one row each, its
    distributor, product and the group it shows (0 stands for none)."""
    ids = {"distributor": invite.distributor_id, "product": invite.product_id,
           "group": invite.group_id if group_id is None else group_id}
    return [{"day": invite.paid_day, "dim": dim, "dim_id": ids[dim] or 0} for dim in FUNNEL_DIMS]


def bump(keys: list[dict], **deltas: int) -> None:
    """Add ``deltas`` (counter → amount, negative to move counts away) to rollup rows."""
    deltas = {name: amount for name, amount in deltas.items() if amount}
    if not deltas or not keys:
        return
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown funnel counters {sorted(unknown)}")
    rows = [{**key, **dict.fromkeys(COUNTERS, 0), **deltas} for key in keys]
    table = FunnelDaily.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect in ("mysql", "mariadb"):
        stmt = mysql.insert(table).values(rows)
        stmt = stmt.on_duplicate_key_update({name: table.c[name] + stmt.inserted[name] for name in deltas})
    else:
        module = postgresql if dialect == "postgresql" else sqlite
        stmt = module.insert(table).values(rows)
        stmt = stmt.on_conflict_do_update(index_elements=list(KEY),
                                          set_={name: table.c[name] + stmt.excluded[name] for name in deltas})
    db.session.execute(stmt)


def bump_invite(invite: GroupInvite, **deltas: int) -> None:
    bump(invite_keys(invite), **deltas)


def move(invite: GroupInvite, old_group_id: int | None, new_group_id: int | None) -> None:
    """The invite now shows another group: all its counts in the group dimension follow it
    (as rebuild.rebuild, which counts each invite under its current group, would put them)."""
    counts = {"shown": 1, "opened": int(invite.opened_at is not None), "saved": int(invite.saved_at is not None),
              "contacts": int(invite.contact_added_at is not None),
              "joined": int(invite.joined_at is not None)}
    if invite.joined_at is not None:
        counts["join_seconds"] = max(0, int((as_utc(invite.joined_at) - as_utc(invite.shown_at)).total_seconds()))
    old = [k for k in invite_keys(invite, old_group_id or 0) if k["dim"] == "group"]
    new = [k for k in invite_keys(invite, new_group_id or 0) if k["dim"] == "group"]
    bump(old, **{name: -amount for name, amount in counts.items()})
    bump(new, **counts)

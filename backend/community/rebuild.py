"""Rebuild the invite rollup of a range of days from the invites themselves.

The rollup is kept incrementally by every step (rollups.bump); this recounts it in
one set-based pass per dimension (INSERT … SELECT … GROUP BY), for repairs, for data
loaded in bulk (the benchmark) and to check that the increments added up.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Integer, case, cast, delete, func, literal, select, text

from backend.community.models import FUNNEL_DIMS, FunnelDaily, GroupInvite
from backend.community.rollups import COUNTERS
from backend.extensions import db


def _seconds_between(start, end):
    """Whole seconds from ``start`` to ``end``, truncated like int(timedelta.total_seconds())."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        seconds = cast(func.trunc(func.extract("epoch", end - start)), Integer)
    elif dialect in ("mysql", "mariadb"):
        seconds = func.timestampdiff(text("SECOND"), start, end)
    else:  # SQLite: days as a float; the nudge keeps whole seconds whole
        seconds = cast((func.julianday(end) - func.julianday(start)) * 86400 + 0.0001, Integer)
    return case((seconds < 0, 0), else_=seconds)


def rebuild(from_day: date, to_day: date) -> int:
    """Replace the rollup rows of ``[from_day, to_day)``; returns the invites counted."""
    db.session.execute(delete(FunnelDaily).where(FunnelDaily.day >= from_day, FunnelDaily.day < to_day))
    in_range = (GroupInvite.paid_day >= from_day, GroupInvite.paid_day < to_day)
    join_seconds = func.coalesce(func.sum(_seconds_between(GroupInvite.shown_at, GroupInvite.joined_at)), 0)
    columns = {"distributor": GroupInvite.distributor_id, "product": GroupInvite.product_id,
               "group": GroupInvite.group_id}
    for dim in FUNNEL_DIMS:
        dim_id = func.coalesce(columns[dim], 0)
        query = (select(GroupInvite.paid_day, literal(dim), dim_id, func.count(), func.count(GroupInvite.opened_at),
                        func.count(GroupInvite.saved_at), func.count(GroupInvite.joined_at),
                        func.count(GroupInvite.contact_added_at), join_seconds)
                 .where(*in_range).group_by(GroupInvite.paid_day, dim_id))
        db.session.execute(FunnelDaily.__table__.insert().from_select(["day", "dim", "dim_id", *COUNTERS], query))
    return db.session.scalar(select(func.count()).select_from(GroupInvite).where(*in_range))

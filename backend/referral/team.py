"""Team pages: members of one level with their orders, GMV and commission to me.

Every query is one index range: level 1 is ``inviter_id = me``
(ix_users_inviter_team), level 2 ``inviter2_id = me`` (ix_users_inviter2_team; the
page then looks up each member's level-1 "via" by primary key); the contribution
sort walks ix_team_contributions_rank (earner, net) backwards. No id list of the
tree is ever loaded; only one page (≤ 100 ids) goes into IN (...) for the
per-member figures.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, and_, bindparam, func, null, select, tuple_
from sqlalchemy.orm import aliased

from backend.auth.models import User
from backend.errors import ApiError
from backend.extensions import db
from backend.orders.models import Order
from backend.referral.models import TeamContribution
from backend.referral.service import in_team, team_count
from backend.schemas import page_of
from backend.timeutil import as_utc

PAID_STATUSES = ("paid", "shipped", "completed", "partially_refunded", "refunded")
SORTS = ("joined", "contribution")
LIKE_ESCAPE = "\\"

def _like_pattern(q: str) -> str:
    """``%q%`` with the LIKE wildcards (and the escape character) taken literally."""
    escaped = q.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def _nickname_contains(q: str):
    """Case-insensitive substring match. Most searches are digits or Chinese, which have
    no case: those compare as they are (ILIKE folds every nickname it scans, which made
    a search three times slower); others compare lower-cased on both sides."""
    pattern = _like_pattern(q)
    if q.lower() == q.upper():
        return User.nickname.like(pattern, escape=LIKE_ESCAPE)
    return func.lower(User.nickname).like(pattern.lower(), escape=LIKE_ESCAPE)


def _members(me_id: int, level: int, q: str | None):
    """(select of a page's keys, the select of member rows by id, the count).

    A page is found on keys alone (ids, in the team index) and only its own rows are
    then read in full: an offset skips index entries, not the level-2 "via" join."""
    if level == 1:
        details = select(User.id, User.nickname, User.bound_at, null().label("via_id"), null().label("via_nickname"))
    else:
        mid = aliased(User, name="via")
        details = (select(User.id, User.nickname, User.bound_at,
                          mid.id.label("via_id"), mid.nickname.label("via_nickname"))
                   .join(mid, User.inviter_id == mid.id))
    keys = select(User.id).where(in_team(me_id, level))
    count = select(func.count(User.id)).where(in_team(me_id, level))
    if q:
        match = _nickname_contains(q)
        keys = keys.where(match)
        count = count.where(match)
    return keys, details, count


def _in_full(details, keys: list) -> list:
    """The rows of one page's keys, in the keys' order (one IN of ≤ 100 ids). A member
    moved away in between is left out, as if the page had been read a moment later."""
    if not keys:
        return []
    found = {row.id: row for row in db.session.execute(details.where(User.id.in_([k.id for k in keys])))}
    return [found[k.id] for k in keys if k.id in found]


def _contributors(stmt, me_id: int):
    """Members who brought me something, most first: one backward range of
    ix_team_contributions_rank, each row checked against the team filter by key."""
    return (stmt.add_columns(TeamContribution.net_fen.label("contributed"))
            .join(TeamContribution, and_(TeamContribution.buyer_id == User.id, TeamContribution.earner_id == me_id))
            .where(TeamContribution.net_fen > 0)
            .order_by(TeamContribution.net_fen.desc(), TeamContribution.buyer_id.desc()))


def _newest_first(stmt, after: tuple | None):
    if after is not None:  # keyset: strictly after the last row seen
        stmt = stmt.where(tuple_(User.bound_at, User.id) < after)
    return stmt.order_by(User.bound_at.desc(), User.id.desc())


def _by_contribution(stmt, me_id: int, offset: int, per_page: int, cursor: Cursor | None) -> list:
    """The keys of one page (``stmt`` selects member ids). Contributors first (by what
    they brought), then everyone else newest first. The second list only starts once
    the first is used up, so only a page that reaches it by offset pays for counting
    the first; a cursor never counts."""
    rows = []
    if cursor is None or cursor.phase == "c":
        contributors = _contributors(stmt, me_id)
        if cursor is not None:
            contributors = contributors.where(tuple_(TeamContribution.net_fen, TeamContribution.buyer_id) < cursor.key)
        rows = db.session.execute(contributors.limit(per_page).offset(offset)).all()
        if len(rows) == per_page:
            return rows
    brought = select(TeamContribution.buyer_id).where(
        TeamContribution.earner_id == me_id, TeamContribution.buyer_id == User.id, TeamContribution.net_fen > 0)
    skip = 0
    if offset and cursor is None:
        n_contributors = db.session.scalar(select(func.count()).select_from(
            _contributors(stmt, me_id).order_by(None).subquery()))
        skip = max(0, offset - n_contributors)
    after = cursor.key if cursor is not None and cursor.phase == "j" else None
    rest = _newest_first(stmt.add_columns(User.bound_at, null().label("contributed")).where(~brought.exists()), after)
    return rows + db.session.execute(rest.limit(per_page - len(rows)).offset(skip)).all()


def team_page(me_id: int, level: int, page: int, per_page: int, sort: str = "joined", q: str | None = None,
              cursor: str | None = None) -> dict:
    """One page of a level of my team, by ``page`` (offset) or by ``cursor`` (the
    ``next_cursor`` of the page before: an index lookup however deep)."""
    if level not in (1, 2):
        raise ValueError(f"team level {level!r}: only 1 and 2 exist")
    if sort not in SORTS:
        raise ValueError(f"unknown team sort {sort!r}")
    position = Cursor.parse(cursor, sort) if cursor else None
    offset = 0 if position else (page - 1) * per_page
    keys, details, count = _members(me_id, level, q)
    # a search counts its matches; the whole level is a counter kept by every bind
    total = db.session.scalar(count) if q else team_count(me_id, level)
    if sort == "contribution":
        page_keys = _by_contribution(keys, me_id, offset, per_page, position)
    else:
        page_keys = db.session.execute(_newest_first(keys.add_columns(User.bound_at),
                                                     position.key if position else None)
                                       .limit(per_page).offset(offset)).all()
    rows = _in_full(details, page_keys)

    ids = [row.id for row in rows]  # one page (≤ 100), not the tree
    orders = {}
    brought = {}
    if ids:
        orders = {row.user_id: row for row in db.session.execute(
            select(Order.user_id, func.count().label("n"),
                   func.coalesce(func.sum(Order.paid_fen - Order.refunded_fen), 0).label("gmv"))
            .where(Order.user_id.in_(ids), Order.status.in_(PAID_STATUSES)).group_by(Order.user_id))}
        # The earner is written into the statement (literal_execute), not bound: psycopg
        # prepares a statement run often and PostgreSQL may then plan it once for any
        # earner, as if each had a few contributions, which reads a large team's whole
        # ix_team_contributions_rank with the buyers as a filter (38 ms at 128,000:
        # bench/console.py). With the earner in the text, its plan knows whose team it is.
        earner = bindparam("team_earner", me_id, type_=Integer, literal_execute=True)
        brought = dict(db.session.execute(select(TeamContribution.buyer_id, TeamContribution.net_fen).where(
            TeamContribution.earner_id == earner, TeamContribution.buyer_id.in_(ids))).all())

    items = []
    for row in rows:
        via = {"id": row.via_id, "nickname": row.via_nickname} if level == 2 else None
        items.append({
            "user_id": row.id, "nickname": row.nickname, "bound_at": row.bound_at,
            "orders_count": int(orders[row.id].n) if row.id in orders else 0,
            "gmv_fen": int(orders[row.id].gmv) if row.id in orders else 0,
            "commission_to_me_fen": int(brought.get(row.id, 0)),
            "level": level, "via": via,
        })
    body = page_of(items, page, per_page, total)
    body["next_cursor"] = Cursor.after(page_keys[-1]).encode() if len(page_keys) == per_page else None
    return body


def _int32(value) -> bool:
    """Ids and fen are 32-bit columns: a forged larger number is no position (the
    database would fail on it, a 500)."""
    return type(value) is int and -(2**31) <= value < 2**31


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: ``c`` (net fen, user id) among contributors, or ``j``
    (bound_at, user id) among the newest-first. Opaque to clients."""

    phase: str
    key: tuple

    @classmethod
    def after(cls, row) -> Cursor:
        contributed = getattr(row, "contributed", None)
        if contributed is not None:
            return cls("c", (int(contributed), row.id))
        return cls("j", (as_utc(row.bound_at), row.id))

    def encode(self) -> str:
        first = self.key[0].isoformat() if self.phase == "j" else self.key[0]
        raw = json.dumps([self.phase, first, self.key[1]], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, text: str, sort: str) -> Cursor:
        try:
            phase, first, user_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            if not _int32(user_id):
                raise ValueError("user id out of range")
            if phase == "j":
                return cls("j", (as_utc(datetime.fromisoformat(first)), int(user_id)))
            if phase == "c" and sort == "contribution" and _int32(first):
                return cls("c", (int(first), int(user_id)))
        except (ValueError, TypeError, OverflowError, binascii.Error):
            pass
        raise ApiError("VALIDATION_ERROR", "cursor: not a cursor of this list; use the next_cursor you were given")

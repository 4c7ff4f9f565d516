"""Invite codes, distributor applications, binding rules and the team tree."""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from backend import counters
from backend.auth.models import User
from backend.bulk_sql import chunks
from backend.channel.models import ChannelFreeze
from backend.commission import service as commission
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.referral.models import BindHistory, TeamSize
from backend.timeutil import as_utc, utcnow

# Unambiguous characters: codes are read aloud and typed from screenshots.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8


def new_invite_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _make_distributor(user: User) -> None:
    if user.distributor_status != "approved":
        user.distributor_since = utcnow()
    user.distributor_status = "approved"
    commission.open_wallet(user.id)
    while user.invite_code is None:
        code = new_invite_code()
        try:
            with db.session.begin_nested():
                user.invite_code = code
                db.session.flush()
        except IntegrityError:
            user.invite_code = None  # a collision: draw again


def apply(user: User, real_name: str | None, phone: str | None) -> str:
    if real_name:
        user.real_name = real_name
    if phone:
        user.phone = phone
    if user.is_distributor:
        return "approved"
    if get_settings().mode == "everyone":
        _make_distributor(user)
    else:
        user.distributor_status = "pending"
    db.session.flush()
    return user.distributor_status


def approve(user: User) -> None:
    """An operator approves a pending application; approving an approved distributor
    again is a no-op (a double click). Anyone else never applied, or was disabled:
    409 APPLICATION_NOT_PENDING, nothing changes."""
    if user.distributor_status == "approved":
        return
    if user.distributor_status != "pending":
        raise ApiError("APPLICATION_NOT_PENDING",
                       f"User {user.id} has no pending application (status {user.distributor_status})")
    _make_distributor(user)
    user.distributor_rejection_reason = None
    db.session.flush()


def reject(user: User, reason: str) -> None:
    """An operator turns a pending application down: the status goes back to ``none``
    (they may apply again) and the reason is kept on the user."""
    if user.distributor_status != "pending":
        raise ApiError("APPLICATION_NOT_PENDING",
                       f"User {user.id} has no pending application (status {user.distributor_status})")
    user.distributor_status = "none"
    user.distributor_rejection_reason = reason
    db.session.flush()


def set_rate_overrides(user: User, level1_bp: int | None, level2_bp: int | None) -> tuple[dict, dict]:
    """A distributor's own rates (KOL rates; None = the global rate), used from the
    next commission on. Returns (before, after) for the audit log."""
    if not user.is_distributor:
        raise ApiError("USER_NOT_A_DISTRIBUTOR", f"User {user.id} is not a distributor")
    before = {"level1_bp_override": user.level1_bp_override, "level2_bp_override": user.level2_bp_override}
    user.level1_bp_override = level1_bp
    user.level2_bp_override = level2_bp
    db.session.flush()
    return before, {"level1_bp_override": level1_bp, "level2_bp_override": level2_bp}


def find_by_invite_code(code: str) -> User | None:
    return db.session.scalar(select(User).where(User.invite_code == code.strip().upper()))


def ancestors(user_id: int, limit: int | None = None) -> list[User]:
    """The chain above a user, nearest first, by one recursive query."""
    chain = select(User.id, User.inviter_id, func.cast(1, db.Integer).label("hop")).where(
        User.id == select(User.inviter_id).where(User.id == user_id).scalar_subquery()
    ).cte("chain", recursive=True)
    parent = aliased(User)
    chain = chain.union_all(
        select(parent.id, parent.inviter_id, (chain.c.hop + 1).label("hop"))
        .join(chain, parent.id == chain.c.inviter_id)
        .where(chain.c.hop < 10_000)  # a guard, not a rule: cycles are refused at bind
    )
    stmt = select(User).join(chain, User.id == chain.c.id).order_by(chain.c.hop)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def descendants(user_id: int) -> set[int]:
    """Everyone below a user, by one recursive query."""
    below = select(User.id).where(User.inviter_id == user_id).cte("below", recursive=True)
    child = aliased(User)
    below = below.union_all(select(child.id).join(below, child.inviter_id == below.c.id))
    return set(db.session.scalars(select(below.c.id)))


def _lock(ids: set[int]) -> None:
    # One statement in id order: concurrent binds queue on their common rows
    # instead of deadlocking, and re-read the chain after the wait.
    db.session.execute(select(User.id).where(User.id.in_(sorted(ids))).order_by(User.id).with_for_update())


def _team_to_move(user: User) -> set[int]:
    """The rows a bind of ``user`` rewrites besides its own: its whole team (their
    level-2 pointer, depth and root follow it). Empty for a user without a team (the
    login path), by the counter."""
    return descendants(user.id) if team_count(user.id, 1) else set()


def _may_rebind(user: User, settings) -> bool:
    if user.inviter_id is None:
        return True
    if settings.bind_mode == "protection":
        return utcnow() >= as_utc(user.bound_at) + timedelta(days=settings.protection_days)
    return False


# What ``bind`` can refuse with (the routes that bind list them).
BIND_ERRORS = ("INVITE_CODE_NOT_FOUND", "SELF_REFERRAL", "INVITER_NOT_DISTRIBUTOR", "INVITER_FROZEN", "ALREADY_BOUND",
               "REFERRAL_CYCLE")


def bind(user: User, invite_code: str, source: str, *, reason: str = "", operator_id: int | None = None,
         force: bool = False) -> User:
    """Bind ``user`` under the owner of ``invite_code``. Raises ApiError with the
    contract's codes. ``force`` (operators) skips the protection rules, never the
    safety ones (self, cycle, inactive inviter)."""
    inviter = find_by_invite_code(invite_code)
    if inviter is None:
        raise ApiError("INVITE_CODE_NOT_FOUND", "No distributor has this invite code")
    return bind_to(user, inviter, source, reason=reason, operator_id=operator_id, force=force)


def bind_to(user: User, inviter: User, source: str, *, reason: str = "", operator_id: int | None = None,
            force: bool = False) -> User:
    if inviter.id == user.id:
        raise ApiError("SELF_REFERRAL", "You cannot bind to yourself")
    if not inviter.is_distributor:
        raise ApiError("INVITER_NOT_DISTRIBUTOR", "This user is not an active distributor")
    if db.session.get(ChannelFreeze, inviter.id) is not None:  # frozen by the operators (backend/channel)
        raise ApiError("INVITER_FROZEN", "This distributor cannot take new customers at the moment")
    settings = get_settings()

    chain = ancestors(inviter.id)
    # The team moves with the user, so its rows are taken in the same ordered lock as
    # the chain: two binds that cross (x→y while y→z) then queue instead of deadlocking.
    team = _team_to_move(user)
    _lock({user.id, inviter.id, *(a.id for a in chain), *team})
    db.session.refresh(user)
    db.session.refresh(inviter)
    chain = ancestors(inviter.id)  # re-read under the locks
    # Members who joined between our read and our lock (none can while we hold the
    # user's row) are locked by the UPDATE below; should that deadlock, the caller's
    # transaction is run again (backend.transactions).

    if user.inviter_id == inviter.id:
        return user  # already bound here: binding again is a no-op
    if not force:
        if settings.bind_mode == "until_first_order" and user.has_paid_order:
            raise ApiError("ALREADY_BOUND", "Only customers without a paid order can be bound")
        if not _may_rebind(user, settings):
            raise ApiError("ALREADY_BOUND", "This user is already bound to a distributor")
    if any(a.id == user.id for a in chain):
        raise ApiError("REFERRAL_CYCLE", "Binding here would make a cycle")

    old_inviter_id = user.inviter_id
    old_parent_id = user.inviter2_id
    old_depth, old_root = user.depth, user.root_id
    user.inviter_id = inviter.id
    user.inviter2_id = inviter.inviter_id
    user.bound_at = utcnow()
    user.bind_source = source
    user.depth = inviter.depth + 1
    user.root_id = inviter.root_id or inviter.id
    db.session.add(BindHistory(user_id=user.id, old_inviter_id=old_inviter_id, new_inviter_id=inviter.id,
                               source=source, reason=reason, operator_id=operator_id))
    db.session.flush()
    _count_team_change(user.id, (old_inviter_id, old_parent_id), (inviter.id, inviter.inviter_id))
    # The user's own team (also on a first bind: a distributor may have invited people
    # before binding themselves) now has a new level 2 above it, and moves down with them.
    # A first bind without a team (the login path) skips both by the counter.
    if old_inviter_id is not None or team or team_count(user.id, 1):
        db.session.execute(update(User).where(User.inviter_id == user.id).values(inviter2_id=inviter.id)
                           .execution_options(synchronize_session=False))
        if user.depth != old_depth or user.root_id != old_root:
            _reposition_subtree(user)
    return user


def _count_team_change(user_id: int, old: tuple[int | None, int | None], new: tuple[int, int | None]) -> None:
    """``user`` moves from ``old`` (inviter, inviter's inviter) to ``new``: each inviter's
    level 1 changes by one and level 2 by the user's own level 1 (they come along);
    each inviter's inviter's level 2 by one. One upsert for all of it."""
    below = team_count(user_id, 1)
    changes: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (inviter_id, parent_id), sign in ((old, -1), (new, +1)):
        if inviter_id is None:
            continue
        changes[inviter_id][0] += sign
        changes[inviter_id][1] += sign * below
        if parent_id is not None:
            changes[parent_id][1] += sign
    counters.add(TeamSize.__table__, ("user_id",),
                 [dict(user_id=uid, level1_count=one, level2_count=two) for uid, (one, two) in changes.items()])


def _reposition_subtree(user: User) -> None:
    """After a rebind the people below move with the user: fix their depth and root,
    one level of the subtree at a time. Rebinds are rare (protection mode, operator
    moves), so reading each level's ids is acceptable here."""
    frontier, depth = [user.id], user.depth
    while frontier:
        children: list[int] = []
        for chunk in chunks(frontier):
            children += db.session.scalars(select(User.id).where(User.inviter_id.in_(chunk))).all()
        for chunk in chunks(children):
            db.session.execute(update(User).where(User.id.in_(chunk))
                               .values(depth=depth + 1, root_id=user.root_id)
                               .execution_options(synchronize_session=False))
        frontier, depth = children, depth + 1


# --- the team, by level ----------------------------------------------------------

def in_team(user_id: int, level: int):
    """Who is in a user's level-1 or level-2 team: one index range each
    (``inviter_id``, ``inviter2_id``), never an id list in IN (...)."""
    return User.inviter_id == user_id if level == 1 else User.inviter2_id == user_id


def team_count(user_id: int, level: int) -> int:
    """The size of a level of someone's team: a counter, not a count."""
    column = TeamSize.level1_count if level == 1 else TeamSize.level2_count
    return db.session.scalar(select(column).where(TeamSize.user_id == user_id)) or 0

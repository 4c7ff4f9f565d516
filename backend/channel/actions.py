"""The operators' actions on a distributor, each with a reason, each a
``channel_actions`` row (and the admin guard's audit entry, with before/after):

* ``warn``: a subscribe message, sent by a job enqueued once the action commits;
* ``freeze`` / ``unfreeze``: no new binds under them while frozen (the referral bind
  answers ``INVITER_FROZEN``; their share code still opens the shop). Their commission
  on existing customers continues or stops by the ``freeze_commission`` setting;
* ``revoke`` / ``restore``: the distributor status off (``disabled``) and back on.
  Revoking keeps the history, the ledger and past commissions; the customers stay
  bound (``revoke_bindings = "keep"``: a disabled inviter earns nothing) or are
  released (``"release"``: the level-1 members become roots, the level-2 pointers to
  them are cleared, the team counters follow).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update

from backend.admin import audit
from backend.auth.models import User
from backend.channel.models import ChannelAction, ChannelFreeze
from backend.channel.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.queue import enqueue_after_commit
from backend.referral.models import TeamSize

ACTION_ERRORS = ("NOT_FOUND", "USER_NOT_A_DISTRIBUTOR", "CHANNEL_ALREADY_FROZEN", "CHANNEL_NOT_FROZEN",
                 "CHANNEL_NOT_REVOKED")


def _user(user_id: int) -> User:
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise ApiError("NOT_FOUND", f"User {user_id} does not exist")
    return user


def _record(user: User, action: str, reason: str, operator_id: int | None, released: int = 0) -> ChannelAction:
    row = ChannelAction(user_id=user.id, action=action, reason=reason.strip(), operator_id=operator_id,
                        released_bindings=released)
    db.session.add(row)
    db.session.flush()
    audit.set_target("user", user.id)
    return row


def _distributor(user_id: int) -> User:
    user = _user(user_id)
    if not user.is_distributor:
        raise ApiError("USER_NOT_A_DISTRIBUTOR", f"User {user.id} is not a distributor")
    return user


def act(user_id: int, action: str, reason: str, operator_id: int | None) -> ChannelAction:
    return {"warn": warn, "freeze": freeze, "unfreeze": unfreeze, "revoke": revoke,
            "restore": restore}[action](user_id, reason, operator_id)


def warn(user_id: int, reason: str, operator_id: int | None) -> ChannelAction:
    user = _distributor(user_id)
    row = _record(user, "warn", reason, operator_id)
    audit.record_change("user", user.id, {}, {"channel_action": "warn", "reason": row.reason})
    enqueue_after_commit("backend.channel.jobs.send_warning", row.id, job_id=f"channel-warn-{row.id}")
    return row


def freeze(user_id: int, reason: str, operator_id: int | None) -> ChannelAction:
    user = _distributor(user_id)
    if db.session.get(ChannelFreeze, user.id) is not None:
        raise ApiError("CHANNEL_ALREADY_FROZEN", f"Distributor {user.id} is frozen already")
    db.session.add(ChannelFreeze(user_id=user.id, reason=reason.strip(), operator_id=operator_id))
    row = _record(user, "freeze", reason, operator_id)
    audit.record_change("user", user.id, {"frozen": False}, {"frozen": True, "reason": row.reason})
    return row


def unfreeze(user_id: int, reason: str, operator_id: int | None) -> ChannelAction:
    user = _user(user_id)
    if db.session.get(ChannelFreeze, user.id) is None:
        raise ApiError("CHANNEL_NOT_FROZEN", f"User {user.id} is not frozen")
    db.session.execute(delete(ChannelFreeze).where(ChannelFreeze.user_id == user.id))
    row = _record(user, "unfreeze", reason, operator_id)
    audit.record_change("user", user.id, {"frozen": True}, {"frozen": False, "reason": row.reason})
    return row


def revoke(user_id: int, reason: str, operator_id: int | None) -> ChannelAction:
    user = _distributor(user_id)
    released = _release_bindings(user) if get_settings().revoke_bindings == "release" else 0
    user.distributor_status = "disabled"
    row = _record(user, "revoke", reason, operator_id, released)
    audit.record_change("user", user.id, {"distributor_status": "approved"},
                        {"distributor_status": "disabled", "released_bindings": released, "reason": row.reason})
    return row


def restore(user_id: int, reason: str, operator_id: int | None) -> ChannelAction:
    user = _user(user_id)
    if user.distributor_status != "disabled":
        raise ApiError("CHANNEL_NOT_REVOKED", f"User {user.id} is not a revoked distributor")
    user.distributor_status = "approved"
    row = _record(user, "restore", reason, operator_id)
    audit.record_change("user", user.id, {"distributor_status": "disabled"},
                        {"distributor_status": "approved", "reason": row.reason})
    return row


def _release_bindings(user: User) -> int:
    """The level-1 members become roots of their own trees (their teams move with them:
    depth and root recomputed); nobody keeps ``user`` as their level 2."""
    users = User.__table__
    members = list(db.session.scalars(select(users.c.id).where(users.c.inviter_id == user.id)
                                      .order_by(users.c.id).with_for_update()))
    if not members:
        return 0
    db.session.execute(update(users).where(users.c.inviter2_id == user.id).values(inviter2_id=None))
    db.session.execute(update(users).where(users.c.id.in_(members))
                       .values(inviter_id=None, inviter2_id=None, bound_at=None, depth=0, root_id=None))
    frontier = [(m, m, 0) for m in members]  # (id, its new root, its depth)
    while frontier:
        nxt = []
        for start in range(0, len(frontier), 1000):
            part = frontier[start:start + 1000]
            roots = {uid: (root, depth) for uid, root, depth in part}
            for child, parent in db.session.execute(select(users.c.id, users.c.inviter_id)
                                                    .where(users.c.inviter_id.in_(list(roots)))):
                root, depth = roots[parent]
                nxt.append((child, root, depth + 1))
        for child, root, depth in nxt:
            db.session.execute(update(users).where(users.c.id == child).values(root_id=root, depth=depth))
        frontier = nxt
    teams = TeamSize.__table__
    if user.inviter_id is not None:  # their inviter loses these people from level 2
        db.session.execute(update(teams).where(teams.c.user_id == user.inviter_id)
                           .values(level2_count=teams.c.level2_count - len(members)))
    db.session.execute(update(teams).where(teams.c.user_id == user.id).values(level1_count=0, level2_count=0))
    db.session.flush()
    return len(members)

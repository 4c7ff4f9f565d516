"""Who joined, and whose invite brought them.

A join is attributed through the ``state`` 企业微信 hands back (it names the invite,
and so the order and its distributor), else through the member's unionid (the buyer's
latest invite). Every join has a ``dedupe_key``, unique in the database: a replayed
callback, a second import or a second confirmation inserts nothing and counts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.auth.models import User
from backend.community import rollups
from backend.community.models import CommunityGroup, GroupInvite, GroupJoin
from backend.errors import ApiError
from backend.extensions import db
from backend.timeutil import as_utc, utcnow


@dataclass
class Member:
    """One new member as 企业微信 (or an operator) describes them."""

    key: str  # the external userid, or the name an operator typed
    joined_at: datetime
    unionid: str | None = None
    state: str | None = None
    join_scene: int | None = None


def find_invite(state: str | None, unionid: str | None) -> GroupInvite | None:
    if state:
        invite = db.session.scalar(select(GroupInvite).where(GroupInvite.state == state))
        if invite is not None:
            return invite
    if unionid:
        return db.session.scalar(
            select(GroupInvite).join(User, User.id == GroupInvite.user_id).where(User.unionid == unionid)
            .order_by(GroupInvite.joined_at.is_not(None), GroupInvite.shown_at.desc()).limit(1))
    return None


def record(*, dedupe_key: str, source: str, group: CommunityGroup | None, member: Member,
           invite: GroupInvite | None) -> bool:
    """Store one join and count it in the funnel. False when it was recorded before."""
    join = GroupJoin(dedupe_key=dedupe_key[:160], source=source, group_id=group.id if group else None,
                     member=member.key[:64], unionid=member.unionid, join_scene=member.join_scene,
                     state=(member.state or None) and member.state[:30], joined_at=member.joined_at,
                     invite_id=invite.id if invite else None, order_id=invite.order_id if invite else None,
                     distributor_id=invite.distributor_id if invite else None)
    try:
        with db.session.begin_nested():
            db.session.add(join)
    except IntegrityError:
        return False
    if invite is not None:
        _count(invite.id, contact=source == "wecom_contact", at=member.joined_at)
    return True


def _count(invite_id: int, *, contact: bool, at: datetime) -> None:
    """First join (or first contact) of an invite: stamp it and bump the rollup, under
    the invite's row lock so two joins through different groups count once."""
    invite = db.session.scalar(select(GroupInvite).where(GroupInvite.id == invite_id).with_for_update()
                               .execution_options(populate_existing=True))
    if contact:
        if invite.contact_added_at is None:
            invite.contact_added_at = at
            rollups.bump_invite(invite, contacts=1)
        return
    if invite.joined_at is None:
        invite.joined_at = at
        waited = max(0, int((as_utc(at) - as_utc(invite.shown_at)).total_seconds()))
        rollups.bump_invite(invite, joined=1, join_seconds=waited)


# ---- 企业微信 ------------------------------------------------------------------------

def group_by_chat_id(chat_id: str | None) -> CommunityGroup | None:
    if not chat_id:
        return None
    return db.session.scalar(select(CommunityGroup).where(CommunityGroup.chat_id == chat_id))


def record_group_members(group_id: int, chat: dict) -> int:
    """groupchat/get's answer for one of our groups: every external member is a join
    (known ones dedupe); the member count follows the group. Returns new joins."""
    group = db.session.get(CommunityGroup, group_id)
    members = chat.get("member_list") or []
    group.member_count = len(members)
    new = 0
    for raw in members:
        if int(raw.get("type") or 0) != 2:  # staff of the shop, not a customer
            continue
        member = Member(key=str(raw["userid"]), unionid=raw.get("unionid") or None, state=raw.get("state") or None,
                        join_scene=int(raw["join_scene"]) if raw.get("join_scene") is not None else None,
                        joined_at=_from_epoch(raw.get("join_time")))
        invite = find_invite(member.state, member.unionid)
        new += record(dedupe_key=f"g:{group.id}:{member.key}", source="wecom_group", group=group, member=member,
                      invite=invite)
    return new


def record_contact(userid: str, external_userid: str, state: str | None, unionid: str | None,
                   at: datetime) -> bool:
    member = Member(key=external_userid, unionid=unionid, state=state, joined_at=at)
    return record(dedupe_key=f"c:{userid}:{external_userid}", source="wecom_contact", group=None, member=member,
                  invite=find_invite(state, unionid))


def _from_epoch(value) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return utcnow()


# ---- personal groups: operators ----------------------------------------------------------

def import_members(group: CommunityGroup, members: list[dict]) -> dict:
    """The member list copied from WeChat: it sets the member count; rows that name an
    order are joins of that order's invite. A 企业微信 group's members come from
    企业微信 itself (the callback), never from a file."""
    if group.kind != "personal":
        raise ApiError("VALIDATION_ERROR", "a 企业微信 group's members come from 企业微信, not from an import")
    group.member_count = len(members)
    joined = 0
    for row in members:
        if not row.get("order_id"):
            continue
        invite = _invite_of(row["order_id"])
        member = Member(key=row.get("name") or f"order {row['order_id']}",
                        joined_at=as_utc(row.get("joined_at")) or utcnow())
        joined += record(dedupe_key=f"g:{group.id}:o:{invite.order_id}", source="import", group=group,
                         member=member, invite=invite)
    db.session.flush()
    return {"member_count": group.member_count, "joins_recorded": joined}


def confirm_join(order_id: int, group: CommunityGroup | None, name: str | None) -> bool:
    """An operator saw the buyer of ``order_id`` in the group (the invite's, by default)."""
    invite = _invite_of(order_id)
    group = group or db.session.get(CommunityGroup, invite.group_id)
    if group is None:
        raise ApiError("GROUP_NOT_FOUND", "The invite shows no group; name one")
    member = Member(key=name or f"order {order_id}", joined_at=utcnow())
    recorded = record(dedupe_key=f"g:{group.id}:o:{order_id}", source="manual", group=group, member=member,
                      invite=invite)
    if recorded and group.kind == "personal":
        group.member_count += 1
    db.session.flush()
    return recorded


def _invite_of(order_id: int) -> GroupInvite:
    invite = db.session.scalar(select(GroupInvite).where(GroupInvite.order_id == order_id))
    if invite is None:
        raise ApiError("GROUP_INVITE_NOT_FOUND", f"No group invite was shown for order {order_id}")
    return invite

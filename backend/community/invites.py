"""The moment after payment: the invite a buyer is shown, and what they do with it.

``show`` records the invite once per order (the ``order_id`` is unique), so asking
again returns the same invite and counts nothing twice. ``record_opened`` takes the
mini-program's open/save events for the invite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from backend.auth.models import User
from backend.community import groups, rollups
from backend.community.models import CommunityGroup, GroupInvite, LiveCode
from backend.errors import ApiError
from backend.extensions import db
from backend.orders import service as orders
from backend.orders.models import Order
from backend.timeutil import SHOP_TZ, as_utc, utcnow

STATE_PREFIX = "fo"  # + the order id in base 36: well under 企业微信's 30 characters
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def state_for(order_id: int) -> str:
    digits = ""
    while True:
        order_id, rest = divmod(order_id, 36)
        digits = _B36[rest] + digits
        if not order_id:
            return STATE_PREFIX + digits


@dataclass
class Shown:
    invite: GroupInvite
    group: CommunityGroup
    code: LiveCode
    needs_join_way: bool
    needs_contact_way: bool


def show(user: User, order_id: int) -> Shown | None:
    """The invite of the buyer's paid order, created (and counted as shown) on first call.
    Someone else's order is ORDER_NOT_FOUND, as everywhere."""
    order = orders.get_order_for(user, order_id)
    if order.paid_at is None:
        raise ApiError("ORDER_NOT_PAID", f"Order {order_id} is not paid")
    invite = db.session.scalar(select(GroupInvite).where(GroupInvite.order_id == order.id))
    if invite is None:
        invite = _create(order)
    elif invite.joined_at is None:
        _repick_if_stale(invite, order)
    if invite is None or invite.group_id is None:
        return None
    group, code = db.session.get(CommunityGroup, invite.group_id), db.session.get(LiveCode, invite.live_code_id)
    return Shown(invite, group, code, needs_join_way=group.kind == "wecom" and not invite.join_way_config_id,
                 needs_contact_way=bool(code.contact_userid) and not invite.contact_way_config_id)


def _product_ids(order: Order) -> list[int]:
    return [item.product_id for item in order.items]


def _create(order: Order) -> GroupInvite | None:
    picked = groups.pick(order, _product_ids(order))
    if picked is None:
        return None
    code, group = picked
    product_ids = _product_ids(order)
    invite = GroupInvite(order_id=order.id, user_id=order.user_id, distributor_id=order.level1_id,
                         product_id=product_ids[0] if product_ids else None,
                         paid_day=as_utc(order.paid_at).astimezone(SHOP_TZ).date(),
                         live_code_id=code.id, group_id=group.id, state=state_for(order.id), shown_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(invite)
    except IntegrityError:  # shown at the same moment by a parallel request: theirs counts
        return db.session.scalar(select(GroupInvite).where(GroupInvite.order_id == order.id))
    rollups.bump_invite(invite, shown=1)
    return invite


def _repick_if_stale(invite: GroupInvite, order: Order) -> None:
    """The group shown before filled up or is about to expire: show another one."""
    now = utcnow()
    still_good = invite.group_id is not None and db.session.scalar(
        select(CommunityGroup.id).where(CommunityGroup.id == invite.group_id, groups.offerable(now)))
    if still_good:
        return
    picked = groups.pick(order, _product_ids(order))
    if picked is None:
        return
    code, group = picked
    locked = db.session.scalar(select(GroupInvite).where(GroupInvite.id == invite.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked.group_id == group.id or locked.joined_at is not None:  # joined meanwhile: it stays
        return
    rollups.move(locked, locked.group_id, group.id)
    locked.group_id, locked.live_code_id = group.id, code.id
    locked.join_way_config_id = locked.join_way_qr = None  # the next join way lists the new groups
    locked.join_way_claimed_until = None
    db.session.flush()


def wecom_chat_ids(invite: GroupInvite) -> list[str]:
    """The join way's groups: the one shown first, then the code's other offerable
    企业微信 groups (企业微信 moves to the next when one fills), at most 5."""
    shown = db.session.get(CommunityGroup, invite.group_id)
    others = [g.chat_id for g in groups.offerable_groups(invite.live_code_id, utcnow())
              if g.kind == "wecom" and g.id != shown.id]
    return [shown.chat_id, *others][:5]


# The ways an invite may need in 企业微信: (config id column, QR column, claim column).
WAYS = {
    "join": (GroupInvite.join_way_config_id, GroupInvite.join_way_qr, GroupInvite.join_way_claimed_until),
    "contact": (GroupInvite.contact_way_config_id, GroupInvite.contact_way_qr,
                GroupInvite.contact_way_claimed_until),
}
# Longer than the calls a claim covers (two for a join way) at their HTTP timeout, so a
# slow 企业微信 does not let a second request in; short enough that a request that died
# mid-call holds the invite up only for a moment.
WAY_CLAIM = timedelta(seconds=10)
WAIT_FOR_WAY_SECONDS, WAIT_POLL_SECONDS = 5.0, 0.05


def claim_way(invite_id: int, way: str) -> bool:
    """Claim the creation of the invite's ``way`` ("join" or "contact"): True for the one
    request whose conditional UPDATE took it (no way yet, no live claim). Racing first
    calls (a page's onLoad + onShow, a double tap) would otherwise each create one in
    企业微信. The caller commits the claim before calling 企业微信."""
    config_id, _, claimed_until = WAYS[way]
    now = utcnow()
    claimed = db.session.execute(
        update(GroupInvite)
        .where(GroupInvite.id == invite_id, config_id.is_(None), or_(claimed_until.is_(None), claimed_until < now))
        .values({claimed_until: now + WAY_CLAIM})
        .execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def release_way(invite_id: int, way: str) -> None:
    """The claimant's call failed: the next request may try at once."""
    _, _, claimed_until = WAYS[way]
    db.session.execute(update(GroupInvite).where(GroupInvite.id == invite_id).values({claimed_until: None})
                       .execution_options(synchronize_session=False))


def wait_for_way(invite_id: int, way: str) -> bool:
    """For a request that lost the claim: wait (outside any transaction: each look is
    its own, so it sees the claimant's commit on every database) until the way is
    attached or no claim is live any more. True when it was attached."""
    config_id, _, claimed_until = WAYS[way]
    deadline = time.monotonic() + WAIT_FOR_WAY_SECONDS
    while True:
        attached, claim = db.session.execute(
            select(config_id, claimed_until).where(GroupInvite.id == invite_id)).one()
        db.session.rollback()  # end the look's transaction: nothing is held while waiting
        if attached is not None:
            return True
        if claim is None or as_utc(claim) < utcnow() or time.monotonic() >= deadline:
            return False
        time.sleep(WAIT_POLL_SECONDS)


def attach_way(invite_id: int, way: str, config_id: str, qr_code: str) -> bool:
    """Record the way the claimant created, and let go of the claim. False if one was
    attached meanwhile (the claim had lapsed): the caller's way is then spare."""
    config_column, qr_column, claimed_until = WAYS[way]
    attached = db.session.execute(
        update(GroupInvite).where(GroupInvite.id == invite_id, config_column.is_(None))
        .values({config_column: config_id, qr_column: qr_code[:255], claimed_until: None})
        .execution_options(synchronize_session=False))
    return attached.rowcount == 1


def invite_view(invite: GroupInvite, group: CommunityGroup, code: LiveCode) -> dict:
    return {
        "order_id": invite.order_id,
        "group": {"id": group.id, "name": group.name, "kind": group.kind},
        "text": code.text,
        "qr_image_url": f"/api/v1/group-qr/{group.qr_token}" if group.kind == "personal" else invite.join_way_qr,
        "contact_qr_url": invite.contact_way_qr,
        "expires_at": as_utc(group.expires_at),
        "shown_at": as_utc(invite.shown_at),
        "opened": invite.opened_at is not None,
        "joined": invite.joined_at is not None,
    }


def record_opened(user_id: int | None, events: list[dict], now: datetime) -> int:
    """open/save events naming an order: the buyer opened or saved its invite. Each counts
    once per invite; the invite rows are locked so a parallel duplicate waits and sees it."""
    wanted: dict[int, set[str]] = {}
    for event in events:
        if event.get("order_id") and event["type"] in ("open", "save"):
            wanted.setdefault(event["order_id"], set()).add(event["type"])
    if user_id is None or not wanted:
        return 0
    changed = 0
    invites = db.session.scalars(select(GroupInvite).where(
        GroupInvite.order_id.in_(sorted(wanted)), GroupInvite.user_id == user_id)
        .order_by(GroupInvite.id).with_for_update().execution_options(populate_existing=True))
    for invite in invites:
        kinds, deltas = wanted[invite.order_id], {}
        if "open" in kinds and invite.opened_at is None:
            invite.opened_at, deltas["opened"] = now, 1
        if "save" in kinds and invite.saved_at is None:
            invite.saved_at, deltas["saved"] = now, 1
        if deltas:
            rollups.bump_invite(invite, **deltas)
            changed += 1
    return changed

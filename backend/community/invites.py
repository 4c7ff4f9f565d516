"""The moment after payment: the invite a buyer is shown, and what they do with it.

``show`` records the invite once per order (the ``order_id`` is unique), so asking
again returns the same invite and counts nothing twice. ``record_opened`` takes the
mini-program's open/save events for the invite.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
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
    db.session.flush()


def wecom_chat_ids(invite: GroupInvite) -> list[str]:
    """The join way's groups: the one shown first, then the code's other offerable
    企业微信 groups (企业微信 moves to the next when one fills), at most 5."""
    shown = db.session.get(CommunityGroup, invite.group_id)
    others = [g.chat_id for g in groups.offerable_groups(invite.live_code_id, utcnow())
              if g.kind == "wecom" and g.id != shown.id]
    return [shown.chat_id, *others][:5]


def attach_join_way(invite_id: int, config_id: str, qr_code: str) -> None:
    invite = db.session.get(GroupInvite, invite_id)
    if invite.join_way_config_id is None:  # a parallel request may have attached one already
        invite.join_way_config_id, invite.join_way_qr = config_id, qr_code[:255]


def attach_contact_way(invite_id: int, config_id: str, qr_code: str) -> None:
    invite = db.session.get(GroupInvite, invite_id)
    if invite.contact_way_config_id is None:
        invite.contact_way_config_id, invite.contact_way_qr = config_id, qr_code[:255]


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

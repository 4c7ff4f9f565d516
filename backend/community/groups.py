"""Groups and live codes: what operators register, and which group an order is shown.

A group can be offered while it is open, not full and not expiring within a day (a
personal group's QR stops working after 7 days). A live code fills its groups in
order (oldest first), so the next one takes over when one fills: rotation. When the
groups a code can still offer drop to its ``low_water`` mark an alert is raised.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_, select
from sqlalchemy.exc import IntegrityError

from backend.apidoc import get_or_404
from backend.auth.models import User
from backend.catalog.models import Product
from backend.community.models import CommunityAlert, CommunityGroup, LiveCode
from backend.community.qr_images import clean_png
from backend.errors import ApiError
from backend.extensions import db
from backend.leaderboard.models import Campaign
from backend.orders.models import Order
from backend.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

EXPIRY_MARGIN = timedelta(days=1)  # a QR that dies within a day is not shown any more
PERSONAL_QR_DAYS = 7  # WeChat's limit for a group QR


def offerable(now: datetime):
    """SQL condition: the group may be shown to a buyer now."""
    return and_(CommunityGroup.status == "open", CommunityGroup.member_count < CommunityGroup.capacity,
                or_(CommunityGroup.expires_at.is_(None), CommunityGroup.expires_at > now + EXPIRY_MARGIN))


# ---- operators ---------------------------------------------------------------------

def _check_targets(args: dict) -> None:
    """A target that names nothing would be a foreign-key error (500): say which one."""
    if args.get("product_id") and db.session.get(Product, args["product_id"]) is None:
        raise ApiError("PRODUCT_NOT_FOUND", f"Product {args['product_id']} does not exist")
    if args.get("campaign_id") and db.session.get(Campaign, args["campaign_id"]) is None:
        raise ApiError("NOT_FOUND", f"Campaign {args['campaign_id']} does not exist")
    if args.get("distributor_id"):
        get_or_404(User, args["distributor_id"])


def create_live_code(args: dict) -> LiveCode:
    _check_targets(args)
    code = LiveCode(name=args["name"], text=args.get("text") or "", product_id=args.get("product_id"),
                    campaign_id=args.get("campaign_id"), distributor_id=args.get("distributor_id"),
                    priority=args.get("priority", 0), low_water=args.get("low_water", 1),
                    contact_userid=args.get("contact_userid"), active=True)
    db.session.add(code)
    db.session.flush()
    return code


def get_live_code(live_code_id: int) -> LiveCode:
    return get_or_404(LiveCode, live_code_id)


def get_group(group_id: int) -> CommunityGroup:
    return get_or_404(CommunityGroup, group_id, what="group")


def create_group(args: dict) -> CommunityGroup:
    get_live_code(args["live_code_id"])
    group = CommunityGroup(live_code_id=args["live_code_id"], kind=args["kind"], name=args["name"],
                           capacity=args.get("capacity", 200), member_count=args.get("member_count", 0),
                           status="open")
    if args["kind"] == "personal":
        now = utcnow()
        expires_at = as_utc(args.get("expires_at")) or now + timedelta(days=PERSONAL_QR_DAYS)
        if not args.get("qr_image") or expires_at <= now:
            raise ApiError("VALIDATION_ERROR", "a personal group needs qr_image and a future expires_at")
        group.qr_image, group.expires_at = clean_png(args["qr_image"]), expires_at
        group.qr_token = secrets.token_urlsafe(18)
    else:
        if not args.get("chat_id"):
            raise ApiError("VALIDATION_ERROR", "a 企业微信 group needs its chat_id")
        if db.session.scalar(select(CommunityGroup.id).where(CommunityGroup.chat_id == args["chat_id"])):
            raise ApiError("CHAT_ID_TAKEN", f"chat_id {args['chat_id']} is registered already")
        group.chat_id = args["chat_id"]
    try:  # a registration racing this one may have taken the chat_id since the check
        with db.session.begin_nested():
            db.session.add(group)
    except IntegrityError as exc:
        raise ApiError("CHAT_ID_TAKEN", f"chat_id {args['chat_id']} is registered already") from exc
    return group


def update_group(group: CommunityGroup, args: dict) -> CommunityGroup:
    """Close or reopen, change capacity, replace a personal group's QR (new expiry)."""
    if group.kind != "personal" and ("qr_image" in args or "expires_at" in args):
        raise ApiError("VALIDATION_ERROR", "a 企业微信 group is joined through its join way: it has no QR to upload")
    if "expires_at" in args and not args.get("qr_image"):
        raise ApiError("VALIDATION_ERROR", "expires_at comes with the new qr_image it belongs to")
    for name in ("status", "capacity", "name", "member_count"):
        if name in args:
            setattr(group, name, args[name])
    if args.get("qr_image"):
        group.qr_image = clean_png(args["qr_image"])
        group.expires_at = as_utc(args.get("expires_at")) or utcnow() + timedelta(days=PERSONAL_QR_DAYS)
    db.session.flush()
    return group


def group_view(group: CommunityGroup, now: datetime | None = None) -> dict:
    now = now or utcnow()
    expires_at = as_utc(group.expires_at)
    return {
        "id": group.id, "live_code_id": group.live_code_id, "kind": group.kind, "name": group.name,
        "chat_id": group.chat_id, "capacity": group.capacity, "member_count": group.member_count,
        "expires_at": expires_at, "status": group.status,
        "offerable": group.status == "open" and group.member_count < group.capacity
        and (expires_at is None or expires_at > now + EXPIRY_MARGIN),
        "qr_image_path": f"/api/v1/group-qr/{group.qr_token}" if group.qr_token else None,
    }


def needing_attention(fill_ratio: float, within: timedelta) -> list[CommunityGroup]:
    """Open groups near capacity or expiring soon, soonest trouble first."""
    now = utcnow()
    return list(db.session.scalars(
        select(CommunityGroup).where(
            CommunityGroup.status == "open",
            or_(CommunityGroup.member_count >= CommunityGroup.capacity * fill_ratio,
                and_(CommunityGroup.expires_at.is_not(None), CommunityGroup.expires_at <= now + within)))
        .order_by(CommunityGroup.expires_at.is_(None), CommunityGroup.expires_at, CommunityGroup.id)))


# ---- picking -------------------------------------------------------------------------

def candidate_codes(order: Order, product_ids: list[int]) -> list[LiveCode]:
    """Active codes whose every target matches the order, most specific first."""
    campaign_ok = or_(LiveCode.campaign_id.is_(None), LiveCode.campaign_id.in_(
        select(Campaign.id).where(Campaign.starts_at <= order.paid_at, Campaign.ends_at > order.paid_at)))
    specificity = sum(case((column.is_not(None), 1), else_=0)
                      for column in (LiveCode.product_id, LiveCode.campaign_id, LiveCode.distributor_id))
    return list(db.session.scalars(
        select(LiveCode).where(
            LiveCode.active.is_(True),
            or_(LiveCode.product_id.is_(None), LiveCode.product_id.in_(product_ids or [0])),
            or_(LiveCode.distributor_id.is_(None), LiveCode.distributor_id == (order.level1_id or 0)),
            campaign_ok)
        .order_by(specificity.desc(), LiveCode.priority.desc(), LiveCode.id)))


def offerable_groups(live_code_id: int, now: datetime) -> list[CommunityGroup]:
    return list(db.session.scalars(
        select(CommunityGroup).where(CommunityGroup.live_code_id == live_code_id, offerable(now))
        .order_by(CommunityGroup.id)))


def pick(order: Order, product_ids: list[int]) -> tuple[LiveCode, CommunityGroup] | None:
    """The group to show for a paid order, or None when no matching code has one left."""
    now = utcnow()
    for code in candidate_codes(order, product_ids):
        groups = offerable_groups(code.id, now)
        check_pool(code, len(groups))
        if groups:
            return code, groups[0]
    return None


def check_pool(code: LiveCode, offerable_count: int) -> None:
    """Raise one alert while a code is low (and log it); close it once groups are added."""
    open_alert = db.session.scalar(select(CommunityAlert).where(
        CommunityAlert.live_code_id == code.id, CommunityAlert.kind == "pool_low",
        CommunityAlert.resolved_at.is_(None)))
    if offerable_count <= code.low_water:
        message = f"live code {code.name!r} has {offerable_count} group(s) left to offer"[:255]
        if open_alert is None:
            db.session.add(CommunityAlert(live_code_id=code.id, kind="pool_low", message=message,
                                          usable_groups=offerable_count))
            log.warning("group pool low: %s", message)
        elif open_alert.usable_groups != offerable_count:  # one alert, kept current
            open_alert.usable_groups, open_alert.message = offerable_count, message
    elif open_alert is not None:
        open_alert.resolved_at = utcnow()

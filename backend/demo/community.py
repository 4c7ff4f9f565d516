"""The demo shop's campaign, community groups and share traffic.

The campaign (leaderboard campaigns service), the live code and its groups
(community groups service; the personal groups' QR images are PNGs drawn with
``qrcode``), the group invites buyers were shown after paying (``invites.show``,
opened and saved through ``community.service.record_events``, as the mini-program
reports them) and the distributors' share / visit events. As for orders, the times
the services stamp are moved back to the moments planned, then the funnel rollup of
those days is recounted from the invites (``community.rebuild``).
"""

from __future__ import annotations

import base64
import io
import random
from datetime import datetime, timedelta

import qrcode
from sqlalchemy import select, update

from backend.auth.models import User
from backend.community import groups as community_groups
from backend.community import invites, rebuild
from backend.community import service as events
from backend.community.models import CommunityGroup, GroupInvite, LiveCode, ShareEvent
from backend.extensions import db
from backend.leaderboard import campaigns
from backend.leaderboard.models import Campaign
from backend.timeutil import SHOP_TZ

CAMPAIGN_NAME = "双十二元器件分销冲榜赛(演示)"
LIVE_CODE_NAME = "元器件交流群(演示)"
GROUPS = [  # (name, kind, capacity, member_count)
    ("元器件交流1群", "personal", 200, 186),
    ("元器件交流2群", "personal", 200, 42),
    ("硬件工程师企业微信群", "wecom", 500, 120),
]
WECOM_CHAT_ID = "wrDEMOchat0000000000000000001"


def ensure_campaign(now: datetime) -> tuple[Campaign, bool]:
    found = db.session.scalar(select(Campaign).where(Campaign.name == CAMPAIGN_NAME))
    if found is not None:
        return found, False
    prizes = [{"from_rank": 1, "to_rank": 1, "amount_fen": 88_800},
              {"from_rank": 2, "to_rank": 3, "amount_fen": 38_800},
              {"from_rank": 4, "to_rank": 10, "amount_fen": 8_800}]
    return campaigns.create(CAMPAIGN_NAME, "commission", now - timedelta(days=20), now + timedelta(days=10),
                            prizes), True


def qr_png(text: str) -> str:
    """A group QR as the operator would upload it: a PNG, base64."""
    out = io.BytesIO()
    qrcode.make(text, box_size=6, border=2).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def ensure_groups(now: datetime, campaign_id: int) -> tuple[LiveCode, int]:
    """The live code and its groups; returns the code and how many groups were added."""
    code = db.session.scalar(select(LiveCode).where(LiveCode.name == LIVE_CODE_NAME))
    if code is None:
        code = community_groups.create_live_code({
            "name": LIVE_CODE_NAME, "text": "扫码进群,领取元器件选型手册和优惠券", "campaign_id": campaign_id,
            "priority": 10, "low_water": 1})
    have = set(db.session.scalars(select(CommunityGroup.name).where(CommunityGroup.live_code_id == code.id)))
    added = 0
    for name, kind, capacity, members in GROUPS:
        if name in have:
            continue
        args = {"live_code_id": code.id, "kind": kind, "name": name, "capacity": capacity, "member_count": members}
        if kind == "personal":
            args |= {"qr_image": qr_png(f"https://weixin.qq.com/g/DEMO-{name}"), "expires_at": now + timedelta(days=6)}
        else:
            args["chat_id"] = WECOM_CHAT_ID
        community_groups.create_group(args)
        added += 1
    db.session.flush()
    return code, added


def show_invites(paid: list[tuple[int, int, datetime]], rng: random.Random) -> list[tuple[int, datetime]]:
    """Show about two paid orders in three their group invite (the page after paying),
    and have some of the buyers open and save it. ``paid`` = (user_id, order_id,
    paid_at); returns the invites shown with their moment, to be backdated."""
    shown = []
    for user_id, order_id, paid_at in paid:
        if rng.random() > 2 / 3:
            continue
        user = db.session.get(User, user_id)
        if invites.show(user, order_id) is None:
            continue
        shown.append((order_id, paid_at + timedelta(seconds=rng.randint(5, 40))))
        roll = rng.random()
        if roll < 0.6:
            kinds = ["open", "save"] if roll < 0.3 else ["open"]
            events.record_events([{"type": k, "order_id": order_id, "page": "pages/order/paid"} for k in kinds],
                                 user_id)
    db.session.flush()
    return shown


def backdate_invites(shown: list[tuple[int, datetime]]) -> None:
    for order_id, at in shown:
        later = at + timedelta(minutes=1)
        for column, value in (("shown_at", at), ("opened_at", later), ("saved_at", later)):
            db.session.execute(update(GroupInvite).where(GroupInvite.order_id == order_id,
                                                         getattr(GroupInvite, column).is_not(None))
                               .values({column: value}).execution_options(synchronize_session=False))
        db.session.execute(update(ShareEvent).where(ShareEvent.order_id == order_id).values(created_at=later)
                           .execution_options(synchronize_session=False))


def recount_funnel(first: datetime, now: datetime) -> int:
    """The invite rollup of the demo's days, from the invites (their shown moments moved)."""
    return rebuild.rebuild(first.astimezone(SHOP_TZ).date(), now.astimezone(SHOP_TZ).date() + timedelta(days=1))


def share_traffic(sharers: list[tuple[int, str, datetime]], visitors: list[tuple[int, str, datetime]],
                  product_ids: list[int], now: datetime, rng: random.Random) -> int:
    """Distributors share product pages (``sharers`` = (user_id, invite_code, since)); each
    bound customer visited once through their inviter's code when they signed up
    (``visitors`` = (user_id, inviter's code, at)); some visits come without a login.
    Returns the events recorded."""
    recorded = 0
    for user_id, code, since in sharers:
        for _ in range(rng.randint(3, 12)):
            at = since + (now - since) * rng.random()
            product = rng.choice(product_ids)
            recorded += _at(at, [{"type": "share", "share_code": code, "page": "pages/product/detail",
                                  "target": str(product)}], user_id)
            if rng.random() < 0.5:  # a friend opened the link without logging in
                recorded += _at(at + timedelta(minutes=rng.randint(1, 90)), [
                    {"type": "visit", "share_code": code, "page": "pages/product/detail", "target": str(product)}],
                    None)
    for user_id, code, at in visitors:
        recorded += _at(at - timedelta(minutes=2), [{"type": "visit", "share_code": code, "page": "pages/index/index"}],
                        user_id)
    return recorded


def _at(at: datetime, batch: list[dict], user_id: int | None) -> int:
    """Record a batch through the service, then move its rows to ``at``."""
    before = db.session.scalar(select(ShareEvent.id).order_by(ShareEvent.id.desc()).limit(1)) or 0
    count = events.record_events(batch, user_id)
    db.session.execute(update(ShareEvent).where(ShareEvent.id > before).values(created_at=at)
                       .execution_options(synchronize_session=False))
    return count

"""Share events: the raw facts the fission analytics count."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.orders.models import Order
from backend.timeutil import utcnow

EVENT_TYPES = ("share", "visit", "open", "save", "page_view")


class ShareEvent(db.Model):
    """One thing a user did with a share link or page. Append-only, written in
    batches by ``community.service.record_events`` (one INSERT per batch)."""

    __tablename__ = "share_events"
    __table_args__ = (
        Index("ix_share_events_type_created", "type", "created_at"),
        Index("ix_share_events_sharer_created", "sharer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16))  # see EVENT_TYPES
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: sent without a token
    share_code: Mapped[str | None] = mapped_column(String(32))
    # the owner of share_code (users.invite_code), resolved when the batch arrived
    sharer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    page: Mapped[str | None] = mapped_column(String(128))
    target: Mapped[str | None] = mapped_column(String(64))
    client_ts: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the client's clock, as sent
    # open/save of the group invite shown after paying this order (GET /orders/{id}/group-invite)
    order_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # our clock, UTC


# ---- group invites (私域导流) -------------------------------------------------------

GROUP_KINDS = ("personal", "wecom")
JOIN_SOURCES = ("wecom_group", "wecom_contact", "import", "manual")
# MySQL's BLOB stops at 64 KB: MEDIUMBLOB there. Uploads are capped far lower by MAX_CONTENT_LENGTH.
QRImage = LargeBinary().with_variant(mysql.MEDIUMBLOB(), "mysql", "mariadb")


class LiveCode(db.Model):
    """A pool of groups shown after payment (活码). Targeting fields left empty match
    every order; a code that names more of them wins over one that names fewer."""

    __tablename__ = "group_live_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(String(200), default="")  # the short text shown with the QR
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"))
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # the alert fires when the groups that can still be offered are this many or fewer
    low_water: Mapped[int] = mapped_column(Integer, default=1)
    contact_userid: Mapped[str | None] = mapped_column(String(64))  # 企业微信 staff for a 联系我 contact way
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommunityGroup(db.Model):
    """A WeChat group buyers are invited to: a personal group (uploaded QR that expires
    after 7 days) or a 企业微信 customer group (chat_id, joined through a join way)."""

    __tablename__ = "community_groups"
    __not_found_code__ = "GROUP_NOT_FOUND"  # the API contract's name for it
    __table_args__ = (Index("ix_community_groups_code_status", "live_code_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    live_code_id: Mapped[int] = mapped_column(ForeignKey("group_live_codes.id"))
    kind: Mapped[str] = mapped_column(String(16))  # see GROUP_KINDS
    name: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    qr_image: Mapped[bytes | None] = mapped_column(QRImage)
    qr_token: Mapped[str | None] = mapped_column(String(32), unique=True)  # public, unguessable image URL
    capacity: Mapped[int] = mapped_column(Integer, default=200)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupInvite(db.Model):
    """The invite shown after paying one order: one row per order, created the first time
    it is shown. ``state`` (at most 30 characters, 企业微信's limit) rides on the join way
    and the contact way and comes back in the callback, naming this invite."""

    __tablename__ = "group_invites"
    __table_args__ = (Index("ix_group_invites_user", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the order's level 1
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))  # the order's first line
    paid_day: Mapped[date] = mapped_column(Date)  # Asia/Shanghai: the funnel's day
    live_code_id: Mapped[int | None] = mapped_column(ForeignKey("group_live_codes.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("community_groups.id"))
    state: Mapped[str] = mapped_column(String(30), unique=True)
    join_way_config_id: Mapped[str | None] = mapped_column(String(64))
    join_way_qr: Mapped[str | None] = mapped_column(String(255))
    contact_way_config_id: Mapped[str | None] = mapped_column(String(64))
    contact_way_qr: Mapped[str | None] = mapped_column(String(255))
    # Held by the one request creating the way in 企业微信 (``invites.claim_way``).
    join_way_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_way_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    shown_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    joined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    contact_added_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupJoin(db.Model):
    """Someone joined a group (or added the shop as a contact). ``dedupe_key`` makes a
    replayed callback, a second import or a second confirmation count once."""

    __tablename__ = "group_joins"
    __table_args__ = (Index("ix_group_joins_order", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # see JOIN_SOURCES
    group_id: Mapped[int | None] = mapped_column(ForeignKey("community_groups.id"))
    member: Mapped[str] = mapped_column(String(64))  # external userid, or the name an operator typed
    unionid: Mapped[str | None] = mapped_column(String(64))
    join_scene: Mapped[int | None] = mapped_column(Integer)
    state: Mapped[str | None] = mapped_column(String(30))
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("group_invites.id"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CommunityAlert(db.Model):
    """An operator must act: a live code is running out of groups to offer."""

    __tablename__ = "community_alerts"
    __table_args__ = (Index("ix_community_alerts_open", "live_code_id", "kind", "resolved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    live_code_id: Mapped[int] = mapped_column(ForeignKey("group_live_codes.id"))
    kind: Mapped[str] = mapped_column(String(24))  # pool_low
    message: Mapped[str] = mapped_column(String(255))
    usable_groups: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# ---- funnel rollups: kept up to date by each step, read by the report ----------------
# One row per day and value of ONE dimension (dim "distributor", "product" or "group";
# dim_id 0 stands for none). Each fact bumps three rows, and a month's report reads
# days × (distributors + products + groups) rows, never the events.

FUNNEL_DIMS = ("distributor", "product", "group")


class FunnelDaily(db.Model):
    """Invites by the paid day of their order (Asia/Shanghai) and one dimension."""

    __tablename__ = "funnel_daily"
    # A report reads one dimension over a range of days: (dim, day) is that range alone,
    # where the key's (day, ...) would read every dimension's rows of those days.
    __table_args__ = (Index("ix_funnel_daily_dim_day", "dim", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dim: Mapped[str] = mapped_column(String(12), primary_key=True)
    dim_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    shown: Mapped[int] = mapped_column(Integer, default=0)
    opened: Mapped[int] = mapped_column(Integer, default=0)
    saved: Mapped[int] = mapped_column(Integer, default=0)
    joined: Mapped[int] = mapped_column(Integer, default=0)
    contacts: Mapped[int] = mapped_column(Integer, default=0)
    join_seconds: Mapped[int] = mapped_column(BigInteger, default=0)  # sum of shown → joined


class FunnelPaidDaily(db.Model):
    """Paid orders by paid day and one dimension (distributor, product, or the whole shop:
    dim ``shop``, dim_id 0), for days that are over (listed in ``FunnelPaidDay``); later
    days are counted from the orders table."""

    __tablename__ = "funnel_paid_daily"
    __table_args__ = (Index("ix_funnel_paid_daily_dim_day", "dim", "day"),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    dim: Mapped[str] = mapped_column(String(12), primary_key=True)
    dim_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    paid_orders: Mapped[int] = mapped_column(Integer, default=0)


class FunnelPaidDay(db.Model):
    __tablename__ = "funnel_paid_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Paid orders of one day are read by paid_at: the funnel's rollup of a finished day.
Index("ix_orders_paid_at", Order.paid_at)

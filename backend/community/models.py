"""Share events: the raw facts the fission analytics count."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # our clock, UTC

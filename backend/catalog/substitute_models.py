"""Substitutes (替代料): spec groups proposed across brands, the directed links an
operator approves, a customer's brand rules (AVL and refused brands), and the memory of
what each customer accepted or refused for each part."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.extensions import UTCDateTime, db
from backend.timeutil import utcnow


class SubstituteGroup(db.Model):
    """Parts of different brands with identical key parameters (``spec``: category,
    package and the typed parameters, written out). Proposed by the system; approving it
    links every member to every other (both ways); rejecting it links none."""

    __tablename__ = "substitute_groups"
    __table_args__ = (Index("ix_substitute_groups_status_id", "status", "id"),
                      Index("ix_substitute_groups_status_decided", "status", "decided_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    spec: Mapped[str] = mapped_column(String(200), unique=True)
    category: Mapped[str] = mapped_column(String(32))
    package: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="proposed")  # proposed | approved | rejected
    decided_by: Mapped[int | None] = mapped_column(Integer)  # admin id
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # the operator's why ("X7R grades differ"), for the next operator; the audit keeps each one
    decision_note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubstituteGroupPart(db.Model):
    """A part is in one spec group at most: its spec is one string."""

    __tablename__ = "substitute_group_parts"

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("substitute_groups.id"), index=True)


class SubstituteLink(db.Model):
    """May ``substitute_part_id`` replace ``part_id`` when ``part_id`` is short? A directed
    edge: ``allowed`` False is an operator's "not this way" (one-way pairs), which a group
    approval never overrides. ``source``: group (from an approved group) or hand."""

    __tablename__ = "substitute_links"

    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    substitute_part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(8))  # group | hand
    group_id: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(Integer)  # admin id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CustomerBrandRule(db.Model):
    """A customer's approved brands (their AVL: when they have any, only those are offered)
    and refused brands (never offered)."""

    __tablename__ = "customer_brand_rules"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    brand_id: Mapped[int] = mapped_column(ForeignKey("brands.id"), primary_key=True)
    rule: Mapped[str] = mapped_column(String(8))  # approved | refused
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubstituteMemory(db.Model):
    """The last substitute this customer accepted for this part: offered first next time."""

    __tablename__ = "substitute_memory"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    substitute_part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"))
    order_id: Mapped[int | None] = mapped_column(Integer)
    accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubstituteRefusal(db.Model):
    """This customer refused this substitute for this part: never offered first again."""

    __tablename__ = "substitute_refusals"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    substitute_part_id: Mapped[int] = mapped_column(ForeignKey("parts.id"), primary_key=True)
    refused_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

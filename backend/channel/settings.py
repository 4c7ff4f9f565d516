"""The channel health settings (``GET/PUT /api/v1/admin/settings/channel``): the
dormant and at-risk thresholds and what freezing and revoking do."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.admin import audit
from backend.commission.models import Setting
from backend.extensions import db
from backend.settings_cache import CachedDocument
from backend.transactions import after_commit

FREEZE_COMMISSION = ("continue", "stop")
REVOKE_BINDINGS = ("keep", "release")


@dataclass(frozen=True)
class ChannelSettings:
    dormant_days: int = 30  # no paid level-1 order in this many days: dormant
    gmv_drop_pct: int = 50  # at risk: the last 30 days' GMV at least this much below the 30 days before
    refund_rate_bp: int = 3000  # at risk: 90-day refunds at least this share of 90-day paid (bp)
    min_conversion_bp: int = 100  # at risk: share orders / share visits below this (bp) ...
    min_visits: int = 50  # ... once they have at least this many visits in 30 days
    freeze_commission: str = "continue"  # a frozen distributor's commission: "continue" | "stop"
    revoke_bindings: str = "keep"  # revoking: customers stay bound ("keep") or are released


KEY = "channel"
_document = CachedDocument(KEY, ChannelSettings)
_from_document = _document.from_document


def get_settings() -> ChannelSettings:
    """This process's copy, at most a second old (every paid order reads it)."""
    return _document.get()


_LOCKED_ROW = select(Setting).where(Setting.key == KEY).with_for_update().execution_options(populate_existing=True)


def save_settings(changes: dict) -> ChannelSettings:
    """Merge a partial update onto the stored settings, under the row's lock."""
    row = db.session.scalar(_LOCKED_ROW)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(Setting(key=KEY, value=asdict(ChannelSettings())))
        except IntegrityError:
            pass
        row = db.session.scalar(_LOCKED_ROW)
    before = asdict(_from_document(row.value))
    updated = ChannelSettings(**{**before, **changes})
    row.value = asdict(updated)
    db.session.flush()
    audit.record_change("settings", KEY, *audit.changed(before, asdict(updated)))
    _document.clear()
    after_commit(_document.clear)
    return updated

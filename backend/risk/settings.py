"""The risk rules operators switch on and off, and their thresholds (docs/risk.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from backend.admin import audit
from backend.commission.models import Setting
from backend.errors import ApiError
from backend.extensions import db
from backend.settings_cache import CachedDocument
from backend.transactions import after_commit


@dataclass(frozen=True)
class RiskSettings:
    # second account / self-referral: the buyer shares a device, unionid or phone with an earner
    second_account: bool = True
    # bind farm: >= bind_farm_binds binds to one inviter from one IP or device within the minutes
    bind_farm: bool = True
    bind_farm_binds: int = 5
    bind_farm_minutes: int = 10
    # refund after payout: a distributor's orders refunded after their commission was paid out
    refund_after_payout: bool = True
    refund_after_payout_count: int = 3
    refund_after_payout_rate_bp: int = 2000  # and at least this share of their paid-out orders
    # buy-and-refund loop: among one distributor's customers, paid-then-refunded orders in the window
    refund_loop: bool = True
    refund_loop_orders: int = 5
    refund_loop_days: int = 7
    # conversion outlier: share -> order conversion this many times the shop's, with a minimum volume
    conversion_outlier: bool = True
    conversion_factor: int = 5
    conversion_min_orders: int = 20
    window_days: int = 30  # the distributor pass looks this far back

    version: int = 0


LIMITS = {
    "bind_farm_binds": (2, 1000), "bind_farm_minutes": (1, 1440), "refund_after_payout_count": (1, 10_000),
    "refund_after_payout_rate_bp": (0, 10_000), "refund_loop_orders": (2, 10_000), "refund_loop_days": (1, 365),
    "conversion_factor": (2, 1000), "conversion_min_orders": (1, 1_000_000), "window_days": (1, 365),
}
KEY = "risk"
_document = CachedDocument(KEY, RiskSettings)
_from_document = _document.from_document


def get_risk_settings() -> RiskSettings:
    """This process's copy, at most a second old (every paid order reads it)."""
    return _document.get()


def validate(changes: dict) -> None:
    for name, (low, high) in LIMITS.items():
        value = changes.get(name)
        if value is not None and not low <= value <= high:
            raise ApiError("INVALID_RISK_SETTINGS", f"{name} must be between {low} and {high}",
                           details={"field": name, "min": low, "max": high})


def save_risk_settings(changes: dict) -> RiskSettings:
    from sqlalchemy import select

    validate(changes)
    row = db.session.scalar(select(Setting).where(Setting.key == KEY).with_for_update()
                            .execution_options(populate_existing=True))
    if row is None:
        row = Setting(key=KEY, value=asdict(RiskSettings()))
        db.session.add(row)
    current = asdict(_from_document(row.value))
    before = dict(current)
    current.update({k: v for k, v in changes.items() if k != "version" and v is not None})
    current["version"] += 1
    updated = RiskSettings(**current)
    row.value = asdict(updated)
    db.session.flush()
    audit.record_change("settings", "risk", *audit.changed(before, asdict(updated)))
    _document.clear()
    after_commit(_document.clear)
    return updated

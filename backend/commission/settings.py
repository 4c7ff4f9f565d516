"""The distribution settings operators edit (rates, binding rules, payout rail)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.admin import audit
from backend.commission.models import Setting
from backend.errors import ApiError
from backend.extensions import db
from backend.settings_cache import CachedDocument
from backend.transactions import after_commit

PAYOUT_RAILS = ("wallet", "wechat_transfer", "wechat_legacy_transfer")
BIND_MODES = ("permanent", "protection", "until_first_order")
DISTRIBUTION_MODES = ("everyone", "approval")


@dataclass(frozen=True)
class DistributionSettings:
    mode: str = "everyone"  # who becomes a distributor: everyone who applies, or after approval
    bind_mode: str = "permanent"  # first touch is permanent by default
    protection_days: int = 30
    level1_bp: int = 1000  # 10%
    level2_bp: int = 500  # 5%
    cap_bp: int = 3000  # the levels together never take more than 30% of the paid amount
    self_purchase: bool = False
    hold_days: int = 0  # 0: commission is available at once
    payout_rail: str = "wallet"
    min_transfer_fen: int = 10  # WeChat's minimum for transfer bills (0.1 yuan)
    legacy_min_transfer_fen: int = 30  # 企业付款 minimum (0.3 yuan)
    daily_transfer_limit_fen: int = 200_000  # per user per day; the rest waits in the wallet
    level_grace_periods: int = 0  # 保级: closed months a level's conditions may be missed before a downgrade
    version: int = 0  # counts the saves (not a setting): a client's If-Match / "version" is checked against it

    def minimum_for(self, rail: str) -> int:
        return self.legacy_min_transfer_fen if rail == "wechat_legacy_transfer" else self.min_transfer_fen


KEY = "distribution"
CACHE_SECONDS = 1.0  # a process's copy (backend/settings_cache.py); tests lengthen it
_document = CachedDocument(KEY, DistributionSettings, seconds=lambda: CACHE_SECONDS)
_from_document = _document.from_document


def get_settings() -> DistributionSettings:
    """For reads (every paid order): this process's copy, at most a second old."""
    return _document.get()


_LOCKED_ROW = select(Setting).where(Setting.key == KEY).with_for_update() \
    .execution_options(populate_existing=True)


def _locked_row() -> Setting:
    """The settings row, read from the database under its row lock (never the cache):
    two saves queue on it, so each merges onto what the other committed. SQLite's
    BEGIN IMMEDIATE serialises them anyway (FOR UPDATE is left out there)."""
    row = db.session.scalar(_LOCKED_ROW)
    if row is None:  # the first save ever: create the row, or take the one a racing save created
        try:
            with db.session.begin_nested():
                db.session.add(Setting(key=KEY, value=asdict(DistributionSettings())))
        except IntegrityError:
            pass
        row = db.session.scalar(_LOCKED_ROW)
    return row


def _check_levels_under(cap_bp: int) -> None:
    """A lower cap must still hold every distributor level's two rates (the payment's
    cap would cut them anyway; refused here so what the operators read stays true)."""
    from sqlalchemy import func

    from backend.levels.models import DistributorLevel

    highest = db.session.scalar(select(func.max(DistributorLevel.level1_bp + DistributorLevel.level2_bp)))
    if highest is not None and highest > cap_bp:
        raise ApiError("LEVEL_RATES_OVER_CAP", f"a distributor level's rates together ({highest} bp) exceed the "
                       f"new cap ({cap_bp} bp): lower the level first", details={"cap_bp": cap_bp})


def save_settings(changes: dict, expected_version: int | None = None) -> DistributionSettings:
    """Merge a partial update onto the stored settings, read under the row lock (a
    process's cached copy may be a second old: merged onto it, a change another
    process just saved would be undone). With ``expected_version`` (the client's
    If-Match or ``version``) a save made since the client read them is refused."""
    row = _locked_row()
    current = asdict(_from_document(row.value))
    before = dict(current)
    if expected_version is not None and expected_version != current["version"]:
        raise ApiError("STALE_SETTINGS", f"the settings changed since version {expected_version}: "
                       f"they are at version {current['version']}; read them again",
                       details={"version": current["version"]})
    current.update({k: v for k, v in changes.items() if k != "version"})
    if current["cap_bp"] < before["cap_bp"]:
        _check_levels_under(current["cap_bp"])
    current["version"] += 1
    updated = DistributionSettings(**current)
    row.value = asdict(updated)
    db.session.flush()
    audit.record_change("settings", "distribution", *audit.changed(before, asdict(updated)))
    # Forgotten now (the rest of this transaction reads the change) and again once it
    # is committed: a read by another thread in between kept the old settings.
    _document.clear()
    after_commit(_document.clear)
    return updated

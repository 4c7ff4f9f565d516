"""The distribution settings operators edit (rates, binding rules, payout rail)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields

from backend.commission.models import Setting
from backend.extensions import db
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

    def minimum_for(self, rail: str) -> int:
        return self.legacy_min_transfer_fen if rail == "wechat_legacy_transfer" else self.min_transfer_fen


KEY = "distribution"
# Every paid order reads the settings; a process keeps them for a second. A change
# made by an operator reaches the other processes within that second (the process
# that saved it sees it at once).
CACHE_SECONDS = 1.0
_cache: dict[str, tuple[float, DistributionSettings]] = {}


def get_settings() -> DistributionSettings:
    cache_key = str(db.engine.url)
    hit = _cache.get(cache_key)
    if hit is not None and time.monotonic() - hit[0] < CACHE_SECONDS:
        return hit[1]
    row = db.session.get(Setting, KEY)
    known = {f.name for f in fields(DistributionSettings)}
    settings = DistributionSettings(**{k: v for k, v in row.value.items() if k in known}) if row \
        else DistributionSettings()
    _cache[cache_key] = (time.monotonic(), settings)
    return settings


def save_settings(changes: dict) -> DistributionSettings:
    current = asdict(get_settings())
    current.update(changes)
    updated = DistributionSettings(**current)
    row = db.session.get(Setting, KEY)
    if row is None:
        db.session.add(Setting(key=KEY, value=asdict(updated)))
    else:
        row.value = asdict(updated)
    db.session.flush()
    # Forgotten now (the rest of this transaction reads the change) and again once it
    # is committed: a read by another thread in between kept the old settings.
    _cache.clear()
    after_commit(_cache.clear)
    return updated

"""The distribution settings operators edit (rates, binding rules, payout rail)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from backend.commission.models import Setting
from backend.extensions import db

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


def get_settings() -> DistributionSettings:
    row = db.session.get(Setting, KEY)
    if row is None:
        return DistributionSettings()
    known = {f.name for f in fields(DistributionSettings)}
    return DistributionSettings(**{k: v for k, v in row.value.items() if k in known})


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
    return updated

"""What every emulator endpoint needs: config, ledger, faults, notifier, keys."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from backend.config import WeChatConfig
from backend.wechat import sandbox_keys
from backend.wechat.emulator.faults import FaultBook
from backend.wechat.emulator.notifier import Notifier
from backend.wechat.emulator.signing import load_private_key, load_public_key
from backend.wechat.emulator.state import Ledger

EXTENSION = "wechat_emulator"


@dataclass
class EmulatorContext:
    cfg: WeChatConfig
    ledger: Ledger
    faults: FaultBook
    notifier: Notifier
    merchant_public_key: object  # verifies the merchant's v3 requests
    platform_private_key: object  # signs v3 answers and notifies, as WeChat Pay would

    @classmethod
    def build(cls, cfg: WeChatConfig) -> EmulatorContext:
        ledger, faults = Ledger(), FaultBook()
        return cls(
            cfg=cfg,
            ledger=ledger,
            faults=faults,
            notifier=Notifier(ledger, faults),
            merchant_public_key=load_public_key(sandbox_keys.merchant_keys(cfg.key_dir).public_pem),
            platform_private_key=load_private_key(sandbox_keys.platform_keys(cfg.key_dir).private_pem),
        )


def ctx() -> EmulatorContext:
    return current_app.extensions[EXTENSION]

"""The emulator's in-memory ledger: everything WeChat would remember, behind one lock.

Records are plain dicts so the /sandbox/ledger endpoint can hand out copies as JSON
and tests can assert exactly-once on them.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from datetime import datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8))  # WeChat reports Beijing time everywhere

LEDGER_KINDS = ("payments", "refunds", "transfers", "legacy_transfers", "messages")
# Fields kept for the emulator's own use that a ledger reader has no need to see.
_PRIVATE_FIELDS = ("notify_xml", "notify_body", "notify_headers")


def now_cn() -> datetime:
    return datetime.now(CHINA_TZ).replace(microsecond=0)


def rfc3339(moment: datetime) -> str:
    return moment.isoformat()


def compact(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


class Ledger:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, float] = {}
            self.payments: dict[str, dict] = {}
            self.refunds: dict[str, dict] = {}
            self.transfers: dict[str, dict] = {}
            self.legacy_transfers: dict[str, dict] = {}
            self.messages: list[dict] = []
            self.notifies: list[dict] = []
            self._seq = itertools.count(1)

    def next_id(self, prefix: str, width: int = 28) -> str:
        """A unique, digit-only id in WeChat's style (date, then a sequence)."""
        with self.lock:
            seq = next(self._seq)
        head = prefix + now_cn().strftime("%Y%m%d%H%M%S")
        return head + str(seq).zfill(max(width - len(head), 4))

    # ---- access tokens ------------------------------------------------------------
    def issue_token(self, token: str, ttl: int) -> None:
        with self.lock:
            self.tokens[token] = time.time() + ttl

    def token_valid(self, token: str | None) -> bool:
        with self.lock:
            return bool(token) and self.tokens.get(token, 0) > time.time()

    # ---- reading ------------------------------------------------------------------
    def snapshot(self, filters: dict | None = None) -> dict:
        filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
        with self.lock:
            out = {
                "payments": list(self.payments.values()),
                "refunds": list(self.refunds.values()),
                "transfers": list(self.transfers.values()),
                "legacy_transfers": list(self.legacy_transfers.values()),
                "messages": list(self.messages),
                "notifies": list(self.notifies),
            }
            out = copy.deepcopy(out)
        for kind, rows in out.items():
            rows = [{k: v for k, v in row.items() if k not in _PRIVATE_FIELDS} for row in rows]
            # ?out_bill_no=X keeps only records carrying that field with that value.
            out[kind] = [row for row in rows if all(k in row and str(row[k]) == v for k, v in filters.items())]
        return out

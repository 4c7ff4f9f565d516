"""A settings document (one ``settings`` row, a frozen dataclass) as each process reads it.

Every paid order reads the distribution, risk and channel settings; a process keeps
its copy for ``CACHE_SECONDS``. A change reaches the other processes within that
second; the process that saved it clears its copy at once (and again after the
commit)."""

from __future__ import annotations

import time
from dataclasses import fields
from typing import Generic, TypeVar

from backend.extensions import db

T = TypeVar("T")
CACHE_SECONDS = 1.0


class CachedDocument(Generic[T]):
    def __init__(self, key: str, cls: type[T], seconds=lambda: CACHE_SECONDS) -> None:
        self.key, self.cls, self.seconds = key, cls, seconds
        self._known = {f.name for f in fields(cls)}
        self._cache: dict[str, tuple[float, T]] = {}

    def from_document(self, value: dict | None) -> T:
        return self.cls(**{k: v for k, v in (value or {}).items() if k in self._known})

    def get(self) -> T:
        from backend.commission.models import Setting

        cache_key = str(db.engine.url)
        hit = self._cache.get(cache_key)
        if hit is not None and time.monotonic() - hit[0] < self.seconds():
            return hit[1]
        row = db.session.get(Setting, self.key)
        settings = self.from_document(row.value if row else None)
        self._cache[cache_key] = (time.monotonic(), settings)
        return settings

    def clear(self) -> None:
        self._cache.clear()

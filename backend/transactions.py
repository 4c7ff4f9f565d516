"""Transactions that may lose a lock race and are simply run again.

A deadlock victim's transaction is rolled back by the database; what it wanted to do
is still valid, and after the winner's commit it usually no longer has to wait at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from backend.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

# PostgreSQL: deadlock_detected, serialization_failure; MySQL/MariaDB: ER_LOCK_DEADLOCK,
# ER_LOCK_WAIT_TIMEOUT.
_PG_STATES = ("40P01", "40001")
_MYSQL_CODES = (1213, 1205)


def is_deadlock(exc: OperationalError) -> bool:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) in _PG_STATES or (getattr(orig, "args", None) or [None])[0] in _MYSQL_CODES


def commit_with_retry(work: Callable[[], T], attempts: int = 3) -> T:
    """Run ``work`` and commit; if the database picked this transaction as a deadlock
    victim, roll back and run it again (at most ``attempts`` times)."""
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except OperationalError as exc:
            db.session.rollback()
            if attempt == attempts or not is_deadlock(exc):
                raise
            log.info("lost a lock race (%s); running the transaction again", exc.orig.__class__.__name__)
    raise AssertionError("unreachable")

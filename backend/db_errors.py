"""What a database error means, for the code that decides what to do about it (run the
transaction again, answer "try again"). No imports from the app: the error handlers and
the transaction boundary both use it."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

# PostgreSQL: deadlock_detected, serialization_failure; MySQL/MariaDB: ER_LOCK_DEADLOCK,
# ER_LOCK_WAIT_TIMEOUT.
_PG_STATES = ("40P01", "40001")
_MYSQL_CODES = (1213, 1205)


def is_deadlock(exc: BaseException) -> bool:
    """Whether the database picked this transaction as a victim. Walks the exceptions the
    error arose from: a victim inside a savepoint (``begin_nested``) surfaces as the failed
    ROLLBACK TO SAVEPOINT (MariaDB: 1305, the savepoint went with the whole transaction),
    raised while handling the deadlock itself."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, DBAPIError) and (
                getattr(exc.orig, "sqlstate", None) in _PG_STATES
                or (getattr(exc.orig, "args", None) or [None])[0] in _MYSQL_CODES):
            return True
        exc = exc.__cause__ or exc.__context__
    return False

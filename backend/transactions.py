"""The one transaction boundary: who commits, when side effects run, and retries.

The rule (indico's, warehouse's): a request commits once, at its end, and rolls back
on an error; a job likewise. Services only flush. Nothing else commits, and that is
enforced, not hoped for: inside a request or a job a ``session.commit()`` that does
not come from this module raises ``CommitOutsideBoundary``.

* ``request_boundary`` is used by the app's ``dispatch_request`` (``backend/__init__``):
  every route commits when it answers below 400 and rolls back otherwise.
* ``unit_of_work()`` is the boundary of a job (the ``@job`` wrapper), a CLI command,
  and of each step of a batch job that commits as it goes (the credit loop, a
  statement run): a block that commits at its end and rolls back on an error.
* ``commit_before_remote_call()`` is the only way to end a transaction early, for the
  few places that must not hold row locks (or leave a decision unrecorded) while they
  wait for WeChat.
* ``after_commit(fn, *args)`` registers a side effect (an enqueue, a board update, a
  message) that runs once the current transaction has committed, and is discarded if
  it rolls back. If Redis is down when it runs, the enqueue fails quietly and the
  sweeper, which reads the database, is the safety net.
* ``run_in_transaction(work)`` runs a unit of work again when the database picked it
  as a deadlock victim (binds and moves, which lock a chain of users).

A ``unit_of_work`` or ``commit_before_remote_call`` inside a request commits what the
request did so far: that is the point of naming them.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterator
from typing import TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend.db_errors import is_deadlock
from backend.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

_CALLBACKS = "fission_after_commit"  # session.info key: side effects waiting for the commit


class CommitOutsideBoundary(RuntimeError):
    """A commit inside a request or a job that the boundary did not make."""


# Set while a request or a job runs (commits must come from here), and while this
# module itself commits (that commit is allowed).
_in_scope: contextvars.ContextVar[str | None] = contextvars.ContextVar("fission_tx_scope", default=None)
_committing: contextvars.ContextVar[bool] = contextvars.ContextVar("fission_tx_committing", default=False)


def after_commit(fn: Callable[..., object], *args, **kwargs) -> None:
    """Run ``fn(*args, **kwargs)`` once the session's current transaction commits.

    Discarded if it rolls back. Runs in registration order; a failing callback is
    logged and does not stop the others (the commit already happened: the sweeper
    reconciles whatever the callback did not). A callback talks to Redis or enqueues;
    it must not use the database session, which is between transactions then."""
    session = db.session()
    if not session.in_transaction():
        # Tie the callback to a transaction, so that a rollback before any SQL ran
        # (nothing had begun yet) still discards it.
        session.begin()
    session.info.setdefault(_CALLBACKS, []).append((fn, args, kwargs))


def _commit() -> None:
    token = _committing.set(True)
    try:
        db.session.commit()
    finally:
        _committing.reset(token)


def _rollback() -> None:
    db.session.rollback()


def commit_before_remote_call() -> None:
    """End the transaction now because what comes next talks to WeChat: a remote call
    must never run inside a transaction (it would hold row locks for seconds, or lose
    the record of what was asked if the process died during the call)."""
    _commit()


class RemoteCallInTransaction(RuntimeError):
    """A call to WeChat while a database transaction is open (tests raise it)."""


def guard_remote_call(what: str) -> None:
    """Installed before every WeChat call (``gateway.BEFORE_REMOTE_CALL``): the session
    must be between transactions, as ``commit_before_remote_call`` leaves it. An open
    one would hold its row locks (and a connection "idle in transaction") for as long
    as WeChat takes, up to the HTTP timeout: under a backlog that stalled every notify
    waiting on those wallets. Raises under tests, so a path that breaks the rule fails
    its test; logs a warning in production, where the call should still go out."""
    if not has_app_context() or not db.session().in_transaction():
        return
    if current_app.testing:
        raise RemoteCallInTransaction(f"WeChat call {what} inside an open database transaction")
    log.warning("WeChat call %s inside an open database transaction", what)


@contextlib.contextmanager
def unit_of_work(name: str = "unit of work") -> Iterator[None]:
    """A block that commits at its end and rolls back on an error: the boundary of a
    job, a CLI command, or one step of a batch job."""
    token = _in_scope.set(name)
    try:
        yield
        _commit()
    except BaseException:
        _rollback()
        raise
    finally:
        _in_scope.reset(token)


@contextlib.contextmanager
def request_scope(name: str) -> Iterator[None]:
    """Marks a request: commits inside must come from the boundary."""
    token = _in_scope.set(name)
    try:
        yield
    finally:
        _in_scope.reset(token)


def finish_request(status: int) -> None:
    """The request's end: commit below 400, roll back otherwise."""
    if status < 400:
        _commit()
    else:
        _rollback()


def run_in_transaction(work: Callable[[], T], attempts: int = 3) -> T:
    """Run ``work`` and commit; if the database picked this transaction as a deadlock
    victim, roll back and run it again (at most ``attempts`` times). A deadlock
    victim's transaction is rolled back by the database; what it wanted to do is
    still valid, and after the winner's commit it usually no longer has to wait."""
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            _commit()
            return result
        except OperationalError as exc:
            _rollback()
            if attempt == attempts or not is_deadlock(exc):
                raise
            log.info("lost a lock race (%s); running the transaction again", exc.orig.__class__.__name__)
    raise AssertionError("unreachable")


@event.listens_for(Session, "before_commit")
def _only_the_boundary_commits(session: Session) -> None:
    scope = _in_scope.get()
    if session.in_nested_transaction():  # a savepoint's release: not a commit at all
        return
    if scope is not None and not _committing.get():
        raise CommitOutsideBoundary(
            f"a commit inside {scope} that the transaction boundary did not make: services flush, "
            "the request or job boundary commits (see backend/transactions.py)")


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop(_CALLBACKS, None)
    for fn, args, kwargs in callbacks or ():
        try:
            fn(*args, **kwargs)
        except Exception:  # the commit stands; the sweeper reconciles what this missed
            log.exception("after-commit side effect %s failed", getattr(fn, "__qualname__", fn))


@event.listens_for(Session, "after_transaction_end")
def _discard_unless_committed(session: Session, transaction) -> None:
    # Fires after ``after_commit`` (which took the callbacks) and on every other end of
    # the outermost transaction: rollback, close, the request's teardown.
    if transaction.parent is None:
        session.info.pop(_CALLBACKS, None)

"""The audit log, by mechanism: every admin mutation leaves an entry, in its own transaction.

* ``begin(admin)`` is called by the admin guard (``backend/auth/guards.admin_required``)
  once it lets a POST / PUT / PATCH / DELETE through: the entry is added to the session
  and flushed at once (outside any savepoint the view opens later), so whatever commits
  the action commits the entry too: the request's end, or
  ``transactions.commit_before_remote_call()`` before a WeChat call. An action that is
  rolled back leaves no entry. The admin login is not audited (failed logins go to the
  app log); a lock-out after repeated wrong passwords writes its own entry, in its own
  transaction (``backend/auth/lockout.py``).
* ``finish(status)`` / ``after_rollback(status)`` are called by the request boundary
  (``backend.FissionFlask.dispatch_request``): they fill ``status_code``. An entry that
  was committed early (a refund before its WeChat call) keeps the request's final
  status even when the rest of the request is rolled back.
* ``record_change(target_type, target_id, before, after)`` lets a service attach what
  changed to the current entry; ``set_target`` names the target when the view args do
  not (a create). Outside an audited request both do nothing.

The target defaults to the last ``<…_id>`` of the route: ``/orders/<order_id>/refund``
→ ``("order", "12")``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from flask import g, has_request_context, request
from sqlalchemy import inspect

from backend import transactions
from backend.admin.models import AdminAuditEntry
from backend.extensions import db
from backend.timeutil import utcnow

log = logging.getLogger(__name__)

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Endpoints whose mutating calls are not audited, each for a reason.
NOT_AUDITED = {"admin_auth.admin_login": "signing in changes nothing; failed logins go to the app log"}
_ENTRY = "fission_audit_entry"


def audits(endpoint: str | None, method: str) -> bool:
    return method in MUTATING and endpoint not in NOT_AUDITED


def _target_of(view_args: dict | None) -> tuple[str | None, str | None]:
    ids = [(name, value) for name, value in (view_args or {}).items() if name == "id" or name.endswith("_id")]
    if not ids:
        return None, None
    name, value = ids[-1]
    kind = name.removesuffix("_id") if name != "id" else (request.blueprint or "").removeprefix("admin_")
    return kind, str(value)


def begin(admin) -> None:
    """The guard let ``admin`` through: a mutating call gets its entry now."""
    if not has_request_context() or not audits(request.endpoint, request.method) or g.get(_ENTRY) is not None:
        return
    target_type, target_id = _target_of(request.view_args)
    entry = AdminAuditEntry(
        admin_id=admin.id, admin_username=admin.username, role=admin.role, action=request.endpoint or "",
        method=request.method, path=request.path[:512], target_type=target_type, target_id=target_id,
        request_id=(g.get("request_id") or "")[:64] or None, created_at=utcnow())
    db.session.add(entry)
    db.session.flush()  # in the outer transaction: a savepoint the view rolls back keeps it
    setattr(g, _ENTRY, entry)
    transactions.after_commit(_committed, entry)


def _committed(entry: AdminAuditEntry) -> None:
    if has_request_context() and g.get(_ENTRY) is entry:
        g.fission_audit_committed = True


def current() -> AdminAuditEntry | None:
    return g.get(_ENTRY) if has_request_context() else None


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def changed(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields whose value differs, on both sides."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def set_target(target_type: str, target_id) -> None:
    entry = current()
    if entry is not None:
        entry.target_type, entry.target_id = target_type, None if target_id is None else str(target_id)


def record_change(target_type: str | None, target_id, before: dict | None, after: dict | None) -> None:
    """Attach ``before`` → ``after`` to the current admin action's entry (a second call
    for the same entry adds its fields)."""
    entry = current()
    if entry is None:
        return
    if target_type is not None:
        set_target(target_type, target_id)
    if before is not None:
        entry.before = {**(entry.before or {}), **_plain(before)}
    if after is not None:
        entry.after = {**(entry.after or {}), **_plain(after)}


def finish(status: int) -> None:
    """Before the request's commit: the status, and the entry back in the session if a
    deadlock retry rolled it away with the first attempt."""
    entry = current()
    if entry is None or status >= 400:
        return
    entry.status_code = status
    state = inspect(entry)
    if state.transient or state.detached:
        again = AdminAuditEntry(**{c.key: getattr(entry, c.key) for c in AdminAuditEntry.__table__.columns
                                   if c.key != "id"})
        db.session.add(again)
        setattr(g, _ENTRY, again)


def after_rollback(status: int) -> None:
    """After a rolled-back request: an entry committed before a remote call stays, with
    the status the request ended with."""
    entry = current()
    if entry is None or not g.get("fission_audit_committed") or inspect(entry).identity is None:
        return
    entry_id = inspect(entry).identity[0]
    try:
        with transactions.unit_of_work("audit: the status of an early-committed action"):
            row = db.session.get(AdminAuditEntry, entry_id)
            if row is not None:
                row.status_code = status
    except Exception:  # the action's answer matters more than its entry's status
        log.exception("could not store the status of audit entry %s", entry_id)

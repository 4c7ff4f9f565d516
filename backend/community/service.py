"""Recording share events: one query to resolve the share codes, one INSERT for the batch."""

from __future__ import annotations

from sqlalchemy import insert, select

from backend.auth.models import User
from backend.community import invites
from backend.community.models import ShareEvent
from backend.extensions import db
from backend.timeutil import as_utc, utcnow


def normalize_code(code: str | None) -> str | None:
    """Invite codes are upper case (referral.service.find_by_invite_code does the same)."""
    code = (code or "").strip().upper()
    return code or None


def record_events(events: list[dict], user_id: int | None) -> int:
    """Store a validated batch. ``user_id`` is the sender (None when anonymous).

    Cost per batch, whatever its size: at most one SELECT (the owners of the share
    codes, by ``users.invite_code``) and one multi-row INSERT; open/save events of a
    group invite (``order_id``) add one locking SELECT and a rollup upsert per invite
    that changed. Flushes nothing else; the request boundary commits."""
    codes = {normalize_code(e.get("share_code")) for e in events} - {None}
    owners: dict[str, int] = {}
    if codes:
        owners = dict(db.session.execute(
            select(User.invite_code, User.id).where(User.invite_code.in_(sorted(codes)))).all())
    now = utcnow()
    rows = []
    for event in events:
        code = normalize_code(event.get("share_code"))
        rows.append({
            "type": event["type"],
            "user_id": user_id,
            "share_code": code,
            "sharer_id": owners.get(code) if code else None,
            "page": event.get("page"),
            "target": event.get("target"),
            "client_ts": as_utc(event.get("client_ts")),
            "order_id": event.get("order_id"),
            "created_at": now,
        })
    db.session.execute(insert(ShareEvent).values(rows))
    invites.record_opened(user_id, events, now)
    return len(rows)

"""POST /api/v1/events: batches of share events, stored whole or not at all, with one INSERT."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import requests
from helpers import distributor, login
from sqlalchemy import event, select

from backend.community.models import ShareEvent
from backend.extensions import db
from backend.timeutil import as_utc


def stored(live, marker: str) -> list[ShareEvent]:
    """The events of one test: each carries a ``page`` starting with its marker."""
    with live.app.app_context():
        rows = db.session.scalars(select(ShareEvent).where(ShareEvent.page.like(f"{marker}%"))
                                  .order_by(ShareEvent.id)).all()
        db.session.expunge_all()
        return rows


def post_events(live, events, token: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(live.api("/events"), json={"events": events}, headers=headers, timeout=30)


def test_batch_is_stored_with_sender_and_sharer(live):
    sharer = distributor(live)
    code = sharer.user["invite_code"]
    visitor = login(live)
    marker = f"p-{uuid.uuid4().hex[:10]}"
    events = [
        {"type": "share", "share_code": code, "page": f"{marker}/goods/1", "target": "timeline"},
        {"type": "visit", "share_code": code.lower(), "page": f"{marker}/goods/1",
         "client_ts": "2026-11-26T20:15:00+08:00"},
        {"type": "open", "page": f"{marker}/home"},
        {"type": "save", "share_code": "NOSUCHCODE", "page": f"{marker}/poster"},
        {"type": "page_view", "page": f"{marker}/cart", "share_code": None, "target": None},
    ]
    before = datetime.now(UTC)
    r = post_events(live, events, visitor.token)
    assert r.status_code == 202, r.text
    assert r.json() == {"accepted": 5}

    rows = stored(live, marker)
    assert [e.type for e in rows] == ["share", "visit", "open", "save", "page_view"]
    assert {e.user_id for e in rows} == {visitor.id}
    assert [e.sharer_id for e in rows] == [sharer.id, sharer.id, None, None, None]
    assert [e.share_code for e in rows] == [code, code, None, "NOSUCHCODE", None]
    assert rows[0].target == "timeline" and rows[1].target is None
    assert as_utc(rows[1].client_ts) == datetime(2026, 11, 26, 12, 15, tzinfo=UTC)
    assert all(as_utc(e.created_at) >= before.replace(microsecond=0) for e in rows)
    assert len({e.created_at for e in rows}) == 1  # one server time for the batch


def test_anonymous_events_are_counted(live):
    sharer = distributor(live)
    marker = f"p-{uuid.uuid4().hex[:10]}"
    r = post_events(live, [{"type": "visit", "share_code": sharer.user["invite_code"], "page": marker},
                           {"type": "page_view", "page": marker}])
    assert r.status_code == 202 and r.json() == {"accepted": 2}, r.text
    rows = stored(live, marker)
    assert [(e.type, e.user_id, e.sharer_id) for e in rows] == [("visit", None, sharer.id), ("page_view", None, None)]


@pytest.mark.parametrize("bad", [
    {"type": "like"},  # unknown type
    {"type": "share", "colour": "red"},  # unknown field
    {"type": "share", "share_code": "X" * 33},
    {"type": "visit", "page": "p" * 129},
    {"type": "visit", "target": "t" * 65},
    {"type": "visit", "client_ts": "yesterday"},
    # before year 1 / after 9999 once in UTC: a 500 once (found by tests/test_fuzz_openapi.py)
    {"type": "visit", "client_ts": "0001-01-01T00:01:00+00:04"},
    {"type": "visit", "client_ts": "9999-12-31T23:59:00-01:00"},
    {"page": "no type"},
    {"type": "open", "order_id": 1.5},  # ids are strict integers, as on every other endpoint (issue 18)
    {"type": "open", "order_id": "1"},
    {"type": "open", "order_id": 1.0},
    {"type": "open", "order_id": True},
])
def test_a_bad_event_refuses_the_whole_batch(live, bad):
    user = login(live)
    marker = f"p-{uuid.uuid4().hex[:10]}"
    bad = {**bad, "page": bad.get("page", marker)}
    r = post_events(live, [{"type": "share", "page": marker}, bad, {"type": "open", "page": marker}], user.token)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert stored(live, marker) == []


def test_batch_size_and_shape(live):
    marker = f"p-{uuid.uuid4().hex[:10]}"
    for body in ({"events": []}, {"events": [{"type": "open", "page": marker}] * 101},
                 {"events": [{"type": "open", "page": marker}], "extra": 1}, {}, {"events": "share"}):
        r = requests.post(live.api("/events"), json=body, timeout=30)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["error"]["code"] == "VALIDATION_ERROR"
    assert stored(live, marker) == []
    r = post_events(live, [{"type": "open", "page": marker}] * 100)
    assert r.status_code == 202 and r.json() == {"accepted": 100}
    assert len(stored(live, marker)) == 100


def test_a_bad_token_is_refused_before_the_body(live):
    r = requests.post(live.api("/events"), json={"events": "not even a list"},
                      headers={"Authorization": "Bearer nonsense"}, timeout=30)
    assert r.status_code == 401, r.text


def test_one_select_and_one_insert_per_batch(live):
    """No per-event queries: the share codes are resolved by one SELECT, the rows
    written by one INSERT, however many events and codes the batch has."""
    sharers = [distributor(live) for _ in range(3)]
    user = login(live)
    marker = f"p-{uuid.uuid4().hex[:10]}"
    events = [{"type": ("share", "visit")[i % 2], "share_code": sharers[i % 3].user["invite_code"],
               "page": f"{marker}/{i}"} for i in range(60)]
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with live.app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        r = post_events(live, events, user.token)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert r.status_code == 202, r.text
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO SHARE_EVENTS")]
    code_lookups = [s for s in statements if "invite_code IN" in s or "invite_code in" in s.lower()]
    assert len(inserts) == 1, statements
    assert len(code_lookups) == 1, statements
    # the token's user, the codes, the insert (and the driver's BEGIN on SQLite)
    assert len([s for s in statements if not s.upper().startswith(("BEGIN", "COMMIT"))]) <= 3, statements
    rows = stored(live, marker)
    assert len(rows) == 60
    assert [e.sharer_id for e in rows] == [sharers[i % 3].id for i in range(60)]

"""Leaderboards against a direct computation from the database."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from helpers import admin, buy, chain, create_product, distributor, drain, login, sweep

from backend.commission.models import Commission
from backend.extensions import db
from backend.leaderboard.periods import PERIODS, period_bounds, period_key, valid_key
from backend.orders.models import Order
from backend.timeutil import SHOP_TZ, as_utc

SUNDAY_LATE = datetime(2026, 11, 22, 23, 59, 30, tzinfo=SHOP_TZ)  # ISO week 47
MONDAY_EARLY = datetime(2026, 11, 23, 0, 0, 30, tzinfo=SHOP_TZ)  # ISO week 48


def last_midnight() -> datetime:
    """The latest midnight in Shanghai: boards on both sides of it are still kept."""
    return datetime.now(SHOP_TZ).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def boards(live):
    """Boards of their own: a fresh key prefix for this test. What earlier tests left
    to credit is credited first, on their boards: a credit job takes every pending
    payout, and this test's first one would otherwise bring those onto its boards."""
    sweep(live)
    drain(live)
    original = live.app.config["FISSION"]
    live.app.config["FISSION"] = dataclasses.replace(original, queue_prefix=f"lbtest-{uuid.uuid4().hex[:8]}")
    yield
    live.app.config["FISSION"] = original


def test_periods_are_cut_in_shanghai():
    assert period_key("day", SUNDAY_LATE) == "2026-11-22"
    assert period_key("day", MONDAY_EARLY) == "2026-11-23"
    assert period_key("week", SUNDAY_LATE) == "2026-W47" and period_key("week", MONDAY_EARLY) == "2026-W48"
    assert period_key("month", datetime(2026, 11, 30, 23, 59, tzinfo=SHOP_TZ)) == "2026-11"
    assert period_key("month", datetime(2026, 12, 1, 0, 1, tzinfo=SHOP_TZ)) == "2026-12"
    # 16:00 UTC is midnight in Shanghai
    assert period_key("day", datetime(2026, 11, 22, 15, 59, 59, tzinfo=UTC)) == "2026-11-22"
    assert period_key("day", datetime(2026, 11, 22, 16, 0, 0, tzinfo=UTC)) == "2026-11-23"
    start, end = period_bounds("week", "2026-W48")
    assert (start.date().isoformat(), end.date().isoformat()) == ("2026-11-23", "2026-11-30")
    assert valid_key("week", "2026-W48") and not valid_key("day", "2026-W48") and valid_key("all", "all")


def _paid_at(live, order_id: int, when: datetime) -> None:
    """Move an order and its commissions to another moment, before the worker credits them."""
    when = when.astimezone(UTC)  # stored as UTC, as the app does (SQLite keeps no offset)
    with live.app.app_context():
        db.session.get(Order, order_id).paid_at = when
        for c in db.session.scalars(db.select(Commission).where(Commission.order_id == order_id)):
            c.created_at = when
        db.session.commit()


def board(client, metric, period, key=None):
    params = {"period": period, "limit": 10}
    if key:
        params["key"] = key
    r = client.get(f"/leaderboards/{metric}", params=params)
    assert r.status_code == 200, r.text
    # the body is exactly the documented shape (unknown fields would be refused)
    from backend.leaderboard.schemas import BoardSchema

    assert BoardSchema().validate(r.json()) == {}, r.json()
    return r.json()


def ranking(body):
    return [(x["rank"], x["user"]["id"], x["score"]) for x in body["items"]]


def expected(live, metric: str, kind: str, key: str, user_ids: set[int]) -> list[tuple[int, int, int]]:
    """The board computed straight from the database: score, then who reached it
    first (their last increase), then id."""
    bounds = period_bounds(kind, key)
    scores: dict[int, int] = {}
    reached: dict[int, datetime] = {}

    def add(uid, delta, at, increase):
        scores[uid] = scores.get(uid, 0) + delta
        if increase:
            reached[uid] = max(reached.get(uid, at), at)

    with live.app.app_context():
        rows = db.session.execute(db.select(Commission, Order).join(Order, Order.id == Commission.order_id)
                                  .where(Commission.user_id.in_(user_ids), Commission.status != "pending")).all()
        for c, order in rows:
            at = as_utc(c.created_at if metric == "commission" else order.paid_at)
            if bounds and not (bounds[0] <= at < bounds[1]):
                continue
            if metric == "commission":
                add(c.user_id, c.amount_fen - c.reversed_fen, at, True)
            elif c.level == 1 and metric == "gmv":
                add(c.user_id, order.paid_fen - order.refunded_fen, at, True)
            elif c.level == 1 and metric in ("orders", "customers"):
                add(c.user_id, int(order.refunded_fen < order.paid_fen or metric == "customers"), at, True)
    ordered = sorted(scores, key=lambda uid: (-scores[uid], reached[uid], uid))
    return [(i + 1, uid, scores[uid]) for i, uid in enumerate(ordered)]


def test_ranks_ties_gap_and_periods_match_the_database(live, admin_token, boards):
    ops = admin(live, admin_token)
    r = distributor(live)
    x, y, z = (distributor(live, invite_code=r.user["invite_code"]) for _ in range(3))
    bx, by, bz = (login(live, invite_code=d.user["invite_code"]) for d in (x, y, z))
    product, half = create_product(ops, price_fen=10_000), create_product(ops, price_fen=5_000)
    midnight = last_midnight()
    before, after = midnight - timedelta(seconds=30), midnight + timedelta(seconds=30)

    ox = buy(live, bx, product["id"])
    _paid_at(live, ox["id"], before)  # yesterday, Shanghai time
    drain(live)
    oy = buy(live, by, product["id"])
    _paid_at(live, oy["id"], after)  # today
    drain(live)
    oz = buy(live, bz, half["id"])
    _paid_at(live, oz["id"], after + timedelta(seconds=5))
    drain(live)
    people = {r.id, x.id, y.id, z.id}

    def check_all():
        for metric in ("commission", "gmv", "orders", "customers"):
            for kind in PERIODS:
                for at in (before, after):
                    key = period_key(kind, at)
                    assert ranking(board(r, metric, kind, key)) == expected(live, metric, kind, key, people), \
                        (metric, kind, key)

    check_all()
    # by hand, for the day boards on both sides of midnight
    assert ranking(board(r, "commission", "day", period_key("day", before))) == [(1, x.id, 1_000), (2, r.id, 500)]
    assert ranking(board(r, "commission", "day", period_key("day", after))) == [
        (1, y.id, 1_000), (2, r.id, 750), (3, z.id, 500)]
    # all time: R 1,250; X and Y tie at 1,000 and X got there first
    mine = board(y, "commission", "all")
    assert ranking(mine) == [(1, r.id, 1_250), (2, x.id, 1_000), (3, y.id, 1_000), (4, z.id, 500)]
    assert (mine["me"]["rank"], mine["me"]["score"], mine["me"]["gap_to_above"]) == (3, 1_000, 0)
    assert [i["rank"] for i in mine["me"]["around"]] == [1, 2, 3, 4]
    assert board(bx, "commission", "all")["me"] is None  # a buyer with no score

    # A full refund of Z's order takes it back out, on the boards it was earned on.
    refund = ops.post(f"/admin/orders/{oz['id']}/refund", json={"reason": "returned"})
    assert refund.status_code == 201, refund.text
    drain(live)
    assert ranking(board(r, "commission", "all")) == [(1, x.id, 1_000), (2, y.id, 1_000), (3, r.id, 1_000),
                                                      (4, z.id, 0)]
    check_all()

    # Replaying the credit changes nothing.
    from backend.leaderboard.jobs import apply_credit

    with live.app.app_context():
        ids = list(db.session.scalars(db.select(Commission.id).where(Commission.order_id.in_(
            [ox["id"], oy["id"], oz["id"]]))))
        assert apply_credit(ids) == 0
    check_all()

    # A rebuild from the database cuts the same periods (SQL on each database) and the same ties.
    # It rebuilds from everything in the database, other tests' orders too, so these four are
    # compared by their own standing: each one's rank and score as they see it.
    rebuilt = ops.post("/admin/leaderboards/rebuild")
    assert rebuilt.status_code == 202, rebuilt.text
    drain(live)
    for metric in ("commission", "gmv", "orders", "customers"):
        for kind in PERIODS:
            for at in (before, after):
                key = period_key(kind, at)
                seen = sorted((me["rank"], who.id, me["score"]) for who in (r, x, y, z)
                              if (me := board(who, metric, kind, key)["me"]) is not None)
                assert [(uid, score) for _, uid, score in seen] == \
                    [(uid, score) for _, uid, score in expected(live, metric, kind, key, people)], (metric, kind, key)


def test_unknown_board_and_bad_period(live):
    c = login(live)
    assert c.get("/leaderboards/likes").json()["error"]["code"] == "NOT_FOUND"
    assert c.get("/leaderboards/gmv", params={"period": "year"}).status_code == 422
    assert c.get("/leaderboards/gmv", params={"period": "day", "key": "2026-W48"}).status_code == 422
    import requests

    anonymous = requests.get(live.api("/leaderboards/gmv"), timeout=10)
    assert anonymous.status_code == 200 and anonymous.json()["me"] is None


def test_flush_rebuild_and_drift(live, admin_token, boards):
    from backend.extensions import redis_client

    ops = admin(live, admin_token)
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=7_000)["id"])
    drain(live)

    def rebuild():
        r = ops.post("/admin/leaderboards/rebuild")
        assert r.status_code == 202, r.text
        drain(live)
        status = ops.get(f"/admin/leaderboards/rebuild/{r.json()['job_id']}").json()
        assert status["status"] == "finished" and status["boards"] > 0 and status["percent"] == 100

    rebuild()  # the boards of this test's prefix now hold everything in the database
    assert ops.get("/admin/leaderboards/drift").json() == {"ok": True, "boards": []}
    before = {(m, p): ranking(board(a, m, p)) for m in ("commission", "gmv", "orders", "customers")
              for p in PERIODS}
    assert before[("commission", "all")]

    with live.app.app_context():
        redis_client().flushdb()  # Redis loses everything
    assert ranking(board(a, "commission", "all")) == []
    lost = ops.get("/admin/leaderboards/drift").json()
    assert lost["ok"] is False and {b_["metric"] for b_ in lost["boards"]} == {"commission", "gmv", "orders",
                                                                             "customers"}
    # the sweeper notices the empty Redis and has the boards rebuilt, once
    assert (sweep(live)["board_rebuilds"], sweep(live)["board_rebuilds"]) == (1, 0)
    drain(live)
    assert {(m, p): ranking(board(a, m, p)) for m, p in before} == before
    assert sweep(live)["board_rebuilds"] == 0
    assert ops.get("/admin/leaderboards/drift").json()["ok"] is True

    # events already counted stay counted once, also after a rebuild
    from backend.leaderboard.jobs import apply_credit

    with live.app.app_context():
        ids = list(db.session.scalars(db.select(Commission.id).where(Commission.user_id.in_([a.id, b.id]))))
        assert apply_credit(ids) == 0

    # drift is reported exactly where it is
    with live.app.app_context():
        from backend.leaderboard.service import board as board_of

        key = period_key("month", datetime.now(UTC))
        from backend.leaderboard.boards import SCALE, member

        month = board_of(live.app.config["FISSION"].queue_prefix, "gmv", "month", key)
        redis_client().zincrby(month.scores, 5 * SCALE, member(b.id))
    report = ops.get("/admin/leaderboards/drift", params={"metric": "gmv"}).json()
    assert report["ok"] is False
    [planted] = [x for x in report["boards"] if x["period"] == "month"]
    assert [(m["user_id"], m["redis"] - m["database"]) for m in planted["members"]] == [(b.id, 5)]
    assert ops.get("/admin/leaderboards/drift", params={"metric": "orders"}).json()["ok"] is True


def test_a_new_nickname_shows_on_the_board_at_once(live, admin_token, boards):
    import requests

    ops = admin(live, admin_token)
    a, b, c = chain(live)
    buy(live, c, create_product(ops, price_fen=6_000)["id"])
    drain(live)
    from backend.auth import profiles
    from backend.extensions import redis_client

    def cached() -> set[int]:
        with live.app.app_context():
            return {int(uid) for uid in redis_client().hkeys(profiles._key())}

    assert {a.id, b.id} <= cached()  # the worker that put them on the boards cached their names
    with live.app.app_context():
        redis_client().delete(profiles._key())
    rebuilt = ops.post("/admin/leaderboards/rebuild")
    assert rebuilt.status_code == 202, rebuilt.text
    drain(live)
    assert {a.id, b.id} <= cached()  # and so does a rebuild, for everyone on the boards
    # (the rebuild brought everyone in the database onto these boards: B is read where B stands)
    [first] = [i for i in board(b, "commission", "all")["me"]["around"] if i["user"]["id"] == b.id]
    r = requests.patch(b.live.api("/me"), json={"nickname": first["user"]["nickname"] + "-new"},
                       headers=b._headers(), timeout=30)
    assert r.status_code == 200, r.text
    [again] = [i for i in board(b, "commission", "all")["me"]["around"] if i["user"]["id"] == b.id]
    assert again["user"]["nickname"] == first["user"]["nickname"] + "-new"


def assert_current_boards_match_the_database(live, viewer, people: set[int]) -> None:
    """Every metric's current boards, as ``viewer`` reads them, against the database."""
    for metric in ("commission", "gmv", "orders", "customers"):
        for kind in PERIODS:
            key = period_key(kind, datetime.now(UTC))
            assert ranking(board(viewer, metric, kind, key)) == expected(live, metric, kind, key, people), \
                (metric, kind)


def test_a_key_at_the_end_of_the_calendar_is_refused_not_500(live):
    c = login(live)
    for period, key in (("day", "9999-12-31"), ("week", "9999-W52"), ("month", "9999-12"), ("day", "0001-01-01")):
        r = c.get("/leaderboards/gmv", params={"period": period, "key": key})
        assert r.status_code in (200, 422), (period, key, r.text)
        if r.status_code == 422:
            assert r.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_refund_between_the_credit_and_its_board_update_is_taken_off_once(live, admin_token, boards, monkeypatch):
    """The credit job commits, a refund commits, then the credit's board update runs:
    the refund's share leaves the boards once (it used to leave twice: the credit
    read what was left after the refund, and the refund took its share off again)."""
    from backend.leaderboard import jobs  # the boards' side of the credit batch (after its commit)

    ops = admin(live, admin_token)
    a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    real_apply, refunds = jobs.apply_events, []

    def refund_first(events):
        if not refunds:
            r = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 4_000, "reason": "one broken"})
            assert r.status_code == 201, r.text
            refunds.append(r.json())
        return real_apply(events)

    monkeypatch.setattr(jobs, "apply_events", refund_first)
    drain(live)  # the credit, the refund at WeChat, the refund's board update
    assert refunds and c.get(f"/orders/{order['id']}").json()["status"] == "partially_refunded"
    assert ranking(board(a, "commission", "all")) == [(1, b.id, 600), (2, a.id, 300)]
    assert ranking(board(a, "gmv", "all")) == [(1, b.id, 6_000)]
    assert_current_boards_match_the_database(live, a, {a.id, b.id})


def test_a_commission_released_by_an_undone_refund_reaches_the_boards(live, admin_token, boards):
    """Refunded in full before its payout ran (so the payout ended with nothing to pay),
    then WeChat closed the refund: the undo releases the commission itself, and its
    board job counts it, since no credit job will come for it."""
    from test_payouts import fault
    from test_refunds import refund_notify

    ops = admin(live, admin_token)
    a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])  # commissions still pending
    fault(live, target="notify", mode="drop_notify")
    r = ops.post(f"/admin/orders/{order['id']}/refund", json={"reason": "cancelled by phone"})
    assert r.status_code == 201 and r.json()["status"] == "processing", r.text
    drain(live)  # the payouts end: their commissions are all clawed back
    assert ranking(board(a, "commission", "all")) == []
    refund_notify(live, r.json()["out_refund_no"], order["out_trade_no"], "REFUNDCLOSE")
    drain(live)
    assert b.get("/me/wallet").json()["available_fen"] == 1_000
    assert ranking(board(a, "commission", "all")) == [(1, b.id, 1_000), (2, a.id, 500)]
    assert_current_boards_match_the_database(live, a, {a.id, b.id})


def test_a_failed_refund_that_reopens_a_fully_refunded_order_counts_it_again(live, admin_token, boards):
    """10,000 paid; refunds of 3,333 then 6,667 (which completes the order: it leaves the
    orders board); then the first turns out to have failed. 6,667 of 10,000 stays
    refunded, so the order is back on the board, and every board matches the database."""
    from test_payouts import fault
    from test_refunds import refund_notify

    ops = admin(live, admin_token)
    a, b, c = chain(live)
    order = buy(live, c, create_product(ops, price_fen=10_000)["id"])
    drain(live)
    assert ranking(board(a, "orders", "all")) == [(1, b.id, 1)]
    fault(live, target="notify", mode="drop_notify")  # the first refund's notify is lost
    first = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 3_333, "reason": "one"})
    assert first.status_code == 201 and first.json()["status"] == "processing", first.text
    rest = ops.post(f"/admin/orders/{order['id']}/refund", json={"amount_fen": 6_667, "reason": "rest"})
    assert rest.status_code == 201, rest.text
    drain(live)
    assert ranking(board(a, "orders", "all")) == [(1, b.id, 0)]
    refund_notify(live, first.json()["out_refund_no"], order["out_trade_no"], "REFUNDCLOSE")
    drain(live)
    assert ranking(board(a, "orders", "all")) == [(1, b.id, 1)]
    assert ranking(board(a, "gmv", "all")) == [(1, b.id, 3_333)]
    assert_current_boards_match_the_database(live, a, {a.id, b.id})

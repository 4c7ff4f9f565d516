"""Funnel figures equal a hand computation over a generated week, cut in Asia/Shanghai days.

Payments cannot be back-dated over HTTP, so the week's orders are written to the
database with chosen ``paid_at`` times (some at 23:50, some at 00:10 Shanghai time);
the invites, opens and joins then go through the same service functions the endpoints
use, and the report is read over HTTP."""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from helpers import buy, create_product, distributor, drain, live_code, login, personal_group
from sqlalchemy import select

from backend.auth.models import User
from backend.community import invites, joins
from backend.community.models import CommunityGroup, FunnelPaidDay, GroupInvite
from backend.community.rebuild import rebuild
from backend.extensions import db
from backend.orders.models import Order, OrderItem
from backend.timeutil import SHOP_TZ, as_utc

WEEK_START = datetime(2025, 3, 3, tzinfo=SHOP_TZ)  # a Monday long before any other test's data
DAYS = 7
TIMES = ((0, 10), (11, 30), (23, 50))  # hours, minutes in Shanghai: both sides of midnight


def generate_week(live, buyers, distributors, products) -> list[dict]:
    """Orders paid over the week and what happened to their invites; returns the facts."""
    facts = []
    with live.app.app_context():
        n = 0
        for day in range(-1, DAYS + 1):  # one day either side: must not be counted
            for hour, minute in TIMES:
                n += 1
                local = WEEK_START + timedelta(days=day, hours=hour, minutes=minute)
                paid_at = local.astimezone(UTC)  # stored in UTC, as the app does (SQLite keeps the text)
                buyer = buyers[n % len(buyers)]
                seller = distributors[n % 3] if n % 3 < len(distributors) else None
                product = products[n % len(products)]
                order = Order(user_id=buyer, status="paid", total_fen=1000, paid_fen=1000,
                              out_trade_no=f"W{uuid.uuid4().hex[:24]}", created_at=paid_at - timedelta(minutes=1),
                              expires_at=paid_at + timedelta(minutes=29), paid_at=paid_at, level1_id=seller)
                order.items = [OrderItem(product_id=product, title="part", quantity=1, unit_price_fen=1000,
                                         amount_fen=1000)]
                db.session.add(order)
                db.session.flush()
                fact = {"day": local.date(), "distributor": seller or 0, "product": product, "shown": False,
                        "opened": False, "saved": False, "joined": False, "join_seconds": 0}
                if n % 5 != 0:  # every fifth buyer never looks
                    shown = invites.show(db.session.get(User, buyer), order.id)
                    shown.invite.shown_at = paid_at + timedelta(minutes=1)
                    db.session.flush()
                    fact.update(shown=True, group=shown.invite.group_id)
                    if n % 2 == 0:
                        invites.record_opened(buyer, [{"type": "open", "order_id": order.id}], paid_at)
                        fact["opened"] = True
                    if n % 4 == 0:
                        invites.record_opened(buyer, [{"type": "save", "order_id": order.id}], paid_at)
                        fact["saved"] = True
                    if n % 3 != 1:
                        # joins land up to 40 minutes later: the 23:50 payments join after midnight
                        waited = timedelta(minutes=5 + n % 36)
                        invite = db.session.get(GroupInvite, shown.invite.id)
                        member = joins.Member(key=f"member-{n}", joined_at=as_utc(invite.shown_at) + waited)
                        joins.record(dedupe_key=f"week:{order.id}", source="manual",
                                     group=db.session.get(CommunityGroup, invite.group_id), member=member,
                                     invite=invite)
                        fact.update(joined=True, join_seconds=int(waited.total_seconds()))
                db.session.commit()
                if 0 <= day < DAYS:
                    facts.append(fact)
        db.session.remove()
    return facts


def expected_by(facts: list[dict], key: str) -> dict:
    out = defaultdict(lambda: defaultdict(int))
    for fact in facts:
        row = out[fact[key] if key != "day" else fact["day"].isoformat()]
        row["paid_orders"] += 1
        for name in ("shown", "opened", "saved", "joined"):
            row[name] += int(fact[name])
        row["join_seconds"] += fact["join_seconds"]
    return out


def test_funnel_equals_a_hand_computation_over_a_week(live, ops):
    products = [create_product(ops)["id"], create_product(ops)["id"]]
    for product in products:
        code = live_code(ops, product_id=product)
        personal_group(ops, code["id"], capacity=10_000)
    distributors = [distributor(live).id, distributor(live).id]
    buyers = [login(live).id for _ in range(4)]
    facts = generate_week(live, buyers, distributors, products)
    params = {"from": WEEK_START.date().isoformat(), "to": (WEEK_START.date() + timedelta(days=DAYS)).isoformat()}

    for by, key in (("day", "day"), ("distributor", "distributor"), ("product", "product")):
        r = ops.get("/admin/community/funnel", params={**params, "by": by})
        assert r.status_code == 200, r.text
        got = {row["key"]: row for row in r.json()["rows"]}
        want = expected_by(facts, key)
        if by == "day":
            assert list(got) == sorted(want)  # every day listed, in order
        assert set(got) == set(want), by
        for k, figures in want.items():
            row = got[k]
            assert {name: row[name] for name in figures} == dict(figures), (by, k)
            assert row["join_rate"] == round(figures["joined"] / figures["paid_orders"], 4)
            if figures["joined"]:
                assert row["avg_join_seconds"] == round(figures["join_seconds"] / figures["joined"], 1)
        totals = r.json()["totals"]
        assert totals["paid_orders"] == len(facts)
        assert totals["joined"] == sum(f["joined"] for f in facts)
        assert totals["shown"] == sum(f["shown"] for f in facts)

    by_group = ops.get("/admin/community/funnel", params={**params, "by": "group"}).json()
    want_groups = defaultdict(int)
    for fact in facts:
        if fact["shown"]:
            want_groups[fact["group"]] += 1
    assert {row["key"]: row["shown"] for row in by_group["rows"]} == dict(want_groups)
    assert all(row["paid_orders"] is None for row in by_group["rows"])

    # the CSV says the same, and a second report reads the frozen days the same way
    r = ops.get("/admin/community/funnel.csv", params={**params, "by": "day"})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(r.text)))
    want = expected_by(facts, "day")
    assert [line["day"] for line in lines] == [*sorted(want), "total"]
    assert all(int(line["joined"]) == want[line["day"]]["joined"] for line in lines[:-1])
    assert int(lines[-1]["paid_orders"]) == len(facts)
    before = ops.get("/admin/community/funnel", params={**params, "by": "distributor"}).json()

    # recounting the rollup from the invites in one pass gives what the increments gave
    with live.app.app_context():
        assert rebuild(WEEK_START.date(), WEEK_START.date() + timedelta(days=DAYS)) == sum(f["shown"] for f in facts)
        db.session.commit()
        db.session.remove()
    assert ops.get("/admin/community/funnel", params={**params, "by": "distributor"}).json() == before


def test_finished_days_are_frozen_by_a_job_off_the_request_path(live, ops):
    today = datetime.now(SHOP_TZ).date()
    product = create_product(ops)
    code = live_code(ops, product_id=product["id"])
    personal_group(ops, code["id"])
    buyer = login(live)
    order = buy(live, buyer, product["id"])
    assert buyer.get(f"/orders/{order['id']}/group-invite").status_code == 200
    drain(live)  # a real RQ worker runs what the invite enqueued
    with live.app.app_context():
        since = today - timedelta(days=30)
        frozen = set(db.session.scalars(select(FunnelPaidDay.day).where(FunnelPaidDay.day >= since)))
        db.session.remove()
    # yesterday is frozen once it has been over for an hour; a week back always is
    assert today - timedelta(days=7) in frozen and today - timedelta(days=2) in frozen
    assert today not in frozen


def test_the_csv_does_not_carry_a_nickname_as_a_spreadsheet_formula(live, ops):
    """A distributor's nickname is theirs to choose: '=HYPERLINK(…)' must reach the operator's
    spreadsheet as text, not as a formula."""
    import csv
    import io
    from datetime import datetime, timedelta

    import requests
    from helpers import buy, create_product, distributor, live_code, login, personal_group

    from backend.timeutil import SHOP_TZ

    product = create_product(ops)
    personal_group(ops, live_code(ops, product_id=product["id"])["id"])
    seller = distributor(live)
    evil = '=HYPERLINK("http://evil.test","x")'
    r = requests.patch(live.api("/me"), json={"nickname": evil}, headers=seller._headers(), timeout=10)
    assert r.status_code == 200, r.text
    buyer = login(live, invite_code=seller.user["invite_code"])
    order = buy(live, buyer, product["id"])
    assert buyer.get(f"/orders/{order['id']}/group-invite").status_code == 200
    day = datetime.now(SHOP_TZ).date()
    r = ops.get("/admin/community/funnel.csv", params={"from": day.isoformat(),
                                                       "to": (day + timedelta(days=1)).isoformat(),
                                                       "by": "distributor"})
    assert r.status_code == 200
    rows = {row[0]: row for row in csv.reader(io.StringIO(r.text))}
    label = rows[str(seller.id)][1]
    assert label == "'" + evil
    drain(live)  # leave no credit job behind

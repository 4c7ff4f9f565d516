"""No configuration pays anyone for a bind, and nothing adds a third level (issue 16,
DESIGN.md §3): a property test over random settings (distribution mode, bind mode, rates
under the cap, self-purchase, per-product and KOL overrides, random levels with random
sales conditions) and random referral trees with random binds, paid orders and refunds,
all through the real services (HTTP, the WeChat Pay emulator, the RQ jobs, the nightly
level pass).

After each example, over the people and orders it made:
(a) every ledger movement and every commission has a paid order behind it: binds alone,
    and levels, never pay for head count;
(b) no commission has a level other than 1 or 2, and only the buyer's level-1 and level-2
    ancestors at payment (or the buyer, with self-purchase on) are ever paid;
(c) an order's commissions together never exceed the cap of its paid amount.
"""

from __future__ import annotations

import pytest
from helpers import create_product, drain, login, pay, set_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, or_, select, update

from backend.auth.models import User
from backend.commission.models import Commission, LedgerEntry
from backend.commission.settings import BIND_MODES, DISTRIBUTION_MODES
from backend.extensions import db
from backend.levels import jobs as level_jobs
from backend.levels.models import DistributorLevel, LevelChange
from backend.orders.models import Order


def _wipe_levels(live) -> None:
    with live.app.app_context():
        db.session.execute(delete(LevelChange))
        db.session.execute(update(User).values(level_id=None, level_missed_periods=0, level_checked_period=None))
        db.session.execute(delete(DistributorLevel))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def restore(live, ops):
    _wipe_levels(live)
    yield
    _wipe_levels(live)
    set_settings(ops, level1_bp=1000, level2_bp=500, cap_bp=3000, bind_mode="permanent", self_purchase=False,
                 mode="everyone", level_grace_periods=0)


@st.composite
def rates_under(draw, cap: int):
    l1 = draw(st.integers(min_value=0, max_value=cap))
    return l1, draw(st.integers(min_value=0, max_value=cap - l1))


@st.composite
def scenarios(draw):
    cap = draw(st.sampled_from([500, 3000, 5000, 0]))
    l1, l2 = draw(rates_under(cap))
    shop = {"mode": draw(st.sampled_from(DISTRIBUTION_MODES)), "bind_mode": draw(st.sampled_from(BIND_MODES)),
            "cap_bp": cap, "level1_bp": l1, "level2_bp": l2, "self_purchase": draw(st.booleans())}
    levels = []
    for rank in range(draw(st.integers(min_value=0, max_value=3))):
        a, b = draw(rates_under(cap))
        levels.append({"rank": rank, "name": f"L{rank}", "level1_bp": a, "level2_bp": b,
                       "window_days": draw(st.integers(min_value=1, max_value=90)),
                       "min_gmv_fen": draw(st.sampled_from([0, 1, 5_000, 10**6])),
                       "min_customers": draw(st.integers(min_value=0, max_value=2)),
                       "min_team_gmv_fen": draw(st.sampled_from([0, 1, 5_000, 10**6]))})
    n = draw(st.integers(min_value=2, max_value=6))
    # person i logs in through person j < i's invite code (or none), may apply as a distributor
    # (mostly a chain, so that two levels and the cap are exercised; sometimes a branch or a root)
    inviters = [None] + [draw(st.sampled_from([i - 1, i - 1, None]) | st.integers(min_value=0, max_value=i - 1))
                         for i in range(1, n)]
    applies = [draw(st.sampled_from([True, True, False])) for _ in range(n)]
    binds = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=4))
    # overrides each under the cap, but not always together (level 1's KOL rate and level
    # 2's level rate come from two people): the cap has to cut them
    each = st.tuples(st.integers(0, cap), st.integers(0, cap))
    kol = draw(st.lists(st.tuples(st.integers(0, n - 1), each), max_size=3))
    product = draw(st.none() | each)
    refunds = st.sampled_from([None, "all", "part"])
    buyers = st.sampled_from([n - 1, n - 1, max(n - 2, 0)]) | st.integers(0, n - 1)  # mostly the chain's end
    orders = draw(st.lists(st.tuples(buyers, st.integers(1, 30_000), refunds), min_size=1, max_size=5))
    return dict(shop=shop, levels=levels, inviters=inviters, applies=applies, binds=binds, kol=kol,
                product=product, orders=orders)


def _become_distributor(ops, person) -> None:
    r = person.post("/distributor/apply", json={"real_name": "Li", "phone": "13800000000"})
    assert r.status_code == 200, r.text
    if r.json()["status"] == "pending":
        r = ops.post(f"/admin/users/{person.id}/approve-distributor")
        assert r.status_code == 200, r.text
    person.user = person.get("/me").json()


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(scenarios())
def test_nobody_is_paid_without_a_paid_order_and_never_past_level_two(live, ops, restore, scenario):
    _wipe_levels(live)
    set_settings(ops, **scenario["shop"])
    for body in scenario["levels"]:
        r = ops.post("/admin/distributor-levels", json=body)
        assert r.status_code == 201, r.text

    people = []
    for i, j in enumerate(scenario["inviters"]):
        code = people[j].user.get("invite_code") if j is not None else None
        people.append(login(live, invite_code=code))
        if scenario["applies"][i]:
            _become_distributor(ops, people[-1])
    for who, to in scenario["binds"]:  # may be refused (self, cycle, not a distributor, mode): fine
        code = people[to].user.get("invite_code")
        if code:
            people[who].post("/referral/bind", json={"invite_code": code})
    for who, (a, b) in scenario["kol"]:
        ops.put(f"/admin/users/{people[who].id}/rates", json={"level1_bp": a, "level2_bp": b})  # refused: fine
    ids = {p.id for p in people}

    # binds alone: nothing anywhere for these people
    drain(live)
    assert _movements(live, ids) == ([], [])

    product_rates = scenario["product"]
    extra = {} if product_rates is None else {"level1_bp": product_rates[0], "level2_bp": product_rates[1]}
    paid: dict[int, dict] = {}
    for k, (who, price, refund) in enumerate(scenario["orders"]):
        buyer = people[who]
        product = create_product(ops, price_fen=price, **extra) if extra else create_product(ops, price_fen=price)
        first = buyer.get("/me").json().get("inviter_id")
        second = next((p.get("/me").json().get("inviter_id") for p in people if p.id == first), None)
        r = buyer.post("/orders", json={"items": [{"product_id": product["id"], "quantity": 1}]})
        assert r.status_code == 201, r.text
        order = r.json()
        r = buyer.post(f"/orders/{order['id']}/pay")
        assert r.status_code == 200, r.text
        if k % 4 == 3:  # now and then an order left unpaid: it must earn nothing
            continue
        assert "SUCCESS" in pay(live, r.json()["out_trade_no"])["reply"]
        paid[order["id"]] = {"buyer": buyer.id, "allowed": {x for x in (first, second) if x is not None}
                             | ({buyer.id} if scenario["shop"]["self_purchase"] else set())}
        drain(live)
        if refund:
            body = {"reason": "test"} if refund == "all" or price < 2 else {"amount_fen": price // 2, "reason": "part"}
            r = ops.post(f"/admin/orders/{order['id']}/refund", json=body)
            assert r.status_code in (200, 201), r.text
        drain(live)
    with live.app.app_context():
        level_jobs.nightly(chunk=50)  # the nightly pass: upgrades, never money
        db.session.remove()
    drain(live)

    commissions, entries = _movements(live, ids)
    with live.app.app_context():
        orders = {o.id: o for o in db.session.scalars(select(Order).where(Order.user_id.in_(ids)))}
        by_commission = {c.id: c for c in commissions}
        cap = scenario["shop"]["cap_bp"]
        for c in commissions:
            order = orders.get(c.order_id)
            # (a) behind every commission: a paid order of one of these buyers
            assert order is not None and order.paid_at is not None and c.order_id in paid, c
            # (b) two levels, the buyer's ancestors (or the buyer with self-purchase) only
            assert c.level in (1, 2), c
            assert c.user_id in paid[c.order_id]["allowed"], (c.user_id, paid[c.order_id])
        for entry in entries:  # (a) every movement traces back to a paid order
            order_id = entry.order_id or (by_commission[entry.commission_id].order_id if entry.commission_id else None)
            assert order_id in paid and orders[order_id].paid_at is not None, (entry.kind, entry.memo)
        for order_id in paid:  # (c) the cap of the paid amount
            earned = [c for c in commissions if c.order_id == order_id]
            assert len({c.level for c in earned}) == len(earned)  # one commission per level
            assert sum(c.amount_fen for c in earned) <= orders[order_id].paid_fen * cap // 10_000
        db.session.remove()


def _movements(live, ids: set[int]) -> tuple[list[Commission], list[LedgerEntry]]:
    with live.app.app_context():
        commissions = list(db.session.scalars(select(Commission).where(
            or_(Commission.user_id.in_(ids), Commission.buyer_id.in_(ids)))))
        entries = list(db.session.scalars(select(LedgerEntry).where(LedgerEntry.user_id.in_(ids))))
        db.session.expunge_all()
        db.session.remove()
        return commissions, entries

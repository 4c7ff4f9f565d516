"""A generated week of normal traffic shaped like bench/big_tree.py (a heavy-tailed tree:
a few KOLs, preferential attachment, accelerating growth; repeat buyers; a few percent
of orders refunded; customers behind shared carrier NAT addresses): with the default
thresholds, fewer than 0.5 % of its orders are held. Everything is written in one
transaction that is rolled back at the end (the session's other tests never see it)."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

from sqlalchemy import insert

from backend.auth.models import User
from backend.commission.models import Commission
from backend.extensions import db
from backend.orders.models import Order, Refund
from backend.risk import review_pass, service, signals
from backend.risk.models import ClientFact, DistributorWatch
from backend.risk.settings import RiskSettings, get_risk_settings
from backend.timeutil import utcnow

USERS, ORDERS, DAYS, N_ROOTS, KOLS = 2_000, 3_000, 7, 20, 4
KOL_WEIGHTS = (0.55, 0.2, 0.15, 0.1)
NAT_ADDRESSES = 300  # customers share carrier NAT addresses
REFUND_RATE = 0.03


def tree(rand: random.Random, n: int) -> list[int]:
    """parent[i] (0: a root), by big_tree.py's rules."""
    parent, depth, targets, kol_members = [0] * (n + 1), [0] * (n + 1), [], [[] for _ in range(KOLS)]

    def pick_kol() -> int:
        return rand.choices(range(KOLS), KOL_WEIGHTS)[0]

    for i in range(1, n + 1):
        r = rand.random()
        if i <= N_ROOTS or r < 0.002:
            p = 0
        elif r < 0.042:
            k = pick_kol()
            p = k + 1
            kol_members[k].append(i)
        elif r < 0.192:
            members = kol_members[pick_kol()]
            p = rand.choice(members) if members else 1
        elif r < 0.392:
            p = rand.randint(1, i - 1)
        else:
            p = rand.choice(targets)
        while p and depth[p] >= 15:
            p = rand.randint(1, i - 1)
        parent[i], depth[i] = p, depth[p] + 1 if p else 0
        if p:
            targets.append(p)
        targets.append(i)
    return parent


def test_a_normal_week_holds_fewer_than_half_a_percent_of_orders(live, capsys):
    rand = random.Random(16)
    with live.app.app_context():
        assert get_risk_settings() == RiskSettings(version=get_risk_settings().version), "defaults expected"
        start = utcnow() - timedelta(days=DAYS)
        tag = uuid.uuid4().hex[:8]
        parent = tree(rand, USERS)
        has_members = set(parent)
        users = [User(openid=f"wk-{tag}-{i}", nickname=f"u{i}", phone=f"138{rand.randrange(10**8):08d}",
                      distributor_status="approved" if i in has_members or i <= N_ROOTS else "none",
                      invite_code=f"W{tag[:5]}{i:05d}".upper()[:16])
                  for i in range(1, USERS + 1)]
        db.session.add_all(users)
        db.session.flush()
        uid = [0] + [u.id for u in users]
        nat = [f"100.{64 + rand.randrange(64)}.{rand.randrange(256)}.{rand.randrange(1, 255)}"
               for _ in range(NAT_ADDRESSES)]
        facts = []
        for i in range(1, USERS + 1):  # each person's own phone (device id), on a shared carrier address
            ip = rand.choice(nat)
            joined = start + timedelta(days=DAYS) * ((i / USERS) ** 0.6)
            facts += [dict(user_id=uid[i], kind="device", value=f"d-{tag}-{i}", first_seen_at=joined),
                      dict(user_id=uid[i], kind="ip", value=ip, first_seen_at=joined)]
            if parent[i]:
                users[i - 1].inviter_id = uid[parent[i]]
                service.record_bind(uid[i], uid[parent[i]], ip, f"d-{tag}-{i}", now=joined)
        db.session.execute(insert(ClientFact.__table__), facts)
        db.session.flush()

        # orders: buyers with an inviter, repeat buyers (Pareto-ish), over the week
        buyers = [i for i in range(1, USERS + 1) if parent[i]]
        weights = [1 / (k + 1) ** 0.8 for k in range(len(buyers))]
        rand.shuffle(weights)
        picks = sorted(rand.choices(buyers, weights, k=ORDERS), key=lambda i: i)
        orders = []
        for n, i in enumerate(picks):
            paid_at = start + timedelta(days=DAYS) * ((i / USERS) ** 0.6) + timedelta(hours=rand.random() * 24)
            orders.append(dict(user_id=uid[i], status="paid", total_fen=rand.choice((990, 3_000, 12_800, 45_000)),
                               out_trade_no=f"WK{tag}{n:08d}", created_at=paid_at, expires_at=paid_at,
                               paid_at=min(paid_at, utcnow()), level1_id=uid[parent[i]],
                               level2_id=uid[parent[parent[i]]] if parent[parent[i]] else None,
                               chain_source="binding", buyer=i))
        ids = db.session.scalars(insert(Order.__table__).returning(Order.__table__.c.id, sort_by_parameter_order=True),
                                 [{k: v for k, v in o.items() if k != "buyer"} | {"paid_fen": o["total_fen"]}
                                  for o in orders]).all()
        db.session.execute(insert(Commission.__table__), [
            dict(order_id=oid, user_id=o["level1_id"], buyer_id=o["user_id"], level=1, amount_fen=o["total_fen"] // 10,
                 reversed_fen=0, status="available", source="binding", available_at=o["paid_at"],
                 released_at=o["paid_at"], created_at=o["paid_at"]) for oid, o in zip(ids, orders, strict=True)])
        refunded = [(oid, o) for oid, o in zip(ids, orders, strict=True) if rand.random() < REFUND_RATE]
        db.session.execute(insert(Refund.__table__), [
            dict(order_id=oid, out_refund_no=f"WR{tag}{oid}", amount_fen=o["total_fen"], reason="", status="succeeded",
                 created_at=o["paid_at"] + timedelta(hours=rand.randint(1, 48))) for oid, o in refunded])
        db.session.flush()

        # the nightly pass over it, then each order's payment check as at payment
        review_pass.evaluate()
        watched = {w.user_id for w in db.session.query(DistributorWatch).filter_by(under_review=True)}
        held = {}
        for o in orders:
            i = o["buyer"]
            verdict = signals.verdict(uid[i], o["level1_id"], o["level2_id"])
            if verdict is not None and (set(verdict.signals) != {"distributor_under_review"}
                                        or {o["level1_id"], o["level2_id"]} & watched):
                held[o["out_trade_no"]] = verdict.signals
        db.session.rollback()
        db.session.remove()

    rate = len(held) / ORDERS
    by_signal = {}
    for names in held.values():
        for name in names:
            by_signal[name] = by_signal.get(name, 0) + 1
    with capsys.disabled():
        print(f"\nrisk, a normal week: {ORDERS} orders, {len(refunded)} refunded, {len(held)} held "
              f"({rate:.2%}), by signal {by_signal}")
    assert rate < 0.005, by_signal

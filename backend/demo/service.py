"""``flask fission demo``: a demo shop, loaded through the services.

Steps, each its own unit of work (so a step that fails leaves the earlier ones
committed, and a rerun carries on): the catalog, the people, each buyer's orders,
the credit job (run here, as the worker would), the refunds, the boards job again,
then the times moved back to the planned moments over the last 30 days, the
leaderboards rebuilt from the ledger, the campaign, the community groups, the group
invites and the share traffic. Idempotent by stable keys: part numbers, the demo
openids (``demo-openid-…``), the campaign's and the live code's names, and "this
buyer has orders already". A second run adds nothing.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from backend.auth.models import User
from backend.catalog import service as catalog
from backend.catalog.models import Product
from backend.demo import community, parts, people, shop
from backend.extensions import db
from backend.leaderboard.jobs_rebuild import rebuild_all
from backend.orders.models import Order
from backend.timeutil import utcnow
from backend.transactions import unit_of_work

SEED = 20261212  # the same plan on every run


@dataclass
class Summary:
    products_added: int = 0
    products: int = 0
    users_added: int = 0
    users: int = 0
    distributors: int = 0
    pending_applications: int = 0
    orders_added: int = 0
    paid_orders: int = 0
    pending_orders: int = 0
    refunded_orders: int = 0
    partially_refunded_orders: int = 0
    campaigns_added: int = 0
    groups_added: int = 0
    invites_shown: int = 0
    share_events_added: int = 0
    boards_rebuilt: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def added_anything(self) -> bool:
        return any((self.products_added, self.users_added, self.orders_added, self.campaigns_added,
                    self.groups_added, self.invites_shown, self.share_events_added))


def load_catalog(echo: Callable[[str], None], summary: Summary) -> dict[str, int]:
    """Products by part number, created if missing; returns their ids."""
    wanted = parts.catalog()
    with unit_of_work("demo catalog"):
        have = {p.part_no: p for p in db.session.scalars(
            select(Product).where(Product.part_no.in_([p.part_no for p in wanted])))}
        for n, part in enumerate(wanted, 1):
            if part.part_no in have:
                echo(f"[{n:3d}/{len(wanted)}] {part.part_no:<28} {part.brand:<16} exists")
                continue
            have[part.part_no] = catalog.create_product({
                "title": part.title, "brand": part.brand, "part_no": part.part_no, "price_fen": part.price_fen,
                "stock": part.stock, "price_breaks": parts.price_breaks(part)})
            summary.products_added += 1
            echo(f"[{n:3d}/{len(wanted)}] {part.part_no:<28} {part.brand:<16} ¥{part.price_fen / 100:>8.2f}  "
                 f"stock {part.stock}")
        ids = {part_no: product.id for part_no, product in have.items()}
    return ids


def load_people(echo: Callable[[str], None], summary: Summary, rng: random.Random):
    plan = people.plan_people()
    now = utcnow()
    users: dict[str, User] = {}
    times: dict[int, object] = {}
    with unit_of_work("demo people"):
        for index, person in enumerate(plan):
            made = people.create_person(person, index, users)
            if made is not None:
                times[made.id] = people.joined_at(person, index, now, rng)
                summary.users_added += 1
        people.backdate_people(times)
    echo(f"people: {summary.users_added} added ({len(plan)} in the demo tree)")
    return plan, {key: user.id for key, user in users.items()}, times


def drain() -> None:
    """Run the queued jobs (the credit loop, board updates, messages) here, as the
    worker of ``make run`` would; a running worker may take some of them first."""
    from rq import SimpleWorker

    from backend import queue
    from backend.extensions import redis_client

    names = [queue.queue_name(n) for n in queue.QUEUES]
    db.session.close()  # no transaction of ours stays open while the jobs take theirs (SQLite: the write lock)
    SimpleWorker(names, connection=redis_client()).work(burst=True, logging_level="WARNING")


def load_orders(echo, summary: Summary, plan, user_ids: dict[str, int], products: dict[str, int],
                rng: random.Random) -> list:
    buyers = [p.key for p in plan if not p.key.startswith("a") or "c" in p.key]
    bulk = {p.part_no for p in parts.catalog() if p.category in ("Resistor", "Capacitor")}
    part_nos = sorted(products)
    plans = shop.plan_orders(buyers, part_nos, bulk, utcnow(), rng)
    made = []
    for key in buyers:
        with unit_of_work("demo orders"):
            user = db.session.get(User, user_ids[key])
            if shop.has_orders(user.id):
                continue
            shop.place_orders(user, plans[key], products)
        placed = [o for o in plans[key] if o.order_id is not None]
        made += [(user_ids[key], o) for o in placed]
        summary.orders_added += len(placed)
        echo(f"orders: {key:<10} {len(placed)} placed")
    if not made:
        return made
    drain()  # the credit job: commissions reach the wallets
    for _, order in made:
        if order.refund:
            with unit_of_work("demo refund"):
                shop.refund(order, "演示: 客户退货" if order.refund == "full" else "演示: 部分退款(少发)")
    drain()  # the boards take the refunds off
    with unit_of_work("demo times"):
        for _, order in made:
            shop.backdate(order)
    echo(f"orders: {summary.orders_added} placed, moved back over the last {shop.DAYS} days")
    return made


def load(echo: Callable[[str], None] = print) -> Summary:
    """Load the demo shop; returns what was added and the demo's totals."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose; no secret comes from it
    summary = Summary()
    products = load_catalog(echo, summary)
    plan, user_ids, joined = load_people(echo, summary, rng)
    made = load_orders(echo, summary, plan, user_ids, products, rng)
    now = utcnow()
    with unit_of_work("demo campaign and groups"):
        campaign, added = community.ensure_campaign(now)
        summary.campaigns_added = int(added)
        _, summary.groups_added = community.ensure_groups(now, campaign.id)
    if made:
        paid = [(uid, o.order_id, o.paid_at) for uid, o in made if o.pay]
        with unit_of_work("demo group invites"):
            shown = community.show_invites(paid, rng)
            community.backdate_invites(shown)
            summary.invites_shown = len(shown)
            community.recount_funnel(min(o.at for _, o in made), now)
        drain()  # the funnel's own jobs, if showing enqueued any
    if joined:
        by_id = {uid: key for key, uid in user_ids.items()}
        codes = dict(db.session.execute(select(User.id, User.invite_code).where(User.id.in_(list(user_ids.values())))
                                        ).all())
        inviters = {p.key: p.parent for p in plan}
        sharers = [(uid, codes[uid], joined[uid]) for uid in joined if codes.get(uid)]
        visitors = [(uid, codes[user_ids[inviters[by_id[uid]]]], joined[uid]) for uid in joined
                    if inviters[by_id[uid]] and codes.get(user_ids[inviters[by_id[uid]]])]
        with unit_of_work("demo share traffic"):
            summary.share_events_added = community.share_traffic(
                sharers, visitors, sorted(products.values())[:60], now, rng)
    if summary.added_anything:
        with unit_of_work("demo boards"):
            summary.boards_rebuilt = rebuild_all()  # the boards from the ledger, at the moved times
    _totals(summary)
    return summary


def _totals(summary: Summary) -> None:
    part_nos = [p.part_no for p in parts.catalog()]
    demo_users = select(User.id).where(User.openid.like(f"{people.OPENID_PREFIX}%"))
    summary.products = db.session.scalar(select(func.count()).select_from(Product)
                                         .where(Product.part_no.in_(part_nos)))
    summary.users = db.session.scalar(select(func.count()).select_from(demo_users.subquery()))
    summary.distributors = db.session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(demo_users), User.distributor_status == "approved"))
    summary.pending_applications = db.session.scalar(select(func.count()).select_from(User).where(
        User.id.in_(demo_users), User.distributor_status == "pending"))
    counts = dict(db.session.execute(select(Order.status, func.count()).where(Order.user_id.in_(demo_users))
                                     .group_by(Order.status)).all())
    summary.paid_orders = sum(counts.get(s, 0) for s in ("paid", "shipped", "completed", "refunded",
                                                          "partially_refunded"))
    summary.pending_orders = counts.get("pending_payment", 0)
    summary.refunded_orders = counts.get("refunded", 0)
    summary.partially_refunded_orders = counts.get("partially_refunded", 0)
    db.session.rollback()  # reads only

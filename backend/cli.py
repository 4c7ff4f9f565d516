"""``flask fission ...``: worker, sweeper, first admin."""

from __future__ import annotations

import logging
import os
import sys

import click
from flask import Flask
from flask.cli import AppGroup


def _beside_make_run(app: Flask) -> None:
    """A command typed beside make run (no REDIS_URL) talks to its embedded Redis, and says so."""
    from backend.running_redis import use_running_redis

    note = use_running_redis(app)
    if note:
        click.echo(note, err=True)


def register_cli(app: Flask) -> None:
    group = AppGroup("fission", help="Fission operations: workers, sweeper, admin accounts.")

    @group.command("worker", with_appcontext=False)
    @click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
    @click.option("--fork", is_flag=True, help="Run each job in a forked child (isolation over latency).")
    def worker(burst: bool, fork: bool):
        """Run an RQ worker on the payouts and default queues."""
        from backend import queue
        from backend.extensions import redis_client
        from backend.health import database_warnings
        from backend.worker import work_forever, worker_class

        queue._worker_app = app  # jobs push their own app context per run
        with app.app_context():
            names = [queue.queue_name(n) for n in queue.QUEUES]
            conn = redis_client()
            for warning in database_warnings():
                logging.getLogger("backend.worker").warning(warning)
        worker_cls = worker_class(fork)  # a new work loop after each Redis outage (backend/worker.py)
        click.echo(f"worker listening on {', '.join(names)}")
        work_forever(lambda: worker_cls(names, connection=conn), burst=burst,
                     logging_level=os.environ.get("LOG_LEVEL", "INFO").upper())

    @group.command("sweep")
    @click.option("--once", is_flag=True, help="One pass, then exit.")
    @click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
    def sweep(once: bool, interval: float):
        """Re-enqueue unfinished payouts and refunds; cancel unpaid orders past their deadline."""
        from backend.sweeper import run_forever, sweep_once

        if once:
            _beside_make_run(app)  # a pass by hand: make run's Redis, its workers
            click.echo(sweep_once())
        else:
            click.echo(f"sweeper running every {interval}s")
            run_forever(interval)

    @group.command("ledger-check")
    @click.option("--batch", default=1000, show_default=True, help="Users checked per query.")
    def ledger_check(batch: int):
        """Check every wallet against the ledger; exit 1 and list each drift found."""
        from backend.commission import wallet_check

        drifts: dict[int, dict] = {}
        with click.progressbar(length=wallet_check.users_to_check(), label="wallets checked",
                               file=sys.stderr) as bar:
            for user_ids in wallet_check.batches(batch):
                drifts.update(wallet_check.drift_of(user_ids))
                bar.update(len(user_ids))
        for user_id, drift in sorted(drifts.items()):
            for column, (stored, derived) in drift.items():
                click.echo(f"user {user_id}: {column} stored {stored}, ledger says {derived}")
        if drifts:
            click.echo(f"{len(drifts)} wallet(s) differ from the ledger")
            raise SystemExit(1)
        click.echo("every wallet equals its ledger")

    @group.command("levels-evaluate")
    def levels_evaluate():
        """The nightly level pass: upgrades, and the period-end downgrades (保级) of the last closed month."""
        from backend.levels import jobs as level_jobs

        click.echo(level_jobs.nightly())  # commits chunk by chunk

    @group.command("targets-close")
    @click.option("--period", help="the month to close (YYYY-MM); default: every due month")
    def targets_close(period):
        """Pay the month's target bonuses once (idempotent: a closed month pays nothing)."""
        from backend.commission.outbox import enqueue_credit_after_commit
        from backend.targets import closing
        from backend.transactions import unit_of_work

        with unit_of_work("fission targets-close"):
            keys = [period] if period else closing.due_periods()
            with click.progressbar(length=1, label="distributors") as bar:
                def progress(done, total):
                    bar.length = total
                    bar.update(done - bar.pos)
                results = [closing.close(key, progress=progress) for key in keys]
            if any(r["payout_ids"] for r in results):
                enqueue_credit_after_commit()
        for r in results:
            state = "already closed" if r["already_closed"] else "closed"
            click.echo(f"{r['period_key']}: {state}, {r['distributors']} distributors, {r['bonus_fen']} fen")
        if not results:
            click.echo("no month is due")
    @group.command("channel-health")
    def channel_health():
        """The nightly channel health pass: every distributor's figures into channel_health."""
        from backend.channel import health
        with click.progressbar(length=1, label="channel health") as bar:
            def progress(done, total):
                bar.length = max(total, 1)
                bar.update(done - bar.pos)
            stats = health.run_pass(progress=progress)  # commits range by range
        click.echo(stats)

    @group.command("ensure-admin")
    def ensure_admin():
        """Create the first admin from ADMIN_USERNAME / ADMIN_PASSWORD if missing."""
        from backend.auth.service import ensure_first_admin
        from backend.transactions import unit_of_work

        cfg = app.config["FISSION"]
        with unit_of_work("fission ensure-admin"):
            generated = ensure_first_admin(cfg.admin_username, cfg.admin_password)
        if generated:
            click.echo(f"admin account created: {cfg.admin_username} / {generated}")
        else:
            click.echo(f"admin account: {cfg.admin_username} (exists or password from ADMIN_PASSWORD)")

    @group.command("create-admin")
    @click.argument("username")
    @click.argument("role", type=click.Choice(["admin", "operator", "finance"]))
    @click.password_option()
    def create_admin(username: str, role: str, password: str):
        """Create another admin account with a role."""
        from backend.auth.service import create_admin as create
        from backend.transactions import unit_of_work

        with unit_of_work("fission create-admin"):
            create(username, password, role)
        click.echo(f"created {role} {username}")

    @group.command("unlock-admin")
    @click.argument("username")
    def unlock_admin(username: str):
        """Lift USERNAME's lock-out after repeated wrong passwords (and forget its failures)."""
        from backend.auth.lockout import unlock_admin as unlock

        _beside_make_run(app)  # the lock-out lives in make run's embedded Redis
        if unlock(app.config["FISSION"], username):
            click.echo(f"{username}: lock-out lifted, failed attempts forgotten")
        else:
            click.echo(f"{username}: was not locked out (no failed attempts on record)")

    @group.command("dashboard-rollup")
    @click.option("--day", "days", multiple=True, help="A Shanghai day (YYYY-MM-DD) to recompute; repeatable.")
    def dashboard_rollup(days: tuple[str, ...]):
        """Recompute the dashboard's daily figures: the given days, or those due."""
        from datetime import date

        from backend.admin import dashboard
        from backend.transactions import unit_of_work

        with unit_of_work("fission dashboard-rollup"):
            if days:
                done = [date.fromisoformat(day) for day in days]
                for day in done:
                    dashboard.roll_up_day(day)
            else:
                done = dashboard.roll_up_due()
        click.echo(f"rolled up {len(done)} day(s): {', '.join(d.isoformat() for d in done) or '-'}")

    @group.command("openapi")
    @click.argument("out", type=click.Path(dir_okay=False, writable=True))
    def openapi(out: str):
        """Write the OpenAPI document (the console's typed client is generated from it)."""
        import json

        from backend.extensions import api

        with open(out, "w", encoding="utf-8") as f:
            json.dump(api.spec.to_dict(), f, ensure_ascii=False, indent=1, sort_keys=True)
            f.write("\n")
        click.echo(f"OpenAPI document written to {out}")

    @group.command("demo")
    @click.option("--quiet", is_flag=True, help="Only the summary, no line per part.")
    def demo(quiet: bool):
        """Load the demo shop (parts, teams, orders, refunds, campaign, groups); idempotent."""
        from backend import queue
        from backend.demo.service import load

        # the "you earned" messages of the demo's fake openids: no news per payout (unsent without the emulator)
        for name in ("backend.commission.messages", "wechatpy"):
            logging.getLogger(name).setLevel(logging.WARNING)
        _beside_make_run(app)
        queue._worker_app = app  # the credit jobs run here, in this app's context
        summary = load(echo=(lambda line: None) if quiet else click.echo)
        # The demo's orders are dated over the last 30 days, and the sweeper may have rolled
        # those days up (empty) before they existed: the dashboard's figures are rolled again.
        from datetime import timedelta

        from backend.admin import dashboard
        from backend.transactions import unit_of_work

        today = dashboard.shop_today()
        with unit_of_work("fission demo: dashboard rollup"):
            for back in range(1, dashboard.DAYS + 1):
                dashboard.roll_up_day(today - timedelta(days=back))
        click.echo(
            f"demo shop: {summary.products} parts ({summary.products_added} added), {summary.users} people "
            f"({summary.users_added} added; {summary.distributors} distributors, {summary.pending_applications} "
            f"applications pending), {summary.paid_orders} paid orders ({summary.orders_added} orders added; "
            f"{summary.refunded_orders} refunded, {summary.partially_refunded_orders} partially refunded), "
            f"{summary.pending_orders} awaiting payment, campaign {'added' if summary.campaigns_added else 'exists'}, "
            f"{summary.groups_added} groups added, {summary.invites_shown} group invites shown, "
            f"{summary.share_events_added} share events, {summary.boards_rebuilt} boards rebuilt")
        if not summary.added_anything:
            click.echo("nothing to add: the demo shop is loaded")

    from backend.catalog.cli import register as register_catalog

    register_catalog(group)
    app.cli.add_command(group)

    from backend.leaderboard.cli import group as leaderboard_group

    app.cli.add_command(leaderboard_group)

    from backend.reconciliation.cli import group as statements_group

    app.cli.add_command(statements_group)

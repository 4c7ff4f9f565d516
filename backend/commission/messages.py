"""The "you earned" subscribe messages: a courtesy, sent at most once per payout
and at most once per person per interval."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import select, update

from backend.auth.models import User
from backend.commission.models import Commission, Payout
from backend.extensions import db, redis_client, wechat
from backend.timeutil import utcnow
from backend.transactions import commit_before_remote_call
from backend.wechat.gateway import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)


def send_earned_messages(payout_ids: list[int]) -> int:
    """The "you earned" subscribe messages, at most once each: pick, throttle, claim,
    commit, send. Only the messages that will be sent are claimed (row lock and
    ``notified_at``): most commissions of a busy distributor are throttled, and
    locking and writing every payout row cost the database more than the messages.
    A message is a courtesy: one that fails is logged, never retried into a duplicate."""
    cfg = current_app.config["FISSION"]
    rows = db.session.execute(
        select(Payout.id, Payout.user_id, User.openid, Commission.amount_fen, Commission.order_id)
        .join(User, User.id == Payout.user_id).join(Commission, Commission.id == Payout.commission_id)
        .where(Payout.id.in_(payout_ids), Payout.kind == "commission", Payout.notified_at.is_(None),
               Payout.status != "pending")).all()
    chosen = {row.id: row for row in _throttled(rows, cfg)}
    # Claimed under the row lock: a second job holding the same ids finds them taken.
    claimed = list(db.session.scalars(
        select(Payout.id).where(Payout.id.in_(list(chosen)), Payout.notified_at.is_(None))
        .with_for_update())) if chosen else []
    if claimed:
        db.session.execute(update(Payout).where(Payout.id.in_(claimed))
                           .values(notified_at=utcnow()).execution_options(synchronize_session=False))
    commit_before_remote_call()  # the claims are on record before a message can go out
    template_id = cfg.wechat.subscribe_template_id
    sent = 0
    for row in (chosen[pid] for pid in claimed):
        fen = row.amount_fen
        try:
            wechat().send_subscribe_message(row.openid, template_id, {
                "amount1": {"value": f"{fen // 100}.{fen % 100:02d}"},
                "thing2": {"value": f"订单 {row.order_id} 佣金"},
            }, page="pages/wallet/index")
            sent += 1
        except (WeChatError, WeChatUnavailable) as exc:
            log.info("subscribe message for payout %s not sent: %s", row.id, exc)
    return sent


def _throttled(rows, cfg):
    """At most one "you earned" message per person per interval: a subscribe message
    spends the user's one-time consent, and the wallet shows every commission anyway.
    One round trip for the whole batch (a pipeline of SET NX)."""
    interval = cfg.message_min_interval_seconds
    if interval <= 0:
        return list(rows)
    firsts, seen = [], set()  # each person's first row
    for row in rows:
        if row.user_id not in seen:
            seen.add(row.user_id)
            firsts.append(row)
    try:
        pipe = redis_client().pipeline(transaction=False)
        for row in firsts:
            pipe.set(f"{cfg.queue_prefix}:earned-msg:{{{row.user_id}}}", 1, nx=True, ex=interval)
        return [row for row, fresh in zip(firsts, pipe.execute(), strict=True) if fresh]
    except Exception:  # without Redis we cannot tell: send
        return firsts

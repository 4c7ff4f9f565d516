"""Channel health jobs: the nightly pass (the sweeper enqueues it once per
Asia/Shanghai day; ``flask fission channel-health`` runs it by hand) and the warning
message of a ``warn`` action (enqueued once the action commits)."""

from __future__ import annotations

import logging

from flask import current_app

from backend.auth.models import User
from backend.channel import health
from backend.channel.models import ChannelAction
from backend.extensions import db, wechat
from backend.queue import enqueue_once_per, job
from backend.timeutil import shop_today, utcnow
from backend.transactions import commit_before_remote_call
from backend.wechat.gateway import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)
NIGHTLY_TIMEOUT = 1800


@job
def nightly_job() -> dict:
    stats = health.run_pass()
    log.info("channel health pass: %s", stats)
    return stats


def enqueue_nightly_if_due(now=None) -> bool:
    """The sweeper asks every pass; one enqueue per shop day."""
    today = shop_today(now or utcnow())
    return enqueue_once_per(f"channel:health:{today.isoformat()}", 26 * 3600, nightly_job,
                            job_timeout=NIGHTLY_TIMEOUT)


@job
def send_warning(action_id: int) -> bool:
    """The subscribe message of a ``warn``: read, end the transaction, send. A courtesy:
    one that fails is logged (the action stays on record)."""
    action = db.session.get(ChannelAction, action_id)
    if action is None or action.action != "warn":
        return False
    openid = db.session.get(User, action.user_id).openid
    reason = action.reason[:20]
    commit_before_remote_call()
    try:
        wechat().send_subscribe_message(openid, current_app.config["FISSION"].wechat.subscribe_template_id, {
            "thing1": {"value": "分销提醒"}, "thing2": {"value": reason},
        }, page="pages/distributor/index")
        return True
    except (WeChatError, WeChatUnavailable) as exc:
        log.info("channel warning %s not sent: %s", action_id, exc)
        return False

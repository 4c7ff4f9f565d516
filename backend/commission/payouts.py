"""Advancing one payout on its rail: the state machine driven by ``advance`` (the
``run_payout`` job), the transfer notify (``record_result``) and the sweeper
(``due_payouts``). Crediting lives in ``routing.py``, the batch in ``credit.py``,
withdrawals and operator retries in ``withdrawals.py``.

The rules that keep money exact:

* every balance change is a ledger posting with a deterministic key (``ledger_keys``);
* every transfer has a deterministic bill number (payout id + attempt);
* the claim (``tries += 1``) is committed *before* WeChat is called, so a worker
  that dies mid-call leaves a trace, and the next run asks WeChat what happened
  (query by bill number) before it ever creates anything;
* no database lock is held while WeChat is called: each call is preceded by
  ``commit_before_remote_call()``, and the job boundary commits what follows it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from backend.auth.models import User
from backend.commission import ledger
from backend.commission.ledger import Movement, user_account
from backend.commission.models import Commission, Payout
from backend.commission.routing import TRANSFER_RAILS, backoff, bill_number, credit_and_route, finish, key, lock
from backend.commission.withdrawals import create_withdrawal, retry_failed
from backend.extensions import db, wechat
from backend.timeutil import as_utc, utcnow
from backend.transactions import commit_before_remote_call
from backend.wechat.gateway import TransferResult, WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)

# Importable from here as before: the payout's rail and the operator's actions.
__all__ = ["TRANSFER_RAILS", "advance", "bill_number", "create_withdrawal", "due_payouts", "payout_view",
           "query_now", "record_result", "retry_failed"]

CONFIRM_TTL = timedelta(hours=24)  # WeChat expires unconfirmed transfer bills after 24 h


def advance(payout_id: int) -> str | None:
    """Move one payout as far as it can go now. Idempotent. Commits before each call
    to WeChat; the job boundary commits the rest."""
    payout = lock(payout_id)
    if payout is None:
        return None
    if payout.status == "pending":
        credit_and_route(payout)
    if payout.status == "submitting":
        payout.tries += 1
        payout.submitted_at = payout.submitted_at or utcnow()
        # If this worker dies during the call, the sweeper re-runs the payout when
        # the lease runs out; the re-run queries by bill number before anything else.
        payout.next_attempt_at = utcnow() + timedelta(seconds=current_app.config["FISSION"].payout_lease_seconds)
        tries = payout.tries
        commit_before_remote_call()  # the credit and the claim are on record before WeChat hears of it
        _submit(payout_id, may_exist=tries > 1)
    elif payout.status in ("wait_user_confirm", "processing"):
        commit_before_remote_call()  # let go of the payout's row lock before asking WeChat
        _refresh(payout_id)
    return db.session.get(Payout, payout_id).status


def _submit(payout_id: int, may_exist: bool) -> None:
    payout = db.session.get(Payout, payout_id)
    user = db.session.get(User, payout.user_id)
    out_bill_no, rail, amount, kind, openid = (payout.out_bill_no, payout.rail, payout.amount_fen, payout.kind,
                                               user.openid)
    commit_before_remote_call()
    gateway = wechat()
    remark = REMARKS.get(kind, "提现")
    try:
        result = _query_existing(gateway, rail, out_bill_no) if may_exist else None
        if rail == "wechat_transfer":
            if result is None:
                result = gateway.create_transfer_bill(out_bill_no=out_bill_no, openid=openid, amount_fen=amount,
                                                      remark=remark, notify_url=_transfer_notify_url())
        else:
            if result is None:
                result = gateway.legacy_transfer(partner_trade_no=out_bill_no, openid=openid, amount_fen=amount,
                                                 desc=remark)
    except WeChatUnavailable as exc:
        _ask_again_later(payout_id, f"unavailable: {exc}")
        return
    except WeChatError as exc:
        # A refusal gives the money back only once WeChat confirms it holds no such
        # transfer: an answer can be wrong about a transfer it made (a proxy's error
        # page, a FAIL after the fact), and the operator's retry uses a new bill number.
        try:
            result = _query_existing(gateway, rail, out_bill_no)
        except WeChatUnavailable as unknown:
            _ask_again_later(payout_id, f"refused ({exc}), then unconfirmed: {unknown}")
            return
        if result is None:
            payout = lock(payout_id)
            if payout.status == "submitting":
                _return_money(payout, f"refused: {exc}")
            return
        log.warning("payout %s: refused (%s) but WeChat holds the transfer (%s)", payout_id, exc, result.state)
    record_result(payout_id, result)


def _ask_again_later(payout_id: int, error: str) -> None:
    """Outcome unknown: keep the bill number and ask WeChat again after the backoff
    (the next run queries before it creates anything)."""
    payout = lock(payout_id)
    payout.last_error = error[:500]
    payout.next_attempt_at = utcnow() + backoff(payout.tries)


# shown to the user by WeChat
REMARKS = {"commission": "佣金", "withdrawal": "提现", "prize": "排行榜奖励", "target_bonus": "业绩奖励"}


def _query_existing(gateway, rail: str, out_bill_no: str) -> TransferResult | None:
    """Ask whether an earlier try already reached WeChat. Any answer but a clear
    "not found" leaves the outcome unknown: never a reason to give the money back."""
    try:
        if rail == "wechat_transfer":
            return gateway.query_transfer_bill(out_bill_no)
        return gateway.query_legacy_transfer(out_bill_no)
    except WeChatError as exc:
        raise WeChatUnavailable(f"query refused: {exc}") from exc


def _refresh(payout_id: int) -> None:
    """Ask WeChat where a transfer stands; cancel one left unconfirmed too long."""
    payout = db.session.get(Payout, payout_id)
    out_bill_no, rail = payout.out_bill_no, payout.rail
    overdue = as_utc(payout.submitted_at) + CONFIRM_TTL <= utcnow()
    commit_before_remote_call()
    gateway = wechat()
    try:
        if rail == "wechat_transfer":
            result = gateway.query_transfer_bill(out_bill_no)
            if result is not None and result.state == "WAIT_USER_CONFIRM" and overdue:
                # Still unconfirmed after 24 h: cancel, then read the final state.
                gateway.cancel_transfer_bill(out_bill_no)
                result = gateway.query_transfer_bill(out_bill_no)
        else:
            result = gateway.query_legacy_transfer(out_bill_no)
    except (WeChatUnavailable, WeChatError) as exc:
        _ask_again_later(payout_id, f"query: {exc}")
        return
    if result is not None:
        record_result(payout_id, result)
    else:
        payout = lock(payout_id)
        payout.next_attempt_at = utcnow() + backoff(payout.tries)


def _transfer_notify_url() -> str:
    from backend.orders.service import notify_url

    return notify_url("transfer-notify")


def record_result(payout_id: int, result: TransferResult) -> None:
    """Apply what WeChat says about a transfer. Safe to call any number of times."""
    payout = lock(payout_id)
    if payout is None or payout.status in ("succeeded", "failed", "in_wallet", "pending"):
        return
    if result.out_bill_no != payout.out_bill_no:
        log.error("payout %s: result for %s ignored", payout.id, result.out_bill_no)
        return
    payout.transfer_bill_no = result.transfer_bill_no or payout.transfer_bill_no
    if result.state == "SUCCESS":
        ledger.post(Movement(
            key=key(payout, "settle"), kind="payout_settled", user_id=payout.user_id,
            debit=user_account(payout.user_id, "in_transit"), credit=user_account(payout.user_id, "paid_out"),
            amount_fen=payout.amount_fen, payout_id=payout.id, commission_id=payout.commission_id))
        if payout.commission_id:
            commission = db.session.get(Commission, payout.commission_id)
            if commission.status == "available":
                commission.status = "withdrawn"
        payout.last_error = None
        finish(payout, "succeeded")
    elif result.state in ("FAIL", "CANCELLED"):
        _return_money(payout, result.fail_reason or result.state.lower())
    elif result.state == "WAIT_USER_CONFIRM":
        payout.status = "wait_user_confirm"
        payout.package_info = result.package_info or payout.package_info
    else:
        payout.status = "processing"
    payout.next_attempt_at = utcnow() + timedelta(seconds=30)
    db.session.flush()


def _return_money(payout: Payout, reason: str) -> None:
    ledger.post(Movement(
        key=key(payout, "return"), kind="payout_returned", user_id=payout.user_id,
        debit=user_account(payout.user_id, "in_transit"), credit=user_account(payout.user_id, "available"),
        amount_fen=payout.amount_fen, payout_id=payout.id, commission_id=payout.commission_id, memo=reason[:255]))
    finish(payout, "failed", reason[:500])


def query_now(payout_id: int) -> Payout:
    """An operator asks WeChat where a transfer stands, by the sweeper's own paths: a
    transfer waiting on WeChat is refreshed (``_refresh``); one whose sending had no
    known answer is looked up by bill number (``_query_existing``), never created. A
    payout WeChat has nothing on (pending, in the wallet, finished) is returned as is."""
    payout = db.session.get(Payout, payout_id)
    if payout.status in ("wait_user_confirm", "processing"):
        commit_before_remote_call()
        _refresh(payout_id)
    elif payout.status == "submitting" and payout.tries > 0 and payout.out_bill_no:
        rail, out_bill_no = payout.rail, payout.out_bill_no
        commit_before_remote_call()
        try:
            result = _query_existing(wechat(), rail, out_bill_no)
        except WeChatUnavailable as exc:
            _ask_again_later(payout_id, f"query: {exc}")
        else:
            if result is not None:
                record_result(payout_id, result)
    db.session.flush()
    return db.session.get(Payout, payout_id)


def due_payouts(older_than: timedelta, limit: int = 1000) -> list[tuple[int, str]]:
    """(id, status) of payouts the sweeper should push again: pending ones a worker
    has not taken (Redis lost the job, or it was never enqueued), submitting ones
    whose retry or lease is due, and transfers waiting on WeChat worth a query."""
    now = utcnow()
    return [tuple(row) for row in db.session.execute(
        select(Payout.id, Payout.status).where(
            Payout.status.in_(("pending", "submitting", "wait_user_confirm", "processing")),
            Payout.next_attempt_at <= now - older_than,
        ).order_by(Payout.next_attempt_at).limit(limit))]


def payout_view(payout: Payout) -> dict:
    """A payout as the API shows it (times as datetimes: the schema's ``Timestamp`` formats them)."""
    view = {
        "id": payout.id, "kind": payout.kind, "user_id": payout.user_id, "commission_id": payout.commission_id,
        "status": payout.status, "amount_fen": payout.amount_fen, "rail": payout.rail,
        "out_bill_no": payout.out_bill_no, "attempt": payout.attempt, "last_error": payout.last_error,
        "created_at": payout.created_at, "finished_at": payout.finished_at,
    }
    if payout.package_info and payout.status == "wait_user_confirm":
        view["package_info"] = payout.package_info
    return view

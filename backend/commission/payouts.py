"""Payouts and withdrawals: moving money out of the wallet on the payout rail.

A payout is a small state machine driven by ``advance`` (the RQ job body), the
transfer notify and the sweeper. The rules that keep money exact:

* every balance change is a ledger posting with a deterministic key;
* every transfer has a deterministic bill number (payout id + attempt);
* the claim (``tries += 1``) is committed *before* WeChat is called, so a worker
  that dies mid-call leaves a trace, and the next run asks WeChat what happened
  (query by bill number) before it ever creates anything;
* no database lock is held while WeChat is called.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from backend.auth.models import User
from backend.commission import ledger
from backend.commission import service as commission_service
from backend.commission.ledger import Movement, user_account
from backend.commission.models import Commission, Payout, Wallet
from backend.commission.settings import get_settings
from backend.errors import ApiError
from backend.extensions import db, end_transaction_before_remote_call, wechat
from backend.timeutil import SHOP_TZ, as_utc, utcnow
from backend.wechat.gateway import TransferResult, WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)

TRANSFER_RAILS = ("wechat_transfer", "wechat_legacy_transfer")
CONFIRM_TTL = timedelta(hours=24)  # WeChat expires unconfirmed transfer bills after 24 h
MAX_BACKOFF = timedelta(minutes=10)


def bill_number(payout: Payout) -> str:
    return f"FP{payout.id:012d}A{payout.attempt:02d}"


def _key(payout: Payout, step: str) -> str:
    return f"payout:{payout.id}:{payout.attempt}:{step}"


def _lock(payout_id: int) -> Payout | None:
    return db.session.scalar(select(Payout).where(Payout.id == payout_id).with_for_update())


def _backoff(tries: int) -> timedelta:
    return min(timedelta(seconds=2 ** min(tries, 10)), MAX_BACKOFF)


def _paid_today_fen(user_id: int) -> int:
    # Midnight in Shanghai, compared in UTC (SQLite and MySQL keep no offset).
    start_local = datetime.now(SHOP_TZ).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    return int(db.session.scalar(
        select(func.coalesce(func.sum(Payout.amount_fen), 0)).where(
            Payout.user_id == user_id,
            Payout.status.in_(("submitting", "wait_user_confirm", "processing", "succeeded")),
            Payout.submitted_at >= start_local,
        )) or 0)


# --- the job -----------------------------------------------------------------------

def advance(payout_id: int) -> str | None:
    """Move one payout as far as it can go now. Idempotent; commits at each step."""
    payout = _lock(payout_id)
    if payout is None:
        return None
    if payout.status == "pending":
        _credit_and_route(payout)
        db.session.commit()
        payout = db.session.get(Payout, payout_id)
    if payout.status == "submitting":
        payout.tries += 1
        payout.submitted_at = payout.submitted_at or utcnow()
        # If this worker dies during the call, the sweeper re-runs the payout when
        # the lease runs out; the re-run queries by bill number before anything else.
        payout.next_attempt_at = utcnow() + timedelta(seconds=current_app.config["FISSION"].payout_lease_seconds)
        tries = payout.tries
        db.session.commit()  # the claim is on record before WeChat hears of it
        _submit(payout_id, may_exist=tries > 1)
    elif payout.status in ("wait_user_confirm", "processing"):
        db.session.commit()
        _refresh(payout_id)
    else:
        db.session.commit()
    return db.session.get(Payout, payout_id).status


@dataclass
class CreditBatch:
    credited: list[int]  # payouts whose commission reached the wallet now (for the message)
    to_transfer: list[int]  # payouts now ``submitting``: one job each, they call WeChat
    more: bool  # the batch was full: run again
    released: list[int] = field(default_factory=list)  # commissions released now (for the boards)


def credit_pending(limit: int = 500) -> CreditBatch:
    """The instant part for many payouts in ONE transaction: lock pending payouts
    (SKIP LOCKED, so several workers share the work), release their commissions to
    the wallets and route them. The caller commits, once for the batch, after reading
    what else must see the batch under its row locks (the boards' events).

    The common case is set-based Core SQL on plain rows; only the others (transfer
    rails, holds, clawed-back commissions) go through the ORM one by one."""
    now = utcnow()
    rows = db.session.execute(_lock_pending(limit), {"now": now}).all()
    commission_ids = [p.commission_id for p in rows if p.commission_id]
    commissions = {c.id: c for c in db.session.execute(_LOCK_COMMISSIONS, {"ids": commission_ids})} \
        if commission_ids else {}
    batch = CreditBatch([], [], len(rows) == limit)
    simple = [p for p in rows if _is_simple_credit(p, commissions.get(p.commission_id), now)]
    _credit_in_bulk(simple, commissions, now)
    batch.credited.extend(p.id for p in simple)
    batch.released.extend(p.commission_id for p in simple)
    simple_ids = {p.id for p in simple}
    others = [p for p in rows if p.id not in simple_ids]
    # As ORM objects, both read in one query each (the rows are locked already).
    other_payouts = db.session.scalars(
        select(Payout).where(Payout.id.in_([p.id for p in others])).order_by(Payout.id)).all() if others else []
    other_ids = [p.commission_id for p in others if p.commission_id]
    other_commissions = {c.id: c for c in db.session.scalars(
        select(Commission).where(Commission.id.in_(other_ids)))} if other_ids else {}
    for payout in other_payouts:
        commission = other_commissions.get(payout.commission_id)
        was_pending = commission is not None and commission.status == "pending"
        try:
            with db.session.begin_nested():  # one payout's trouble never spoils the batch
                _credit_and_route(payout, commission)
        except ApiError as exc:
            payout.tries += 1
            payout.next_attempt_at = utcnow() + _backoff(payout.tries)
            payout.last_error = exc.message
            continue
        if payout.status != "pending":
            batch.credited.append(payout.id)
        if was_pending and commission.status == "available":
            batch.released.append(commission.id)
        if payout.status == "submitting":
            batch.to_transfer.append(payout.id)
    db.session.flush()
    return batch


_PAYOUTS, _COMMISSIONS = Payout.__table__, Commission.__table__


@functools.cache
def _lock_pending(limit: int):
    return (select(_PAYOUTS.c.id, _PAYOUTS.c.kind, _PAYOUTS.c.rail, _PAYOUTS.c.commission_id)
            .where(_PAYOUTS.c.status == "pending", _PAYOUTS.c.next_attempt_at <= bindparam("now"))
            .order_by(_PAYOUTS.c.id).limit(limit).with_for_update(skip_locked=True))


_LOCK_COMMISSIONS = (
    select(_COMMISSIONS.c.id, _COMMISSIONS.c.user_id, _COMMISSIONS.c.order_id, _COMMISSIONS.c.status,
           _COMMISSIONS.c.available_at, _COMMISSIONS.c.amount_fen, _COMMISSIONS.c.reversed_fen)
    .where(_COMMISSIONS.c.id.in_(bindparam("ids", expanding=True))).order_by(_COMMISSIONS.c.id).with_for_update())
_RELEASE_COMMISSIONS = (
    update(_COMMISSIONS).where(_COMMISSIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(status="available", released_at=bindparam("now")))
# What is left of the commission leaves; a clawback may have taken some before.
_PAYOUTS_IN_WALLET = (
    update(_PAYOUTS).where(_PAYOUTS.c.id.in_(bindparam("ids", expanding=True)))
    .values(status="in_wallet", finished_at=bindparam("now"), amount_fen=(
        select(_COMMISSIONS.c.amount_fen - _COMMISSIONS.c.reversed_fen)
        .where(_COMMISSIONS.c.id == _PAYOUTS.c.commission_id).scalar_subquery())))


def _is_simple_credit(payout, commission, now) -> bool:
    """The common case, done set-based: a commission on the wallet rail whose hold is over."""
    return (payout.kind == "commission" and payout.rail not in TRANSFER_RAILS and commission is not None
            and commission.status == "pending" and as_utc(commission.available_at) <= now
            and commission.amount_fen > commission.reversed_fen)


def _credit_in_bulk(payouts: list, commissions: dict, now) -> None:
    """Release many commissions to their wallets: one INSERT of ledger entries, one
    batched UPDATE of the wallets, one UPDATE each of the commissions and payouts.
    Same postings and keys as ``commission_service.release``; the rows are locked
    and were seen pending."""
    if not payouts:
        return
    ledger.post_guarded([commission_service.release_movement(commissions[p.commission_id]) for p in payouts])
    db.session.execute(_RELEASE_COMMISSIONS, {"ids": [p.commission_id for p in payouts], "now": now})
    db.session.execute(_PAYOUTS_IN_WALLET, {"ids": [p.id for p in payouts], "now": now})


def _credit_and_route(payout: Payout, commission: Commission | None = None) -> None:
    """The instant part (credit the wallet), then the rail decides what follows.
    The caller holds the payout's row lock (and the commission's, if it passes it)."""
    if payout.kind == "commission":
        if commission is None:
            commission = db.session.scalar(
                select(Commission).where(Commission.id == payout.commission_id).with_for_update())
        if commission.status == "pending":
            if as_utc(commission.available_at) > utcnow():
                payout.next_attempt_at = commission.available_at  # on hold: the sweeper comes back
                return
            commission_service.release(commission)
        # What a refund clawed back before the payout ran never leaves.
        if commission.amount_fen == commission.reversed_fen:
            _finish(payout, "in_wallet", "commission reversed before payout")
            return
        payout.amount_fen = min(payout.amount_fen, commission.amount_fen - commission.reversed_fen)
    settings = get_settings()
    if payout.rail not in TRANSFER_RAILS:
        _finish(payout, "in_wallet")
        return
    # The wallet's row lock makes the balance and today's total (read next) the
    # current ones: a withdrawal or another transfer of this user waits for us.
    wallet = _lock_wallet(payout.user_id)
    # A negative balance (after a clawback) is netted first: only what is really
    # available leaves, and amounts below WeChat's minimum wait in the wallet.
    amount = min(payout.amount_fen, wallet.available_fen if wallet else 0)
    if amount < settings.minimum_for(payout.rail):
        _finish(payout, "in_wallet", "below the transfer minimum; kept in the wallet")
        return
    if _paid_today_fen(payout.user_id) + amount > settings.daily_transfer_limit_fen:
        _finish(payout, "in_wallet", "daily transfer limit reached; kept in the wallet")
        return
    payout.amount_fen = amount
    ledger.post(Movement(
        key=_key(payout, "hold"), kind="payout_hold", user_id=payout.user_id,
        debit=user_account(payout.user_id, "available"), credit=user_account(payout.user_id, "in_transit"),
        amount_fen=amount, payout_id=payout.id, commission_id=payout.commission_id, require_funds=True,
    ))
    payout.out_bill_no = bill_number(payout)
    payout.status = "submitting"
    payout.tries = 0
    payout.submitted_at = utcnow()  # counts towards today's limit at once, also within one batch
    db.session.flush()


def _lock_wallet(user_id: int) -> Wallet | None:
    return db.session.scalar(select(Wallet).where(Wallet.user_id == user_id).with_for_update()
                             .execution_options(populate_existing=True))


def _finish(payout: Payout, status: str, note: str | None = None) -> None:
    payout.status = status
    payout.finished_at = utcnow()
    if note:
        payout.last_error = note
    db.session.flush()


def _submit(payout_id: int, may_exist: bool) -> None:
    payout = db.session.get(Payout, payout_id)
    user = db.session.get(User, payout.user_id)
    out_bill_no, rail, amount, kind, openid = (payout.out_bill_no, payout.rail, payout.amount_fen, payout.kind,
                                               user.openid)
    end_transaction_before_remote_call()
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
            payout = _lock(payout_id)
            if payout.status == "submitting":
                _return_money(payout, f"refused: {exc}")
            db.session.commit()
            return
        log.warning("payout %s: refused (%s) but WeChat holds the transfer (%s)", payout_id, exc, result.state)
    record_result(payout_id, result)
    db.session.commit()


def _ask_again_later(payout_id: int, error: str) -> None:
    """Outcome unknown: keep the bill number and ask WeChat again after the backoff
    (the next run queries before it creates anything)."""
    payout = _lock(payout_id)
    payout.last_error = error[:500]
    payout.next_attempt_at = utcnow() + _backoff(payout.tries)
    db.session.commit()


REMARKS = {"commission": "佣金", "withdrawal": "提现", "prize": "排行榜奖励"}  # shown to the user by WeChat


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
    end_transaction_before_remote_call()
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
        payout = _lock(payout_id)
        payout.next_attempt_at = utcnow() + _backoff(payout.tries)
    db.session.commit()


def _transfer_notify_url() -> str:
    from backend.orders.service import notify_url

    return notify_url("transfer-notify")


def record_result(payout_id: int, result: TransferResult) -> None:
    """Apply what WeChat says about a transfer. Safe to call any number of times."""
    payout = _lock(payout_id)
    if payout is None or payout.status in ("succeeded", "failed", "in_wallet", "pending"):
        return
    if result.out_bill_no != payout.out_bill_no:
        log.error("payout %s: result for %s ignored", payout.id, result.out_bill_no)
        return
    payout.transfer_bill_no = result.transfer_bill_no or payout.transfer_bill_no
    if result.state == "SUCCESS":
        ledger.post(Movement(
            key=_key(payout, "settle"), kind="payout_settled", user_id=payout.user_id,
            debit=user_account(payout.user_id, "in_transit"), credit=user_account(payout.user_id, "paid_out"),
            amount_fen=payout.amount_fen, payout_id=payout.id, commission_id=payout.commission_id))
        if payout.commission_id:
            commission = db.session.get(Commission, payout.commission_id)
            if commission.status == "available":
                commission.status = "withdrawn"
        payout.last_error = None
        _finish(payout, "succeeded")
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
        key=_key(payout, "return"), kind="payout_returned", user_id=payout.user_id,
        debit=user_account(payout.user_id, "in_transit"), credit=user_account(payout.user_id, "available"),
        amount_fen=payout.amount_fen, payout_id=payout.id, commission_id=payout.commission_id, memo=reason[:255]))
    _finish(payout, "failed", reason[:500])


# --- withdrawals and operator actions ---------------------------------------------

def create_withdrawal(user: User, amount_fen: int) -> Payout:
    settings = get_settings()
    rail = "wechat_legacy_transfer" if settings.payout_rail == "wechat_legacy_transfer" else "wechat_transfer"
    minimum = settings.minimum_for(rail)
    if amount_fen < minimum:
        raise ApiError("AMOUNT_TOO_SMALL", f"The smallest withdrawal is {minimum} fen",
                       details={"minimum_fen": minimum})
    # Two withdrawals of one user at once: the second waits here, then counts the first.
    _lock_wallet(user.id)
    if _paid_today_fen(user.id) + amount_fen > settings.daily_transfer_limit_fen:
        raise ApiError("DAILY_LIMIT_EXCEEDED", "Today's withdrawal limit is reached")
    payout = Payout(kind="withdrawal", user_id=user.id, amount_fen=amount_fen, rail=rail, status="submitting",
                    tries=0, next_attempt_at=utcnow(), submitted_at=utcnow())  # counts towards today at once
    db.session.add(payout)
    db.session.flush()
    ledger.post(Movement(
        key=_key(payout, "hold"), kind="withdrawal_hold", user_id=user.id,
        debit=user_account(user.id, "available"), credit=user_account(user.id, "in_transit"),
        amount_fen=amount_fen, payout_id=payout.id, require_funds=True))
    payout.out_bill_no = bill_number(payout)
    db.session.flush()
    return payout


def retry_failed(payout_id: int) -> Payout:
    """An operator retries a failed transfer: a new attempt with a new bill number
    (WeChat never reuses a failed one), the money held again."""
    payout = _lock(payout_id)
    if payout is None:
        raise ApiError("PAYOUT_NOT_FOUND", f"Payout {payout_id} does not exist")
    if payout.status != "failed" or payout.rail not in TRANSFER_RAILS:
        raise ApiError("PAYOUT_NOT_RETRYABLE", f"Payout {payout_id} is {payout.status}")
    # The same limit as any transfer, read under the wallet's lock: a retry is money
    # leaving today, like a withdrawal made at this moment.
    _lock_wallet(payout.user_id)
    if _paid_today_fen(payout.user_id) + payout.amount_fen > get_settings().daily_transfer_limit_fen:
        raise ApiError("DAILY_LIMIT_EXCEEDED", f"Payout {payout_id} would pass the user's transfer limit for today")
    payout.attempt += 1
    payout.tries = 0
    payout.package_info = None
    payout.transfer_bill_no = None
    payout.submitted_at = utcnow()  # counts towards today's limit at once
    payout.finished_at = None
    ledger.post(Movement(
        key=_key(payout, "hold"), kind="payout_hold", user_id=payout.user_id,
        debit=user_account(payout.user_id, "available"), credit=user_account(payout.user_id, "in_transit"),
        amount_fen=payout.amount_fen, payout_id=payout.id, commission_id=payout.commission_id,
        require_funds=True))
    payout.out_bill_no = bill_number(payout)
    payout.status = "submitting"
    payout.next_attempt_at = utcnow()
    db.session.flush()
    return payout


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
    from backend.timeutil import iso

    view = {
        "id": payout.id, "kind": payout.kind, "user_id": payout.user_id, "commission_id": payout.commission_id,
        "status": payout.status, "amount_fen": payout.amount_fen, "rail": payout.rail,
        "out_bill_no": payout.out_bill_no, "attempt": payout.attempt, "last_error": payout.last_error,
        "created_at": iso(payout.created_at), "finished_at": iso(payout.finished_at),
    }
    if payout.package_info and payout.status == "wait_user_confirm":
        view["package_info"] = payout.package_info
    return view

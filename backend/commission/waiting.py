"""What a payout (or a withdrawal) is waiting for, as a stable code and in plain words
an operator understands. The console translates the codes; the text is English.

Codes: ``hold_period`` (the commission's hold runs), ``worker`` (a job has to run:
credit, route, send), ``wechat_result`` (WeChat's answer is not known yet, or WeChat is
moving the money), ``user_confirmation`` (the user confirms the transfer in the
mini-program), ``minimum_amount`` / ``daily_limit`` (kept in the wallet by a limit),
``operator_retry`` (failed: the money is back in the wallet; an operator may retry),
``nothing`` (done).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from backend.commission.models import Commission, Payout
from backend.commission.routing import BELOW_MINIMUM, OVER_DAILY_LIMIT, TRANSFER_RAILS
from backend.extensions import db
from backend.timeutil import as_utc, utcnow

WAITING_CODES = ("hold_period", "worker", "wechat_result", "user_confirmation", "minimum_amount", "daily_limit",
                 "operator_retry", "nothing")


def waiting_for(payout: Payout, held_until: datetime | None = None) -> tuple[str, str]:
    """(code, text) for one payout; ``held_until`` the end of its commission's hold."""
    status, error = payout.status, payout.last_error
    if status == "pending":
        if held_until is not None and as_utc(held_until) > utcnow():
            return "hold_period", (f"The commission is on hold until {as_utc(held_until):%Y-%m-%d %H:%M} UTC "
                                   "(refund window); it reaches the wallet then, by itself.")
        return "worker", "Waiting for a background worker to credit the wallet (normally seconds; re-queued by itself)."
    if status == "submitting":
        if payout.tries == 0:
            return "worker", "The money is held; waiting for a background worker to send the transfer to WeChat."
        return "wechat_result", ("WeChat's answer to the transfer is not known yet"
                                 + (f" (last error: {error})" if error else "")
                                 + "; WeChat is asked again by itself, the transfer is never sent twice.")
    if status == "wait_user_confirm":
        return "user_confirmation", ("Waiting for the user to confirm the transfer in the mini-program; "
                                     "unconfirmed after 24 hours it is cancelled and the money returns to the wallet.")
    if status == "processing":
        return "wechat_result", "WeChat accepted the transfer and is moving the money."
    if status == "in_wallet":
        if error == BELOW_MINIMUM:
            return "minimum_amount", ("Kept in the user's wallet: the amount is below WeChat's transfer minimum. "
                                      "The user can withdraw once the balance is large enough.")
        if error == OVER_DAILY_LIMIT:
            return "daily_limit", ("Kept in the user's wallet: today's transfer limit for this user was reached. "
                                   "The user can withdraw it later.")
        return "nothing", "Done: the money is in the user's wallet."
    if status == "succeeded":
        return "nothing", "Done: the money has arrived."
    if status == "failed" and payout.rail in TRANSFER_RAILS:
        return "operator_retry", (f"The transfer failed ({error or 'no reason given'}); the money is back in the "
                                  "user's wallet. An operator can retry it.")
    return "nothing", f"Nothing: the payout is {status}."


def holds_of(payouts: list[Payout]) -> dict[int, datetime]:
    """commission id → end of its hold, for the pending commission payouts given (one query)."""
    ids = [p.commission_id for p in payouts if p.status == "pending" and p.commission_id]
    if not ids:
        return {}
    return dict(db.session.execute(select(Commission.id, Commission.available_at).where(Commission.id.in_(ids))).all())


def with_waiting(view: dict, payout: Payout, holds: dict[int, datetime]) -> dict:
    code, text = waiting_for(payout, holds.get(payout.commission_id))
    return {**view, "waiting_for": code, "waiting_for_text": text}

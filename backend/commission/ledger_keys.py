"""The idempotency keys of ledger postings: built and read in one place.

A posting's key is unique in ``ledger_entries`` (the database's backstop against a
replay), and some readers find postings by their key (the boards take a refund's
reversals off by ``refund:{refund}:commission:…``). The writers and those readers
must agree on the shape, so both go through here:

* ``commission:{commission}:earn``            a paid order's commission, pending
* ``commission:{commission}:release``         its hold is over: pending → available
* ``refund:{refund}:commission:{commission}`` a refund's clawback
* ``refund:{refund}:commission:{commission}:undo``  a failed refund gives it back
* ``payout:{payout}:{attempt}:{step}``        hold / settle / return of a transfer
* ``prize:{campaign}:{user}``                 a campaign prize
* ``target:{user}:{month}:award``             a month's target bonus (one per distributor and month)
* ``refund:{refund}:target:{bonus}``          a refund's clawback of a closed bonus
* ``refund:{refund}:target:{bonus}:undo``     a failed refund gives it back
* ``risk:{review}:commission:{commission}``   a risk review's rejection reverses it
"""

from __future__ import annotations

from dataclasses import dataclass

PAYOUT_STEPS = ("hold", "settle", "return")


def earn_key(commission_id: int) -> str:
    return f"commission:{commission_id}:earn"


def release_key(commission_id: int) -> str:
    return f"commission:{commission_id}:release"


def reversal_key(refund_id: int, commission_id: int) -> str:
    return f"refund:{refund_id}:commission:{commission_id}"


def reinstatement_key(refund_id: int, commission_id: int) -> str:
    return f"{reversal_key(refund_id, commission_id)}:undo"


def payout_key(payout_id: int, attempt: int, step: str) -> str:
    assert step in PAYOUT_STEPS, step
    return f"payout:{payout_id}:{attempt}:{step}"


def prize_key(campaign_id: int, user_id: int) -> str:
    return f"prize:{campaign_id}:{user_id}"


def target_award_key(user_id: int, period_key: str) -> str:
    # by distributor and month, not by the bonus row's id: a row id can come back (SQLite
    # reuses the highest id once its row is gone), the distributor and month cannot
    return f"target:{user_id}:{period_key}:award"


def target_reversal_key(refund_id: int, bonus_id: int) -> str:
    return f"refund:{refund_id}:target:{bonus_id}"


def target_reinstatement_key(refund_id: int, bonus_id: int) -> str:
    return f"{target_reversal_key(refund_id, bonus_id)}:undo"


def risk_rejection_key(review_id: int, commission_id: int) -> str:
    return f"risk:{review_id}:commission:{commission_id}"


def refund_commission_pattern(refund_id: int) -> str:
    """LIKE pattern of every reversal and reinstatement of one refund (ids are
    integers: nothing in them needs escaping)."""
    return f"refund:{int(refund_id)}:commission:%"


def of_refund(key_column, refund_id: int):
    """SQL predicate: ``key_column`` is a reversal or reinstatement key of ``refund_id``."""
    return key_column.like(refund_commission_pattern(refund_id))


@dataclass(frozen=True)
class LedgerKey:
    """What a key says. Fields a kind does not have are None."""

    # earn | release | reversal | reinstatement | payout | prize | risk_rejection | target_award | target_reversal
    # | target_reinstatement
    kind: str
    commission_id: int | None = None
    refund_id: int | None = None
    payout_id: int | None = None
    attempt: int | None = None
    step: str | None = None
    campaign_id: int | None = None
    user_id: int | None = None
    bonus_id: int | None = None
    review_id: int | None = None

    @property
    def undo(self) -> bool:
        return self.kind == "reinstatement"


def parse(key: str) -> LedgerKey:
    """The parts of a key built above; ValueError for anything else."""
    parts = key.split(":")
    try:
        return _parse(parts)
    except ValueError:  # an id that is not a number
        raise ValueError(f"not a ledger key: {key!r}") from None


def _parse(parts: list[str]) -> LedgerKey:
    match parts:
        case ["commission", cid, "earn"]:
            return LedgerKey("earn", commission_id=int(cid))
        case ["commission", cid, "release"]:
            return LedgerKey("release", commission_id=int(cid))
        case ["refund", rid, "commission", cid]:
            return LedgerKey("reversal", commission_id=int(cid), refund_id=int(rid))
        case ["refund", rid, "commission", cid, "undo"]:
            return LedgerKey("reinstatement", commission_id=int(cid), refund_id=int(rid))
        case ["payout", pid, attempt, step] if step in PAYOUT_STEPS:
            return LedgerKey("payout", payout_id=int(pid), attempt=int(attempt), step=step)
        case ["risk", review_id, "commission", cid]:
            return LedgerKey("risk_rejection", commission_id=int(cid), review_id=int(review_id))
        case ["prize", campaign_id, user_id]:
            return LedgerKey("prize", campaign_id=int(campaign_id), user_id=int(user_id))
        case ["target", bid, "award"]:
            return LedgerKey("target_award", bonus_id=int(bid))
        case ["refund", rid, "target", bid]:
            return LedgerKey("target_reversal", refund_id=int(rid), bonus_id=int(bid))
        case ["refund", rid, "target", bid, "undo"]:
            return LedgerKey("target_reinstatement", refund_id=int(rid), bonus_id=int(bid))
    raise ValueError("not a ledger key")

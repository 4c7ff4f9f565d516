"""The ledger's idempotency keys: every shape built by ledger_keys parses back to its parts."""

import pytest

from backend.commission import ledger_keys as keys


@pytest.mark.parametrize(("key", "parsed"), [
    (keys.earn_key(7), keys.LedgerKey("earn", commission_id=7)),
    (keys.release_key(7), keys.LedgerKey("release", commission_id=7)),
    (keys.reversal_key(3, 7), keys.LedgerKey("reversal", commission_id=7, refund_id=3)),
    (keys.reinstatement_key(3, 7), keys.LedgerKey("reinstatement", commission_id=7, refund_id=3)),
    (keys.payout_key(5, 2, "settle"), keys.LedgerKey("payout", payout_id=5, attempt=2, step="settle")),
    (keys.prize_key(4, 9), keys.LedgerKey("prize", campaign_id=4, user_id=9)),
    (keys.risk_rejection_key(6, 2), keys.LedgerKey("risk_rejection", commission_id=2, review_id=6)),
])
def test_every_key_parses_back(key, parsed):
    assert keys.parse(key) == parsed


def test_the_shapes_stay_those_already_stored():
    """Keys are in the database already: their text must never change."""
    assert keys.earn_key(1) == "commission:1:earn"
    assert keys.release_key(1) == "commission:1:release"
    assert keys.reversal_key(2, 1) == "refund:2:commission:1"
    assert keys.reinstatement_key(2, 1) == "refund:2:commission:1:undo"
    assert keys.payout_key(3, 1, "hold") == "payout:3:1:hold"
    assert keys.prize_key(4, 5) == "prize:4:5"


def test_a_refunds_pattern_matches_its_reversals_and_undos_only():
    pattern = keys.refund_commission_pattern(12)
    assert pattern == "refund:12:commission:%"
    assert keys.parse(keys.reinstatement_key(12, 1)).undo and not keys.parse(keys.reversal_key(12, 1)).undo


@pytest.mark.parametrize("bad", ["", "commission:x:earn", "payout:1:1:lost", "order:1", "refund:1:commission"])
def test_anything_else_is_refused(bad):
    with pytest.raises(ValueError, match="ledger key"):
        keys.parse(bad)

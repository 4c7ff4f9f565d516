"""Keeping team_contributions in step with commissions.

Called inside the transactions that create, claw back or reinstate commissions, so
the read model can never disagree with the commissions it sums.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from backend import counters
from backend.referral.models import TeamContribution


def add(changes: Iterable[tuple[int, int, int]]) -> None:
    """Add ``delta`` fen to what ``buyer`` brought ``earner``, for each (earner, buyer, delta)."""
    merged: dict[tuple[int, int], int] = defaultdict(int)
    for earner_id, buyer_id, delta in changes:
        merged[(earner_id, buyer_id)] += delta
    counters.add(TeamContribution.__table__, ("earner_id", "buyer_id"),
                 [dict(earner_id=e, buyer_id=b, net_fen=d) for (e, b), d in merged.items()])

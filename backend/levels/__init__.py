"""Distributor levels (分销员等级): operator-defined rates earned on sales, never on head count.

The credit batch tells ``commission.outbox.commissions_released`` which commissions it
released; ``_on_commissions_released`` only queues their ids (Redis, after the commit),
and a collapsing job evaluates the earners (``backend/levels/jobs.py``).
"""

from backend.commission.outbox import commissions_released


def _on_commissions_released(sender, commission_ids: list[int]) -> None:
    from backend.levels.jobs import on_commissions_released

    on_commissions_released(sender, commission_ids)


commissions_released.connect(_on_commissions_released, weak=False)

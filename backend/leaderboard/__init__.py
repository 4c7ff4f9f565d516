"""Leaderboards: Redis sorted sets per metric and period, rebuilt from the database."""

from backend.commission.outbox import commissions_released


def _on_commissions_released(sender, commission_ids: list[int]) -> None:
    # Imported when the first batch releases something, not when the package is:
    # importing any leaderboard module (create_app imports its blueprints) connects
    # the boards to the credit batch without pulling the jobs in at import time.
    from backend.leaderboard.jobs import on_commissions_released

    on_commissions_released(sender, commission_ids)


commissions_released.connect(_on_commissions_released, weak=False)

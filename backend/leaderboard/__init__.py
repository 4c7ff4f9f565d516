"""Leaderboards: Redis sorted sets per metric and period, rebuilt from the database."""

"""A distributor's progress towards the month's target, and the PK boards (业绩 PK):
a level's members ranked by attainment on the board machinery (Redis sorted sets,
refreshed from the database, which is the truth)."""

from __future__ import annotations

from sqlalchemy import select

from backend.auth.models import User
from backend.extensions import db
from backend.leaderboard import boards
from backend.leaderboard.periods import period_bounds
from backend.targets import plans, rules
from backend.targets.closing import achieved as closing_achieved
from backend.targets.closing import due_at
from backend.targets.models import TargetBonus

BOARD_METRIC = "attainment"


def progress(user: User, key: str) -> dict:
    """The API.md shape: {period_key, target_fen, achieved_fen, bonus_fen_so_far, tiers},
    plus the plan, attainment, the rate reached, the next tier and whether it is closed."""
    start, end = period_bounds("month", key)
    closed = db.session.scalar(select(TargetBonus).where(TargetBonus.user_id == user.id,
                                                         TargetBonus.period_key == key))
    plan = plans.resolve(key, [(user.id, user.level_id)]).get(user.id)
    if closed is not None:
        return {"period_key": key, "plan_id": closed.plan_id, "target_fen": closed.target_fen,
                "achieved_fen": closed.achieved_fen, "attainment_bp": closed.attainment_bp,
                "bonus_bp": closed.bonus_bp, "bonus_fen_so_far": closed.bonus_fen - closed.reversed_fen,
                "reversed_fen": closed.reversed_fen, "closed": True, "closes_at": None,
                "tiers": _tiers(plan.tiers if plan else [], closed.attainment_bp), "next_tier": None}
    if plan is None:
        return {"period_key": key, "plan_id": None, "target_fen": 0, "achieved_fen": 0, "attainment_bp": 0,
                "bonus_bp": 0, "bonus_fen_so_far": 0, "reversed_fen": 0, "closed": False,
                "closes_at": due_at(key), "tiers": [], "next_tier": None}
    achieved = closing_achieved(start, end, [user.id])[user.id]
    result = rules.outcome(achieved, plan.target_fen, plan.tiers)
    return {"period_key": key, "plan_id": plan.id, "target_fen": plan.target_fen, "achieved_fen": achieved,
            "attainment_bp": result.attainment_bp, "bonus_bp": result.bonus_bp,
            "bonus_fen_so_far": result.bonus_fen, "reversed_fen": 0, "closed": False, "closes_at": due_at(key),
            "tiers": _tiers(plan.tiers, result.attainment_bp), "next_tier": result.next_tier}


def _tiers(tiers: list[dict], reached_bp: int) -> list[dict]:
    return [{**t, "reached": reached_bp >= t["attainment_bp"]} for t in sorted(tiers, key=lambda t: t["attainment_bp"])]


def board(prefix: str, level_id: int, key: str) -> boards.Board:
    return boards.Board(prefix, f"{BOARD_METRIC}:{level_id}", "month", key)


def standings(level_id: int, key: str) -> list[tuple[int, int, int]]:
    """(user id, attainment bp, reached ms) of the level's members with a plan this month,
    from the database: closed bonuses once the month is closed, live figures before."""
    start, end = period_bounds("month", key)
    members = list(db.session.execute(select(User.id, User.level_id).where(
        User.level_id == level_id, User.distributor_status == "approved")))
    closed = {b.user_id: b for b in db.session.scalars(select(TargetBonus).where(
        TargetBonus.period_key == key, TargetBonus.user_id.in_([uid for uid, _ in members])))} if members else {}
    resolved = plans.resolve(key, members)
    live = closing_achieved(start, end, sorted(resolved)) if resolved else {}
    reached_ms = boards.to_ms(start)
    rows = []
    for uid in sorted(resolved):
        if uid in closed:
            rows.append((uid, closed[uid].attainment_bp, reached_ms))
        else:
            rows.append((uid, rules.attainment_bp(live[uid], resolved[uid].target_fen), reached_ms))
    return rows


FRESH_SECONDS = 300  # a PK board is rebuilt from the database at most this often when read


def fresh_key(prefix: str, level_id: int, key: str) -> str:
    return f"{board(prefix, level_id, key).scores}:fresh"


def refresh_board(prefix: str, conn, level_id: int, key: str) -> int:
    """Rebuild one PK board from the database (one grouped query) and mark it fresh."""
    written = boards.replace(conn, board(prefix, level_id, key), standings(level_id, key))
    conn.set(fresh_key(prefix, level_id, key), 1, ex=FRESH_SECONDS)
    return written

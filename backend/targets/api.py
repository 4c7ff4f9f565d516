"""The distributor's target for a month, and the PK board of their level."""

from __future__ import annotations

from flask import current_app, g

from backend.apidoc import Blueprint, errors
from backend.auth.guards import login_required
from backend.errors import ApiError
from backend.extensions import redis_client
from backend.leaderboard import boards
from backend.leaderboard import service as leaderboard
from backend.leaderboard.periods import period_key, valid_key
from backend.leaderboard.schemas import BoardSchema
from backend.targets import jobs, schemas, service
from backend.timeutil import utcnow

blp = Blueprint("targets", __name__, url_prefix="/api/v1", description="Monthly targets and PK boards")


def _month(args) -> str:
    key = args.get("period") or period_key("month", utcnow())
    if not valid_key("month", key):
        raise ApiError("VALIDATION_ERROR", f"{key} is not a month", details={"field": "period"})
    return key


@blp.get("/me/targets")
@login_required
@errors("VALIDATION_ERROR")
@blp.arguments(schemas.PeriodArgs, location="query")
@blp.response(200, schemas.MyTargetsSchema)
def my_targets(args):
    """Progress towards the month's target: GMV net of refunds so far, the tier reached,
    the bonus it would pay now and the next tier; once closed, what was paid."""
    return service.progress(g.user, _month(args))


@blp.get("/me/targets/board")
@login_required
@errors("VALIDATION_ERROR", "NOT_A_DISTRIBUTOR")
@blp.arguments(schemas.PkBoardArgs, location="query")
@blp.response(200, BoardSchema)
def my_pk_board(args):
    """业绩 PK: the caller's level ranked by target attainment (score in basis points of
    the target). Rebuilt from the database when missing, and at most every few minutes."""
    user = g.user
    if not user.is_distributor or user.level_id is None:
        raise ApiError("NOT_A_DISTRIBUTOR", "PK boards rank the members of a level")
    key = _month(args)
    prefix, conn = current_app.config["FISSION"].queue_prefix, redis_client()
    board = service.board(prefix, user.level_id, key)
    if not conn.exists(board.scores):
        service.refresh_board(prefix, conn, user.level_id, key)
    elif not conn.exists(service.fresh_key(prefix, user.level_id, key)):
        jobs.enqueue_refresh(user.level_id, key)
    reading = boards.read(conn, board, args["limit"], user.id)
    ids = {e.user_id for _, e in reading.top} | {e.user_id for _, e in reading.window or ()}
    users = leaderboard.hydrate(sorted(ids))

    def item(rank, entry):
        return {"rank": rank, "user": users.get(entry.user_id, {"id": entry.user_id, "nickname": "", "avatar_url": ""}),
                "score": entry.score}

    body = {"metric": f"{service.BOARD_METRIC}:{user.level_id}", "period": "month", "period_key": key,
            "items": [item(r, e) for r, e in reading.top], "me": None}
    if reading.me:
        body["me"] = {"rank": reading.rank, "score": reading.me.score,
                      "gap_to_above": (reading.above[1].score - reading.me.score) if reading.above else None,
                      "around": [item(r, e) for r, e in reading.window]}
    return body

"""GET /api/v1/leaderboards/{metric}: the top N, and where the caller stands."""

from __future__ import annotations

from flask import current_app, jsonify, request

from backend.apidoc import Blueprint, errors
from backend.auth.guards import current_user_id_or_none
from backend.errors import ApiError
from backend.extensions import redis_client
from backend.leaderboard import boards, schemas, service
from backend.leaderboard.periods import METRICS, period_key, valid_key
from backend.timeutil import utcnow

blp = Blueprint("leaderboards", __name__, url_prefix="/api/v1", description="Leaderboards")


def _item(rank: int, entry: boards.Entry, users: dict) -> dict:
    return {"rank": rank, "user": users.get(entry.user_id, {"id": entry.user_id, "nickname": "", "avatar_url": ""}),
            "score": entry.score}


@blp.get("/leaderboards/<metric>")
@errors("NOT_FOUND", "VALIDATION_ERROR")
@blp.arguments(schemas.BoardArgs, location="query")
@blp.response(200, schemas.BoardSchema)
def read_board(args, metric):
    if metric not in METRICS:
        raise ApiError("NOT_FOUND", f"No leaderboard {metric}; one of {', '.join(METRICS)}")
    me_id = current_user_id_or_none(request)
    key = args.get("key") or period_key(args["period"], utcnow())
    if not valid_key(args["period"], key):
        raise ApiError("VALIDATION_ERROR", f"{key} is not a {args['period']} period")
    board = service.board(current_app.config["FISSION"].queue_prefix, metric, args["period"], key)
    reading = boards.read(redis_client(), board, args["limit"], me_id)
    ids = {e.user_id for _, e in reading.top} | {e.user_id for _, e in reading.window or ()}
    users = service.hydrate(sorted(ids))  # one query for the whole page
    body = {"metric": metric, "period": args["period"], "period_key": key,
            "items": [_item(rank, e, users) for rank, e in reading.top], "me": None}
    if reading.me:
        body["me"] = {"rank": reading.rank, "score": reading.me.score,
                      "gap_to_above": (reading.above[1].score - reading.me.score) if reading.above else None,
                      "around": [_item(r, e, users) for r, e in reading.window]}
    # The body is built in the documented shape; handing back a Response skips a
    # second, per-field marshmallow pass on the hottest public page.
    return jsonify(body)

"""Share events from the mini-program, in batches. A token is optional."""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_smorest import Blueprint

from backend.auth.guards import current_user_or_none
from backend.community import schemas
from backend.community import service as community
from backend.extensions import db

blp = Blueprint("community", __name__, url_prefix="/api/v1", description="Share events")


def login_optional(view):
    """Like login_required, before the body is read: a bad token is 401, never 422;
    no token at all makes an anonymous caller (``g.user`` None)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.user = current_user_or_none(request)
        return view(*args, **kwargs)

    return wrapper


@blp.post("/events")
@login_optional
@blp.arguments(schemas.EventBatch)
@blp.response(202, schemas.EventsAccepted)
def events(args):
    """Record up to 100 events at once (share, visit, open, save, page_view).

    A batch is stored whole or not at all: one invalid event refuses the batch (422)."""
    accepted = community.record_events(args["events"], g.user.id if g.user else None)
    db.session.commit()
    return {"accepted": accepted}

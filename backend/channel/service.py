"""Channel health: the lists operators read (dormant, at risk, one distributor's
figures) and the actions they take (warn, freeze, unfreeze, revoke, restore).

Everything reads the nightly snapshot (``channel_health``, ``health.run_pass``).
Thresholds are settings (``channel.settings``); ratios are compared by cross
multiplication (no division, the same on every database):

* dormant: no paid level-1 order in ``dormant_days`` days (never, for a distributor
  approved more than that long ago);
* at risk, any of: ``gmv_drop`` (the last 30 days' GMV ≤ (100 − ``gmv_drop_pct``) % of
  the 30 days before, which had sales), ``refund_rate`` (90-day refunded ≥
  ``refund_rate_bp`` of 90-day paid, paid > 0), ``low_conversion`` (share orders <
  ``min_conversion_bp`` of share visits, with at least ``min_visits`` visits).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import BigInteger, and_, asc, cast, desc, false, func, or_, select

from backend.auth.models import User
from backend.channel.models import ChannelAction, ChannelFreeze, ChannelHealth
from backend.channel.settings import ChannelSettings, get_settings
from backend.errors import ApiError
from backend.extensions import db
from backend.timeutil import as_utc, utcnow

SORTS = ("days_since_last_sale", "gmv_30d_fen", "gmv_90d_fen", "refund_rate_bp", "conversion_bp", "user_id")
FIGURES = ("gmv_30d_fen", "gmv_prev_30d_fen", "gmv_90d_fen", "paid_90d_fen", "refunded_90d_fen", "shares_30d",
           "visits_30d", "share_orders_30d", "team_level1", "team_level2", "team_buyers_30d")


# --- the rules, as SQL and as Python (the same rules: each row says why) -----------------

def _dormant_where(s: ChannelSettings, now):
    h, u = ChannelHealth.__table__, User.__table__
    cut = now - timedelta(days=s.dormant_days)
    return or_(h.c.last_sale_at < cut,
               and_(h.c.last_sale_at.is_(None), or_(u.c.distributor_since.is_(None), u.c.distributor_since < cut)))


def _risk_conditions(s: ChannelSettings) -> dict:
    h = ChannelHealth.__table__
    return {
        "gmv_drop": and_(h.c.gmv_prev_30d_fen > 0,
                         h.c.gmv_30d_fen * 100 <= h.c.gmv_prev_30d_fen * (100 - s.gmv_drop_pct)),
        "refund_rate": and_(h.c.paid_90d_fen > 0, h.c.refunded_90d_fen * 10_000 >= h.c.paid_90d_fen * s.refund_rate_bp),
        "low_conversion": and_(h.c.visits_30d >= max(s.min_visits, 1),
                               # counts are INTEGER: widened, or ten thousand times them overflows
                               cast(h.c.share_orders_30d, BigInteger) * 10_000
                               < cast(h.c.visits_30d, BigInteger) * s.min_conversion_bp),
    }


def risk_reasons(row: dict, s: ChannelSettings) -> list[str]:
    reasons = []
    prev, gmv = row["gmv_prev_30d_fen"], row["gmv_30d_fen"]
    if prev > 0 and gmv * 100 <= prev * (100 - s.gmv_drop_pct):
        reasons.append("gmv_drop")
    if row["paid_90d_fen"] > 0 and row["refunded_90d_fen"] * 10_000 >= row["paid_90d_fen"] * s.refund_rate_bp:
        reasons.append("refund_rate")
    visits = row["visits_30d"]
    if visits >= max(s.min_visits, 1) and row["share_orders_30d"] * 10_000 < visits * s.min_conversion_bp:
        reasons.append("low_conversion")
    return reasons


# --- reading ------------------------------------------------------------------------------

def _view(row, now, s: ChannelSettings) -> dict:
    figures = {name: int(getattr(row, name)) for name in FIGURES}
    last = as_utc(row.last_sale_at) if row.last_sale_at else None
    paid, visits = figures["paid_90d_fen"], figures["visits_30d"]
    return {
        "user_id": row.user_id, "nickname": row.nickname, "distributor_status": row.distributor_status,
        "frozen": row.frozen_at is not None, "last_sale_at": last,
        "days_since_last_sale": (now - last).days if last else None, **figures,
        "refund_rate_bp": figures["refunded_90d_fen"] * 10_000 // paid if paid else 0,
        "conversion_bp": figures["share_orders_30d"] * 10_000 // visits if visits else None,
        "computed_at": as_utc(row.computed_at),
    }


def _base():
    h, u, f = ChannelHealth.__table__, User.__table__, ChannelFreeze.__table__
    return select(h, u.c.nickname, u.c.distributor_status, f.c.created_at.label("frozen_at")) \
        .select_from(h).join(u, u.c.id == h.c.user_id).outerjoin(f, f.c.user_id == h.c.user_id)


def _order_by(sort: str, direction: str):
    h = ChannelHealth.__table__
    key = {
        "days_since_last_sale": func.coalesce(h.c.last_sale_at, h.c.computed_at - timedelta(days=36500)),
        "gmv_30d_fen": h.c.gmv_30d_fen, "gmv_90d_fen": h.c.gmv_90d_fen, "user_id": h.c.user_id,
        # ratios sorted by their numerators within equal denominators would be wrong: the
        # database's own division, on floats, only for the order
        "refund_rate_bp": h.c.refunded_90d_fen * 1.0 / func.nullif(h.c.paid_90d_fen, 0),
        "conversion_bp": h.c.share_orders_30d * 1.0 / func.nullif(h.c.visits_30d, 0),
    }[sort]
    if sort == "days_since_last_sale":  # more days = an older sale
        direction = "asc" if direction == "desc" else "desc"
    first = desc(key) if direction == "desc" else asc(key)
    # figures without a value (no visits: no conversion) last in both directions, on every
    # database (SQLite and MySQL put NULL first when ascending)
    return [key.is_(None), first, h.c.user_id]


def listing(kind: str, page: int, per_page: int, sort: str, direction: str) -> dict:
    s, now = get_settings(), utcnow()
    if kind == "dormant":
        where = _dormant_where(s, now)
    else:
        where = or_(false(), *_risk_conditions(s).values())
    h = ChannelHealth.__table__
    total = db.session.scalar(select(func.count()).select_from(
        h.join(User.__table__, User.__table__.c.id == h.c.user_id)).where(where))
    rows = db.session.execute(_base().where(where).order_by(*_order_by(sort, direction))
                              .limit(per_page).offset((page - 1) * per_page)).all()
    items = []
    for row in rows:
        item = _view(row, now, s)
        item["reasons"] = ["dormant"] if kind == "dormant" else risk_reasons(item, s)
        items.append(item)
    return {"items": items, "page": page, "per_page": per_page, "total": total}


def figures_of(user_id: int) -> dict:
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError("NOT_FOUND", f"User {user_id} does not exist")
    s, now = get_settings(), utcnow()
    row = db.session.execute(_base().where(ChannelHealth.__table__.c.user_id == user_id)).one_or_none()
    view = _view(row, now, s) if row is not None else None
    reasons = []
    if view is not None:
        if db.session.execute(_base().where(ChannelHealth.__table__.c.user_id == user_id,
                                            _dormant_where(s, now))).first():
            reasons.append("dormant")
        reasons += risk_reasons(view, s)
    frozen = db.session.get(ChannelFreeze, user_id)
    return {"user_id": user.id, "nickname": user.nickname, "distributor_status": user.distributor_status,
            "frozen": frozen is not None, "figures": view, "reasons": reasons, "actions": actions_of(user_id)}


def actions_of(user_id: int, limit: int = 50) -> list[dict]:
    rows = db.session.scalars(select(ChannelAction).where(ChannelAction.user_id == user_id)
                              .order_by(ChannelAction.id.desc()).limit(limit))
    return [{"id": a.id, "action": a.action, "reason": a.reason, "operator_id": a.operator_id,
             "released_bindings": a.released_bindings, "created_at": a.created_at} for a in rows]


def is_frozen(user_id: int) -> bool:
    return db.session.get(ChannelFreeze, user_id) is not None

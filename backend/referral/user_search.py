"""The operators' view of shop users: search, one user's page, their bind history.

Every filter reads by an index (PostgreSQL is the target; see docs/admin-users.md):
the unfiltered list and a joined range walk ix_users_created backwards, a status
walks ix_users_status_created, an inviter ix_users_inviter_team, and ``q`` is an OR
of primary key, the unique index of invite_code and ix_users_nickname_prefix (a BitmapOr on
PostgreSQL). A page then reads its inviters and team sizes by one IN of ≤ 100 ids.

``total``: a filtered list counts its matches exactly (an index range); the unfiltered
list of a large table uses the planner's row estimate (``pg_class.reltuples``, kept by
autovacuum/ANALYZE; InnoDB's ``TABLE_ROWS`` on MariaDB) instead of counting a million
index entries on every page view, and says so with ``total_estimated``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import aliased

from backend.auth.models import AdminUser, User
from backend.commission.service import wallet_view
from backend.extensions import db
from backend.referral.models import BindHistory, TeamSize
from backend.referral.service import ancestors
from backend.referral.team import LIKE_ESCAPE
from backend.schemas import page_of
from backend.timeutil import SHOP_TZ

DISTRIBUTOR_STATUSES = ("none", "pending", "approved", "disabled")
# Below this many rows an exact count is a few milliseconds: estimates only above it.
ESTIMATE_FROM = 100_000
INT32_MAX = 2**31 - 1


def day_start(day: date) -> datetime:
    """The first instant (UTC) of a shop day (Asia/Shanghai)."""
    return datetime.combine(day, time(0), SHOP_TZ).astimezone(UTC)


def _prefix(q: str) -> str:
    return q.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_") + "%"


def matching(q: str):
    """``q`` as a condition: digits are a user id or an invite code; anything else an
    invite code (stored upper case) or the start of a nickname (as typed)."""
    code = User.invite_code == q.upper()
    if q.isdigit():
        return or_(User.id == int(q), code) if int(q) <= INT32_MAX else code
    return or_(code, User.nickname.like(_prefix(q), escape=LIKE_ESCAPE))


def conditions(args: dict) -> list:
    where = []
    q = (args.get("q") or "").strip()
    if q:
        where.append(matching(q))
    if args.get("distributor_status"):
        where.append(User.distributor_status == args["distributor_status"])
    if args.get("joined_from"):
        where.append(User.created_at >= day_start(args["joined_from"]))
    if args.get("joined_to"):
        where.append(User.created_at < day_start(args["joined_to"] + timedelta(days=1)))
    if args.get("inviter_id"):
        where.append(User.inviter_id == args["inviter_id"])
    return where


def search_statement(args: dict):
    """The page query of a search (also what the plan test explains)."""
    return (select(User).where(*conditions(args))
            .order_by(User.created_at.desc(), User.id.desc()))


def _estimated_rows() -> int | None:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        value = db.session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'users'::regclass"))
    elif dialect in ("mysql", "mariadb"):
        value = db.session.scalar(text("SELECT TABLE_ROWS FROM information_schema.TABLES "
                                       "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'users'"))
    else:
        return None
    return int(value) if value is not None and value >= 0 else None


def count_all() -> tuple[int, bool]:
    """(how many users, whether that is an estimate)."""
    estimate = _estimated_rows()
    if estimate is not None and estimate >= ESTIMATE_FROM:
        return estimate, True
    return db.session.scalar(select(func.count(User.id))), False


def search(args: dict, page: int, per_page: int) -> dict:
    where = conditions(args)
    if where:
        total, estimated = db.session.scalar(select(func.count(User.id)).where(*where)), False
    else:
        total, estimated = count_all()
    users = db.session.scalars(search_statement(args).limit(per_page).offset((page - 1) * per_page)).all()
    body = page_of(items_of(users), page, per_page, total)
    body["total_estimated"] = estimated
    return body


def items_of(users: list[User]) -> list[dict]:
    """List items for one page of users: their inviters and team sizes by one IN each."""
    inviter_ids = {u.inviter_id for u in users if u.inviter_id is not None}
    inviters = dict(db.session.execute(select(User.id, User.nickname).where(User.id.in_(inviter_ids))).all()) \
        if inviter_ids else {}
    ids = [u.id for u in users]
    sizes = {row.user_id: row for row in db.session.execute(
        select(TeamSize.user_id, TeamSize.level1_count, TeamSize.level2_count).where(TeamSize.user_id.in_(ids)))} \
        if ids else {}
    return [item(u, inviters, sizes) for u in users]


def item(user: User, inviters: dict, sizes: dict) -> dict:
    size = sizes.get(user.id)
    return {
        "id": user.id, "nickname": user.nickname, "avatar_url": user.avatar_url, "invite_code": user.invite_code,
        "distributor_status": user.distributor_status,
        "inviter": {"id": user.inviter_id, "nickname": inviters.get(user.inviter_id, "")}
        if user.inviter_id is not None else None,
        "created_at": user.created_at,
        "level1_count": size.level1_count if size else 0, "level2_count": size.level2_count if size else 0,
        "has_paid_order": user.has_paid_order,
    }


def user_item(user: User) -> dict:
    return items_of([user])[0]


def detail(user: User) -> dict:
    view = user_item(user)
    view.update({
        "real_name": user.real_name, "phone": user.phone,
        "level1_bp_override": user.level1_bp_override, "level2_bp_override": user.level2_bp_override,
        "depth": user.depth, "root_id": user.root_id, "bound_at": user.bound_at, "bind_source": user.bind_source,
        "distributor_rejection_reason": user.distributor_rejection_reason,
    })
    chain = [{"id": a.id, "nickname": a.nickname, "level": level}
             for level, a in enumerate(ancestors(user.id, limit=2), start=1)]
    if user.root_id is not None and all(a["id"] != user.root_id for a in chain):
        root = db.session.get(User, user.root_id)
        if root is not None:
            chain.append({"id": root.id, "nickname": root.nickname, "level": user.depth})
    from backend.levels import service as levels

    return {"user": view, "ancestors": chain, "wallet": wallet_view(user.id),
            "distributor_level": {**levels.level_of(user), "history": levels.history(user.id)}}


def bind_history_page(user_id: int, page: int, per_page: int) -> dict:
    """Every bind and rebind of a user, newest first (bind_history.user_id's index)."""
    old, new = aliased(User, name="old_inviter"), aliased(User, name="new_inviter")
    where = BindHistory.user_id == user_id
    total = db.session.scalar(select(func.count(BindHistory.id)).where(where))
    rows = db.session.execute(
        select(BindHistory, old.nickname, new.nickname, AdminUser.username)
        .outerjoin(old, old.id == BindHistory.old_inviter_id).join(new, new.id == BindHistory.new_inviter_id)
        .outerjoin(AdminUser, AdminUser.id == BindHistory.operator_id)
        .where(where).order_by(BindHistory.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()
    items = [{
        "id": h.id,
        "old_inviter": {"id": h.old_inviter_id, "nickname": old_name} if h.old_inviter_id is not None else None,
        "new_inviter": {"id": h.new_inviter_id, "nickname": new_name},
        "source": h.source, "reason": h.reason,
        "operator": {"id": h.operator_id, "username": username} if h.operator_id is not None else None,
        "created_at": h.created_at,
    } for h, old_name, new_name, username in rows]
    return page_of(items, page, per_page, total)

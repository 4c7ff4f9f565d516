"""The operator's list of substitute groups: by status, narrowed to a category, a
package, or the groups holding a part (an MPN prefix) or a brand (by any alias).

Proposed groups come oldest first: they are a queue, worked through in the order the
shop proposed them. Decided groups (approved, rejected) come by their decision, the
latest first: "what did we just approve" is the question asked of them. Each group
comes with its members and their stock, and who decided it and why.
"""

from __future__ import annotations

from sqlalchemy import func, select

from backend.auth.models import AdminUser
from backend.catalog import parts as catalog_parts
from backend.catalog.keys import mpn_prefix
from backend.catalog.models import Part
from backend.catalog.substitute_models import SubstituteGroup, SubstituteGroupPart
from backend.catalog.substitutes import part_stock
from backend.extensions import db
from backend.schemas import page_of


def _filters(args: dict) -> list | None:
    """The WHERE clauses; None when the brand named is one no alias knows (nothing matches)."""
    where = []
    if args.get("status"):
        where.append(SubstituteGroup.status == args["status"])
    if args.get("category"):
        where.append(SubstituteGroup.category == args["category"])
    if args.get("package"):
        where.append(SubstituteGroup.package == args["package"].strip().upper())
    holding = []
    if args.get("q"):
        holding.append(mpn_prefix(Part.mpn_key, args["q"]))
    if args.get("brand"):
        ids = sorted(set(catalog_parts.brand_ids([args["brand"]], create=False).values()))
        if not ids:
            return None
        holding.append(Part.brand_id.in_(ids))
    if holding:  # one member matches all that is named (a Murata part whose MPN starts GRM)
        where.append(SubstituteGroup.id.in_(
            select(SubstituteGroupPart.group_id).join(Part, Part.id == SubstituteGroupPart.part_id).where(*holding)))
    return where


def _order(status: str | None):
    if status == "proposed":
        return (SubstituteGroup.id,)
    if status in ("approved", "rejected"):
        return (SubstituteGroup.decided_at.desc(), SubstituteGroup.id.desc())
    return (SubstituteGroup.id.desc(),)


def _members(group_ids: list[int]) -> dict[int, list[dict]]:
    members: dict[int, list[dict]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return members
    for gid, pid, mpn, brand, have in db.session.execute(
            select(SubstituteGroupPart.group_id, Part.id, Part.part_no, Part.brand, part_stock())
            .join(Part, Part.id == SubstituteGroupPart.part_id)
            .where(SubstituteGroupPart.group_id.in_(group_ids)).order_by(Part.brand, Part.id)):
        members[gid].append({"part_id": pid, "mpn": mpn, "brand": brand, "stock": int(have)})
    return members


def list_groups(args: dict) -> dict:
    where = _filters(args)
    page, per_page = args["page"], args["per_page"]
    if where is None:
        return page_of([], page, per_page, 0)
    total = db.session.scalar(select(func.count()).select_from(SubstituteGroup).where(*where))
    rows = db.session.execute(
        select(SubstituteGroup, AdminUser.username).outerjoin(AdminUser, AdminUser.id == SubstituteGroup.decided_by)
        .where(*where).order_by(*_order(args.get("status"))).limit(per_page).offset((page - 1) * per_page)).all()
    members = _members([group.id for group, _ in rows])
    items = [{"id": group.id, "spec": group.spec, "category": group.category, "package": group.package,
              "status": group.status, "decided_at": group.decided_at, "decided_by": username,
              "decision_note": group.decision_note, "members": members[group.id]}
             for group, username in rows]
    return page_of(items, page, per_page, total)

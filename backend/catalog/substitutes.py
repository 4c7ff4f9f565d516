"""Substitute groups and links: proposing groups from identical key parameters across
brands, an operator's approval (both ways), rejection, one-way pairs and hand-made pairs.

A part's *spec* is its category, package and typed key parameters, written out:
MLCC ``mlcc|0402|cap=100000000|v=16000|X7R|10%`` (capacitance fF, voltage mV, dielectric,
tolerance), chip resistor ``chip_resistor|0402|r=10000000|p=63|1%`` (resistance mΩ,
power mW or blank, tolerance). A part without every key parameter of its category has
no spec and is never grouped: "equivalent" must mean identical, not similar.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, func, insert, select, update

from backend.admin import audit
from backend.auth.models import AdminUser
from backend.catalog.models import Part, Product
from backend.catalog.substitute_models import SubstituteGroup, SubstituteGroupPart, SubstituteLink
from backend.errors import ApiError
from backend.extensions import db
from backend.timeutil import utcnow

SPEC_COLUMNS = {
    "mlcc": ("capacitance_ff", "voltage_mv", "dielectric", "tolerance"),
    "chip_resistor": ("resistance_mohm", "power_mw", "tolerance"),
}
OPTIONAL = {"power_mw"}  # a blank power is a value of its own: blank equals blank only


def spec_of(category: str, package: str, values: dict) -> str | None:
    columns = SPEC_COLUMNS.get(category)
    if not columns or not package or any(values[c] is None for c in columns if c not in OPTIONAL):
        return None
    return "|".join([category, package, *("" if values[c] is None else str(values[c]) for c in columns)])


def propose() -> dict:
    """Group every spec'd part not in a group yet: into its spec's group if one exists,
    else into a new proposed group when its spec has parts of at least two brands. A part
    joining an approved group sends the group back to ``proposed`` (its existing links
    stay): the operator approves the newcomer. Returns {groups_created, parts_grouped}."""
    columns = sorted({c for cols in SPEC_COLUMNS.values() for c in cols})
    grouped = select(SubstituteGroupPart.part_id)
    rows = db.session.execute(
        select(Part.id, Part.brand_id, Part.category, Part.package, *(getattr(Part, c) for c in columns))
        .where(Part.category.in_(SPEC_COLUMNS), Part.id.not_in(grouped)))
    by_spec: dict[str, list[tuple[int, int]]] = defaultdict(list)
    meta: dict[str, tuple[str, str]] = {}
    for row in rows:
        spec = spec_of(row.category, row.package, row._mapping)
        if spec is not None:
            by_spec[spec].append((row.id, row.brand_id))
            meta[spec] = (row.category, row.package)
    existing = {}
    specs = sorted(by_spec)
    for i in range(0, len(specs), 1000):
        existing.update(db.session.execute(select(SubstituteGroup.spec, SubstituteGroup.id).where(
            SubstituteGroup.spec.in_(specs[i:i + 1000]))).all())
    new_specs = [s for s in specs if s not in existing and len({b for _, b in by_spec[s]}) >= 2]
    if new_specs:
        db.session.execute(insert(SubstituteGroup), [
            {"spec": s, "category": meta[s][0], "package": meta[s][1], "status": "proposed",
             "created_at": utcnow()} for s in new_specs])
        for i in range(0, len(new_specs), 1000):
            existing.update(db.session.execute(select(SubstituteGroup.spec, SubstituteGroup.id).where(
                SubstituteGroup.spec.in_(new_specs[i:i + 1000]))).all())
    members = [{"part_id": pid, "group_id": existing[s]} for s in specs if s in existing for pid, _ in by_spec[s]]
    if members:
        db.session.execute(insert(SubstituteGroupPart), members)
        joined = sorted({m["group_id"] for m in members} - {existing[s] for s in new_specs})
        for i in range(0, len(joined), 1000):
            db.session.execute(update(SubstituteGroup).where(
                SubstituteGroup.id.in_(joined[i:i + 1000]), SubstituteGroup.status == "approved")
                .values(status="proposed"))
    db.session.flush()
    return {"groups_created": len(new_specs), "parts_grouped": len(members)}


def _group(group_id: int) -> SubstituteGroup:
    group = db.session.get(SubstituteGroup, group_id, with_for_update=True)
    if group is None:
        raise ApiError("SUBSTITUTE_GROUP_NOT_FOUND", f"Substitute group {group_id} does not exist")
    return group


def member_ids(group_id: int) -> list[int]:
    return list(db.session.scalars(select(SubstituteGroupPart.part_id).where(
        SubstituteGroupPart.group_id == group_id).order_by(SubstituteGroupPart.part_id)))


def approve_group(group_id: int, admin_id: int | None, note: str | None = None) -> SubstituteGroup:
    """Every member may replace every other, except where a link says otherwise (a hand
    link or a one-way "not this way" stays as the operator set it)."""
    group = _group(group_id)
    parts = member_ids(group.id)
    have = set(db.session.execute(select(SubstituteLink.part_id, SubstituteLink.substitute_part_id).where(
        SubstituteLink.part_id.in_(parts))).all()) if parts else set()
    now = utcnow()
    new = [{"part_id": a, "substitute_part_id": b, "allowed": True, "source": "group", "group_id": group.id,
            "created_by": admin_id, "created_at": now}
           for a in parts for b in parts if a != b and (a, b) not in have]
    if new:
        db.session.execute(insert(SubstituteLink), new)
    before = group.status
    group.status, group.decided_by, group.decided_at, group.decision_note = "approved", admin_id, now, note
    db.session.flush()
    audit.record_change("substitute_group", group.id, {"status": before},
                        {"status": "approved", "links": len(new), **({"note": note} if note else {})})
    return group


def reject_group(group_id: int, admin_id: int | None, note: str | None = None) -> SubstituteGroup:
    """No member replaces another through this group (the group's links go; hand links stay)."""
    group = _group(group_id)
    db.session.execute(delete(SubstituteLink).where(SubstituteLink.group_id == group.id,
                                                    SubstituteLink.source == "group"))
    before = group.status
    group.status, group.decided_by, group.decided_at, group.decision_note = "rejected", admin_id, utcnow(), note
    db.session.flush()
    audit.record_change("substitute_group", group.id, {"status": before},
                        {"status": "rejected", **({"note": note} if note else {})})
    return group


def _set_link(part_id: int, substitute_id: int, allowed: bool, admin_id: int | None) -> None:
    link = db.session.get(SubstituteLink, (part_id, substitute_id), with_for_update=True)
    if link is None:
        db.session.add(SubstituteLink(part_id=part_id, substitute_part_id=substitute_id, allowed=allowed,
                                      source="hand", created_by=admin_id))
    else:
        link.allowed, link.source, link.group_id, link.created_by = allowed, "hand", None, admin_id


def _check_parts(part_id: int, substitute_id: int) -> None:
    if part_id == substitute_id:
        raise ApiError("VALIDATION_ERROR", "a part does not substitute itself")
    found = set(db.session.scalars(select(Part.id).where(Part.id.in_([part_id, substitute_id]))))
    missing = sorted({part_id, substitute_id} - found)
    if missing:
        raise ApiError("PART_NOT_FOUND", f"Part {missing[0]} does not exist", details={"part_ids": missing})


def link(part_id: int, substitute_id: int, *, two_way: bool, admin_id: int | None) -> None:
    """A hand-made pair: ``substitute_id`` may replace ``part_id`` (and the reverse when
    ``two_way``; otherwise the reverse is refused explicitly: one-way)."""
    _check_parts(part_id, substitute_id)
    _set_link(part_id, substitute_id, True, admin_id)
    _set_link(substitute_id, part_id, two_way, admin_id)
    db.session.flush()
    audit.record_change("substitute_link", f"{part_id}>{substitute_id}", {},
                        {"part_id": part_id, "substitute_part_id": substitute_id, "two_way": two_way})


def unlink(part_id: int, substitute_id: int, admin_id: int | None) -> None:
    """``substitute_id`` may no longer replace ``part_id`` (the other way is untouched)."""
    _check_parts(part_id, substitute_id)
    _set_link(part_id, substitute_id, False, admin_id)
    db.session.flush()
    audit.record_change("substitute_link", f"{part_id}>{substitute_id}", {}, {"allowed": False})


def part_stock():
    """The stock of a part's products, correlated to ``Part`` in the enclosing query."""
    return func.coalesce(select(func.sum(Product.stock)).where(Product.part_id == Part.id)
                         .correlate(Part).scalar_subquery(), 0)


def links_of(part_id: int) -> list[dict]:
    """The part's links, each with its substitute named (MPN, brand, stock of its products)
    and who made it, so a link across specs reads as well as one inside a group."""
    rows = db.session.execute(
        select(SubstituteLink, Part.part_no, Part.brand, part_stock(), AdminUser.username)
        .join(Part, Part.id == SubstituteLink.substitute_part_id)
        .outerjoin(AdminUser, AdminUser.id == SubstituteLink.created_by)
        .where(SubstituteLink.part_id == part_id).order_by(SubstituteLink.substitute_part_id))
    return [{"part_id": link.part_id, "substitute_part_id": link.substitute_part_id, "allowed": link.allowed,
             "source": link.source, "group_id": link.group_id, "substitute_mpn": mpn, "substitute_brand": brand,
             "substitute_stock": int(have), "created_by": username, "created_at": link.created_at}
            for link, mpn, brand, have, username in rows]

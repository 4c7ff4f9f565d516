"""A customer's side of substitutes: their brand rules (AVL, refused brands) and what the
shop remembers they accepted or refused."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import aliased

from backend.admin import audit
from backend.auth.models import AdminUser, User
from backend.catalog import parts as catalog_parts
from backend.catalog.models import Brand, Part
from backend.catalog.substitute_models import CustomerBrandRule, SubstituteMemory, SubstituteRefusal
from backend.errors import ApiError
from backend.extensions import db
from backend.orders.models import Order


def get_customer(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ApiError("CUSTOMER_NOT_FOUND", f"User {user_id} does not exist")
    return user


def brand_rules_view(user_id: int) -> dict:
    get_customer(user_id)
    rows = db.session.execute(select(CustomerBrandRule.rule, Brand.name).join(
        Brand, Brand.id == CustomerBrandRule.brand_id).where(CustomerBrandRule.user_id == user_id)
        .order_by(Brand.name)).all()
    return {"user_id": user_id, "approved": [n for r, n in rows if r == "approved"],
            "refused": [n for r, n in rows if r == "refused"]}


def set_brand_rules(user_id: int, approved: list[str], refused: list[str]) -> dict:
    """Replace a customer's rules. Brands are named as anyone writes them (aliases: FH,
    风华 → Fenghua); a name no alias knows is refused, as is a brand in both lists."""
    get_customer(user_id)
    names = [*approved, *refused]
    ids = catalog_parts.brand_ids(names, create=False)
    unknown = sorted({n for n in names if n not in ids})
    if unknown:
        raise ApiError("BRAND_NOT_FOUND", f"No brand is known as {unknown[0]!r}", details={"brands": unknown})
    approved_ids, refused_ids = {ids[n] for n in approved}, {ids[n] for n in refused}
    if approved_ids & refused_ids:
        raise ApiError("VALIDATION_ERROR", "a brand cannot be approved and refused at once",
                       details={"brands": sorted(n for n in names if ids[n] in approved_ids & refused_ids)})
    before = brand_rules_view(user_id)
    db.session.execute(delete(CustomerBrandRule).where(CustomerBrandRule.user_id == user_id))
    db.session.add_all([CustomerBrandRule(user_id=user_id, brand_id=b, rule="approved") for b in sorted(approved_ids)]
                       + [CustomerBrandRule(user_id=user_id, brand_id=b, rule="refused") for b in sorted(refused_ids)])
    db.session.flush()
    after = brand_rules_view(user_id)
    audit.record_change("customer_brand_rules", user_id, before, after)
    return after


def memory_view(user_id: int) -> dict:
    """What this customer accepted last per part, and what they refused."""
    get_customer(user_id)
    original, substitute = aliased(Part), aliased(Part)

    def part(p):
        return {"part_id": p.id, "mpn": p.part_no, "brand": p.brand}

    accepted = db.session.execute(
        select(SubstituteMemory, original, substitute, AdminUser.username)
        .join(original, original.id == SubstituteMemory.part_id)
        .join(substitute, substitute.id == SubstituteMemory.substitute_part_id)
        .outerjoin(Order, Order.id == SubstituteMemory.order_id)
        .outerjoin(AdminUser, AdminUser.id == Order.placed_by_admin_id)
        .where(SubstituteMemory.user_id == user_id).order_by(SubstituteMemory.accepted_at.desc())).all()
    refused = db.session.execute(
        select(SubstituteRefusal, original, substitute)
        .join(original, original.id == SubstituteRefusal.part_id)
        .join(substitute, substitute.id == SubstituteRefusal.substitute_part_id)
        .where(SubstituteRefusal.user_id == user_id).order_by(SubstituteRefusal.refused_at.desc())).all()
    return {"user_id": user_id,
            "accepted": [{"part": part(o), "substitute": part(s), "order_id": m.order_id, "at": m.accepted_at,
                          "accepted_by": "sales" if sales else "customer", "sales": sales}
                         for m, o, s, sales in accepted],
            "refused": [{"part": part(o), "substitute": part(s), "at": r.refused_at} for r, o, s in refused]}

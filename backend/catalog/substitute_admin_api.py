"""Operators: substitute groups to approve, hand-made and one-way pairs, a customer's
brand rules and substitute memory."""

from __future__ import annotations

from flask import g
from sqlalchemy import func, select

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.catalog import customers, substitutes
from backend.catalog import substitute_schemas as schemas
from backend.catalog.models import Part, Product
from backend.catalog.substitute_models import SubstituteGroup, SubstituteGroupPart
from backend.extensions import db
from backend.schemas import page_of

blp = Blueprint("admin_substitutes", __name__, url_prefix="/api/v1/admin", description="Substitutes (admin)")


def _admin_id():
    return getattr(g, "admin", None) and g.admin.id


@blp.post("/substitute-groups/propose")
@admin_required("operator")
@blp.response(200, schemas.ProposeSchema)
def propose():
    """Group parts of different brands with identical key parameters (proposed; nothing
    is offered as ``approved`` until an operator approves)."""
    return substitutes.propose()


@blp.get("/substitute-groups")
@admin_required("operator")
@blp.arguments(schemas.GroupListArgs, location="query")
@blp.response(200, schemas.GroupPage)
def list_groups(args):
    where = [SubstituteGroup.status == args["status"]] if args.get("status") else []
    total = db.session.scalar(select(func.count()).select_from(SubstituteGroup).where(*where))
    groups = list(db.session.scalars(select(SubstituteGroup).where(*where).order_by(SubstituteGroup.id)
                                     .limit(args["per_page"]).offset((args["page"] - 1) * args["per_page"])))
    members: dict[int, list] = {g_.id: [] for g_ in groups}
    if groups:
        stock = func.coalesce(select(func.sum(Product.stock)).where(Product.part_id == Part.id)
                              .correlate(Part).scalar_subquery(), 0)
        for gid, pid, mpn, brand, have in db.session.execute(
                select(SubstituteGroupPart.group_id, Part.id, Part.part_no, Part.brand, stock)
                .join(Part, Part.id == SubstituteGroupPart.part_id)
                .where(SubstituteGroupPart.group_id.in_(members)).order_by(Part.brand, Part.id)):
            members[gid].append({"part_id": pid, "mpn": mpn, "brand": brand, "stock": int(have)})
    items = [{"id": x.id, "spec": x.spec, "category": x.category, "package": x.package, "status": x.status,
              "decided_at": x.decided_at, "members": members[x.id]} for x in groups]
    return page_of(items, args["page"], args["per_page"], total)


@blp.post("/substitute-groups/<int:group_id>/approve")
@admin_required("operator")
@errors("SUBSTITUTE_GROUP_NOT_FOUND")
@blp.response(200, schemas.ProposeSchema)
def approve(group_id):
    """Every member may replace every other, both ways, except pairs an operator made one-way."""
    substitutes.approve_group(group_id, _admin_id())
    return {"groups_created": 0, "parts_grouped": len(substitutes.member_ids(group_id))}


@blp.post("/substitute-groups/<int:group_id>/reject")
@admin_required("operator")
@errors("SUBSTITUTE_GROUP_NOT_FOUND")
@blp.response(200, schemas.ProposeSchema)
def reject(group_id):
    substitutes.reject_group(group_id, _admin_id())
    return {"groups_created": 0, "parts_grouped": 0}


@blp.post("/substitutes")
@admin_required("operator")
@errors("PART_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.LinkArgs)
@blp.response(200, schemas.LinkList)
def link(args):
    """A hand-made pair: ``substitute_part_id`` may replace ``part_id``; with ``two_way``
    false the reverse is refused (one-way: A may replace B, not B replace A)."""
    substitutes.link(args["part_id"], args["substitute_part_id"], two_way=args["two_way"], admin_id=_admin_id())
    return {"items": substitutes.links_of(args["part_id"])}


@blp.post("/substitutes/unlink")
@admin_required("operator")
@errors("PART_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.UnlinkArgs)
@blp.response(200, schemas.LinkList)
def unlink(args):
    """``substitute_part_id`` may no longer replace ``part_id`` (kept as a refusal that a
    group approval does not undo)."""
    substitutes.unlink(args["part_id"], args["substitute_part_id"], _admin_id())
    return {"items": substitutes.links_of(args["part_id"])}


@blp.get("/parts/<int:part_id>/substitutes")
@admin_required("operator")
@blp.response(200, schemas.LinkList)
def links_of(part_id):
    return {"items": substitutes.links_of(part_id)}


@blp.get("/customers/<int:user_id>/brand-rules")
@admin_required("operator")
@errors("CUSTOMER_NOT_FOUND")
@blp.response(200, schemas.BrandRulesSchema)
def brand_rules(user_id):
    return customers.brand_rules_view(user_id)


@blp.put("/customers/<int:user_id>/brand-rules")
@admin_required("operator")
@errors("CUSTOMER_NOT_FOUND", "BRAND_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.BrandRulesArgs)
@blp.response(200, schemas.BrandRulesSchema)
def set_brand_rules(args, user_id):
    """Replace the customer's approved brands (AVL) and refused brands."""
    return customers.set_brand_rules(user_id, args["approved"], args["refused"])


@blp.get("/customers/<int:user_id>/substitute-memory")
@admin_required("operator")
@errors("CUSTOMER_NOT_FOUND")
@blp.response(200, schemas.MemorySchema)
def memory(user_id):
    """The substitute this customer accepted last for each part (offered first), and the refused ones."""
    return customers.memory_view(user_id)

"""Operators: substitute groups to approve, hand-made and one-way pairs, a customer's
brand rules and substitute memory."""

from __future__ import annotations

from flask import g

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.catalog import customers, offers, substitute_listing, substitutes
from backend.catalog import service as catalog
from backend.catalog import substitute_schemas as schemas

blp = Blueprint("admin_substitutes", __name__, url_prefix="/api/v1/admin", description="Substitutes (admin)")


def _admin_id():
    return getattr(g, "admin", None) and g.admin.id


def _note(args: dict) -> str | None:
    return (args.get("note") or "").strip() or None


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
    """Proposed groups oldest first (a queue); approved and rejected ones by their decision,
    the latest first; ``q`` (a member's MPN prefix) and ``brand`` (any alias) keep the
    groups holding a part that matches both."""
    return substitute_listing.list_groups(args)


@blp.post("/substitute-groups/<int:group_id>/approve")
@admin_required("operator")
@errors("SUBSTITUTE_GROUP_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.GroupDecisionArgs)
@blp.response(200, schemas.ProposeSchema)
def approve(args, group_id):
    """Every member may replace every other, both ways, except pairs an operator made one-way;
    ``note`` (optional) says why, for the next operator."""
    substitutes.approve_group(group_id, _admin_id(), _note(args))
    return {"groups_created": 0, "parts_grouped": len(substitutes.member_ids(group_id))}


@blp.post("/substitute-groups/<int:group_id>/reject")
@admin_required("operator")
@errors("SUBSTITUTE_GROUP_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.GroupDecisionArgs)
@blp.response(200, schemas.ProposeSchema)
def reject(args, group_id):
    """No member replaces another through this group; ``note`` (optional) says why."""
    substitutes.reject_group(group_id, _admin_id(), _note(args))
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


@blp.get("/customers/<int:user_id>/substitute-offers")
@admin_required("operator")
@errors("CUSTOMER_NOT_FOUND", "PRODUCT_NOT_FOUND")
@blp.arguments(schemas.OffersArgs, location="query")
@blp.response(200, schemas.OffersSchema)
def offers_for_customer(args, user_id):
    """What this customer would be offered for this product at this quantity if it were short
    now (their memory, AVL and refused brands; ranked as ``POST /orders`` ranks them): what
    sales read before accepting one for them (``POST /admin/customers/{id}/orders``)."""
    customer = customers.get_customer(user_id)
    return offers.offers_view(customer.id, catalog.get_product(args["product_id"]), args["quantity"])


@blp.get("/customers/<int:user_id>/substitute-memory")
@admin_required("operator")
@errors("CUSTOMER_NOT_FOUND")
@blp.response(200, schemas.MemorySchema)
def memory(user_id):
    """The substitute this customer accepted last for each part (offered first), and the refused ones."""
    return customers.memory_view(user_id)

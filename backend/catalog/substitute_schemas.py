"""Substitutes on the wire."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.schemas import PageArgs, Timestamp, list_schema

_id = validate.Range(min=1, max=2**31 - 1)


class GroupListArgs(PageArgs):
    status = fields.String(validate=validate.OneOf(("proposed", "approved", "rejected")))
    category = fields.String(validate=validate.Length(min=1, max=32))
    package = fields.String(validate=validate.Length(min=1, max=64))
    q = fields.String(validate=validate.Length(min=1, max=64), metadata={"description": "a member's MPN prefix"})
    brand = fields.String(validate=validate.Length(min=1, max=64),
                          metadata={"description": "a member's brand, by any alias (风华, FH, Fenghua)"})


class GroupDecisionArgs(Schema):
    note = fields.String(validate=validate.Length(max=255), load_default=None,
                         metadata={"description": "why, for the next operator (kept with the group and audited)"})


class MemberSchema(Schema):
    part_id = fields.Integer()
    mpn = fields.String()
    brand = fields.String()
    stock = fields.Integer(metadata={"description": "stock of the part's products"})


class GroupSchema(Schema):
    id = fields.Integer()
    spec = fields.String(metadata={"description": "category|package|key parameters (units: fF, mV, mΩ, mW)"})
    category = fields.String()
    package = fields.String()
    status = fields.String()
    members = fields.List(fields.Nested(MemberSchema))
    decided_at = Timestamp(allow_none=True)
    decided_by = fields.String(allow_none=True, metadata={"description": "the operator's username"})
    decision_note = fields.String(allow_none=True, metadata={"description": "why, as the operator wrote it"})


GroupPage = list_schema(GroupSchema, "SubstituteGroupPage")


class ProposeSchema(Schema):
    groups_created = fields.Integer()
    parts_grouped = fields.Integer()


class LinkArgs(Schema):
    part_id = fields.Integer(required=True, strict=True, validate=_id, metadata={"description": "the original"})
    substitute_part_id = fields.Integer(required=True, strict=True, validate=_id,
                                        metadata={"description": "may replace part_id when it is short"})
    two_way = fields.Boolean(load_default=False, metadata={
        "description": "false: one-way (part_id may NOT replace substitute_part_id)"})


class UnlinkArgs(Schema):
    part_id = fields.Integer(required=True, strict=True, validate=_id)
    substitute_part_id = fields.Integer(required=True, strict=True, validate=_id)


class LinkSchema(Schema):
    part_id = fields.Integer()
    substitute_part_id = fields.Integer()
    allowed = fields.Boolean()
    source = fields.String()
    group_id = fields.Integer(allow_none=True)
    substitute_mpn = fields.String()
    substitute_brand = fields.String()
    substitute_stock = fields.Integer(metadata={"description": "stock of the substitute's products"})
    created_by = fields.String(allow_none=True, metadata={"description": "the operator who made or approved it"})
    created_at = Timestamp()


class LinkList(Schema):
    items = fields.List(fields.Nested(LinkSchema))


class BrandRulesArgs(Schema):
    approved = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list,
                           validate=validate.Length(max=200),
                           metadata={"description": "the customer's AVL: when not empty, only these brands"})
    refused = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list,
                          validate=validate.Length(max=200), metadata={"description": "never offered"})


class BrandRulesSchema(Schema):
    user_id = fields.Integer()
    approved = fields.List(fields.String())
    refused = fields.List(fields.String())


class MemoryPart(Schema):
    part_id = fields.Integer()
    mpn = fields.String()
    brand = fields.String()


class MemoryAccepted(Schema):
    part = fields.Nested(MemoryPart)
    substitute = fields.Nested(MemoryPart)
    order_id = fields.Integer(allow_none=True)
    at = Timestamp()
    accepted_by = fields.String(metadata={"description": "customer (in the mini-program) | sales (代客下单)"})
    sales = fields.String(allow_none=True, metadata={"description": "the operator, when sales accepted it"})


class MemoryRefused(Schema):
    part = fields.Nested(MemoryPart)
    substitute = fields.Nested(MemoryPart)
    at = Timestamp()


class MemorySchema(Schema):
    user_id = fields.Integer()
    accepted = fields.List(fields.Nested(MemoryAccepted))
    refused = fields.List(fields.Nested(MemoryRefused))


class RefusalArgs(Schema):
    product_id = fields.Integer(required=True, strict=True, validate=_id, metadata={"description": "the short product"})
    substitute_product_id = fields.Integer(required=True, strict=True, validate=_id,
                                           metadata={"description": "the offer turned down"})


class OfferSchema(Schema):
    product_id = fields.Integer()
    part_id = fields.Integer()
    mpn = fields.String()
    brand = fields.String()
    price_fen = fields.Integer()
    stock = fields.Integer()
    quantity = fields.Integer(metadata={"description": "the ordered quantity, up to the MOQ and multiple"})
    unit_price = fields.String(metadata={"description": "at that quantity's break, yuan with six places"})
    amount_fen = fields.Integer()
    reason = fields.String(metadata={"description": "remembered | approved | same_spec"})
    why = fields.String()
    refused_before = fields.Boolean()


class OffersArgs(Schema):  # a query string: numbers arrive as text
    product_id = fields.Integer(required=True, validate=_id)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=100_000))


class OffersSchema(Schema):
    product_id = fields.Integer()
    requested = fields.Integer()
    available = fields.Integer()
    offers = fields.List(fields.Nested(OfferSchema))

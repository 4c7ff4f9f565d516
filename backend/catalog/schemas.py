from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.schemas import PageArgs, Timestamp, list_schema

_bp = validate.Range(min=0, max=10000)
_fen = validate.Range(min=0, max=2**31 - 1)  # the columns are 32-bit, as is WeChat's total_fee


class ProductSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    brand = fields.String(allow_none=True)
    part_no = fields.String(allow_none=True)
    price_fen = fields.Integer()
    stock = fields.Integer()


class AdminProductSchema(ProductSchema):
    level1_bp = fields.Integer(allow_none=True)
    level2_bp = fields.Integer(allow_none=True)
    level1_fixed_fen = fields.Integer(allow_none=True)
    level2_fixed_fen = fields.Integer(allow_none=True)
    active = fields.Boolean()
    created_at = Timestamp()


class ProductCreateArgs(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    brand = fields.String(validate=validate.Length(max=100), allow_none=True)
    part_no = fields.String(validate=validate.Length(max=100), allow_none=True)
    price_fen = fields.Integer(required=True, validate=_fen, strict=True)
    stock = fields.Integer(required=True, validate=validate.Range(min=0, max=10**9), strict=True)
    level1_bp = fields.Integer(validate=_bp, allow_none=True, strict=True)
    level2_bp = fields.Integer(validate=_bp, allow_none=True, strict=True)
    level1_fixed_fen = fields.Integer(validate=_fen, allow_none=True, strict=True)
    level2_fixed_fen = fields.Integer(validate=_fen, allow_none=True, strict=True)
    active = fields.Boolean()


class ProductUpdateArgs(ProductCreateArgs):
    title = fields.String(validate=validate.Length(min=1, max=200))
    price_fen = fields.Integer(validate=_fen, strict=True)
    stock = fields.Integer(validate=validate.Range(min=0, max=10**9), strict=True)


class ProductListArgs(PageArgs):
    q = fields.String(validate=validate.Length(max=100))


ProductPage = list_schema(ProductSchema, "ProductPage")


class AdminProductListArgs(PageArgs):
    q = fields.String(validate=validate.Length(min=1, max=100),
                      metadata={"description": "a prefix of the title, part number or brand"})


AdminProductPage = list_schema(AdminProductSchema, "AdminProductPage")

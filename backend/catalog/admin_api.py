"""Operators create and edit products."""

from __future__ import annotations

from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.catalog import schemas
from backend.catalog import service as catalog

blp = Blueprint("admin_catalog", __name__, url_prefix="/api/v1/admin", description="Products (admin)")


@blp.post("/products")
@admin_required("operator")
@blp.arguments(schemas.ProductCreateArgs)
@blp.response(201, schemas.AdminProductSchema)
def create(args):
    return catalog.create_product(args)


@blp.put("/products/<int:product_id>")
@admin_required("operator")
@errors("PRODUCT_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.ProductUpdateArgs)
@blp.response(200, schemas.AdminProductSchema)
def update(args, product_id):
    return catalog.update_product(product_id, args)

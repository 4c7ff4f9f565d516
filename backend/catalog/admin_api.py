"""Operators create and edit products."""

from __future__ import annotations

from flask_smorest import Blueprint

from backend.auth.guards import admin_required
from backend.catalog import schemas
from backend.catalog import service as catalog
from backend.extensions import db

blp = Blueprint("admin_catalog", __name__, url_prefix="/api/v1/admin", description="Products (admin)")


@blp.post("/products")
@admin_required("operator")
@blp.arguments(schemas.ProductCreateArgs)
@blp.response(201, schemas.AdminProductSchema)
def create(args):
    product = catalog.create_product(args)
    db.session.commit()
    return product


@blp.put("/products/<int:product_id>")
@admin_required("operator")
@blp.arguments(schemas.ProductUpdateArgs)
@blp.response(200, schemas.AdminProductSchema)
def update(args, product_id):
    product = catalog.update_product(product_id, args)
    db.session.commit()
    return product

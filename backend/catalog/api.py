"""The public product list."""

from __future__ import annotations

from backend.apidoc import Blueprint, errors
from backend.catalog import schemas
from backend.catalog import service as catalog
from backend.schemas import paginate

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Products")


def product_view(p) -> dict:
    return {"id": p.id, "title": p.title, "brand": p.brand, "part_no": p.part_no,
            "price_fen": p.price_fen, "stock": p.stock, "moq": p.moq, "order_multiple": p.order_multiple,
            "price_breaks": p.price_breaks, "part_id": p.part_id}


@blp.get("/products")
@errors()
@blp.arguments(schemas.ProductListArgs, location="query")
@blp.response(200, schemas.ProductPage)
def list_products(args):
    return paginate(catalog.list_products_query(args.get("q")), args["page"], args["per_page"], product_view)


@blp.get("/products/<int:product_id>")
@errors("PRODUCT_NOT_FOUND")
@blp.response(200, schemas.ProductSchema)
def get_product(product_id):
    return product_view(catalog.get_product(product_id))

"""The public product list."""

from __future__ import annotations

from backend import fast_dump
from backend.apidoc import Blueprint, errors
from backend.catalog import schemas, search
from backend.catalog import service as catalog

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Products")


def product_view(p, part=None) -> dict:
    return {"id": p.id, "title": p.title, "brand": p.brand, "part_no": p.part_no,
            "price_fen": p.price_fen, "stock": p.stock, "moq": p.moq, "order_multiple": p.order_multiple,
            "price_breaks": p.price_breaks, "part_id": p.part_id, "part": part}


@blp.get("/products")
@errors()
@blp.arguments(schemas.ProductListArgs, location="query")
@blp.response(200, schemas.ProductPage)
def list_products(args):
    """Active products; a parametric search (选型) by the filters given: ``q`` an MPN
    prefix, ``category``, ``package``, ``brand`` (any alias), ``dielectric``, ``tolerance``,
    ``lifecycle`` (comma-separated: any of), ``capacitance`` / ``voltage`` / ``resistance`` /
    ``power`` with a unit (``100nF``, ``16V``, ``10k``, ``1/16W``), each also ``_min`` and
    ``_max``; ``in_stock``. With a filter, ``facets`` counts the matches by category,
    package, brand and dielectric."""
    return fast_dump.respond(schemas.ProductPage, search.search(args, product_view))


@blp.get("/products/<int:product_id>")
@errors("PRODUCT_NOT_FOUND")
@blp.response(200, schemas.ProductSchema)
def get_product(product_id):
    return product_view(catalog.get_product(product_id))

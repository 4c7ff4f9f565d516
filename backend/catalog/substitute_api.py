"""The customer's side of substitutes: the offers for a quantity, and turning one down."""

from __future__ import annotations

from flask import g

from backend.apidoc import Blueprint, errors
from backend.auth.guards import login_required
from backend.catalog import offers
from backend.catalog import service as catalog
from backend.catalog import substitute_schemas as schemas

blp = Blueprint("substitutes", __name__, url_prefix="/api/v1", description="Substitutes (替代料)")


@blp.get("/substitute-offers")
@login_required
@errors("PRODUCT_NOT_FOUND")
@blp.arguments(schemas.OffersArgs, location="query")
@blp.response(200, schemas.OffersSchema)
def list_offers(args):
    """The offers ``POST /orders`` would make for this product at this quantity if it were
    short now (ranked the same way; empty when nothing may replace it)."""
    return offers.offers_view(g.user.id, catalog.get_product(args["product_id"]), args["quantity"])


@blp.post("/me/substitutes/refusals")
@login_required
@errors("PRODUCT_NOT_FOUND", "SUBSTITUTE_NOT_ALLOWED", "MALFORMED_JSON")
@blp.arguments(schemas.RefusalArgs)
@blp.response(204)
def refuse(args):
    """Turn an offer down: it is not offered first again for this product's part."""
    offers.refuse(g.user.id, catalog.get_product(args["product_id"]),
                  catalog.get_product(args["substitute_product_id"]))

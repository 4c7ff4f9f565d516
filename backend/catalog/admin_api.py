"""Operators list, read, create and edit products."""

from __future__ import annotations

from flask import g

from backend import fast_dump
from backend.apidoc import Blueprint, errors
from backend.auth.guards import admin_required
from backend.catalog import import_runs, schemas, search
from backend.catalog import service as catalog
from backend.reconciliation.schemas import FileUpload
from backend.transactions import run_in_transaction

blp = Blueprint("admin_catalog", __name__, url_prefix="/api/v1/admin", description="Products (admin)")


@blp.post("/products")
@admin_required("operator")
@blp.arguments(schemas.ProductCreateArgs)
@blp.response(201, schemas.AdminProductSchema)
def create(args):
    # Writers of one new part or brand race on its unique keys; on MariaDB the loser can be
    # a deadlock victim rather than a duplicate, and then runs again and finds the winner's.
    return run_in_transaction(lambda: catalog.create_product(args), attempts=5)


@blp.put("/products/<int:product_id>")
@admin_required("operator")
@errors("PRODUCT_NOT_FOUND", "MALFORMED_JSON")
@blp.arguments(schemas.ProductUpdateArgs)
@blp.response(200, schemas.AdminProductSchema)
def update(args, product_id):
    return run_in_transaction(lambda: catalog.update_product(product_id, args), attempts=5)


@blp.get("/products")
@admin_required("operator", "finance")
@blp.arguments(schemas.AdminProductListArgs, location="query")
@blp.response(200, schemas.AdminProductPage)
def list_products(args):
    """Every product, inactive ones too, newest first; ``q`` a prefix of the title, part
    number or brand, ``mpn`` a prefix of the MPN, and the public list's parametric filters."""
    base = catalog.admin_products_query(args.get("q")) if args.get("q") else None
    return fast_dump.respond(schemas.AdminProductPage,
                             search.search({**args, "q": args.get("mpn")}, _with_part, admin=True, base=base))


def _with_part(product, part):
    product.part = part
    return product


@blp.get("/products/<int:product_id>")
@admin_required("operator", "finance")
@errors("PRODUCT_NOT_FOUND")
@blp.response(200, schemas.AdminProductSchema)
def read(product_id):
    return catalog.get_product(product_id)


@blp.post("/catalog/imports")
@admin_required("operator")
@errors("PAYLOAD_TOO_LARGE", "VALIDATION_ERROR")
@blp.arguments(FileUpload, location="files")
@blp.response(202, schemas.CatalogImportSchema)
def import_catalog(files):
    """Upload a distributor's catalog export (CSV or XLSX: mpn, manufacturer, package, value,
    voltage, tolerance, dielectric, stock, price breaks as ``qFrom-qTo:price;...``). An RQ job
    upserts it by (MPN, brand); follow it with GET …/catalog/imports/{id} (progress, then the
    row-level report; a file that cannot be read ends ``failed`` with the reason)."""
    upload = files["file"]
    return import_runs.view(import_runs.create_import(upload.filename or "", upload.read(), g.admin.id))


@blp.get("/catalog/imports/<int:import_id>")
@admin_required("operator")
@errors("CATALOG_IMPORT_NOT_FOUND")
@blp.response(200, schemas.CatalogImportSchema)
def read_import(import_id):
    """An import's state, progress and (once done) its report."""
    return import_runs.view(import_runs.get_import(import_id))

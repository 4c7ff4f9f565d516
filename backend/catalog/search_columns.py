"""The product's copy of its part's search columns (``products.part_*``).

Search filters and counts over products alone where it can: the part's category,
package, brand, dielectric and MPN key are copied onto each product that sells it, so a
broad query (a package, a brand, an MPN prefix) is one index range on ``products`` and
its facets one pass over that index (index-only on PostgreSQL), where the join to
``parts`` cost 43 ms for 11,000 matches at 100,000 parts (bench/catalog.py). The other
parameters (values, voltages, tolerance, lifecycle) stay on ``parts``: a query naming
them matches few rows and joins.

The writers keep the copy: a product takes it when it is linked to a part
(``service._link_part``, the import's new products: ``copied``), and a part whose
copied columns change pushes them to its products (``refresh``, from the import's
upsert; the other writers only make parts). ``flask fission catalog-reindex`` rebuilds
every copy (``refresh()``); ``stale`` counts the products whose copy differs, which
tests/test_catalog_search_columns.py holds at zero after every writer.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, or_, select, update

from backend.bulk_sql import chunks, one_of
from backend.catalog.models import Part, Product
from backend.extensions import db

# product column -> part column
COPIED = {"part_category": "category", "part_package": "package", "part_brand_id": "brand_id",
          "part_dielectric": "dielectric", "part_mpn_key": "mpn_key"}


def copied(part) -> dict:
    """The product's columns for ``part`` (a Part, a mapping of its columns, or None)."""
    if part is None:
        return dict.fromkeys(COPIED)
    get = part.get if isinstance(part, dict) else lambda name: getattr(part, name)
    return {mine: get(theirs) for mine, theirs in COPIED.items()}


def _from_parts():
    return {getattr(Product, mine): select(getattr(Part, theirs)).where(Part.id == Product.part_id).scalar_subquery()
            for mine, theirs in COPIED.items()}


def refresh(part_ids: Iterable[int] | None = None) -> int:
    """Copy the columns of these parts (every part: None) onto their products, set-based;
    the products updated. Flushes only."""
    stmt = update(Product).values(_from_parts()).execution_options(synchronize_session=False)
    if part_ids is None:
        return db.session.execute(stmt.where(Product.part_id.is_not(None))).rowcount
    return sum(db.session.execute(stmt.where(one_of(Product.part_id, chunk))).rowcount
               for chunk in chunks(sorted(set(part_ids))))


def stale() -> int:
    """Products whose copy differs from their part (or that keep one without a part)."""
    differs = [getattr(Product, mine).is_distinct_from(getattr(Part, theirs)) for mine, theirs in COPIED.items()]
    linked = select(func.count()).select_from(Product).join(Part, Part.id == Product.part_id).where(or_(*differs))
    orphans = select(func.count()).select_from(Product).outerjoin(Part, Part.id == Product.part_id).where(
        Part.id.is_(None), or_(*(getattr(Product, mine).is_not(None) for mine in COPIED)))
    return db.session.scalar(linked) + db.session.scalar(orphans)

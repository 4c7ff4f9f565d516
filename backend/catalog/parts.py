"""The part master's rules: brands by any of their aliases, parts by (MPN key, brand).

Every writer of parts goes through here (the admin product routes, the reconciliation
imports and forms, the catalog import), so the same text always names the same row
(docs/catalog.md, "Part master"). Services only flush.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.bulk_sql import chunks, one_of
from backend.catalog.keys import brand_key, mpn_key
from backend.catalog.models import Brand, BrandAlias, Part
from backend.extensions import db


def brand_ids(names: Iterable[str], create: bool = True) -> dict[str, int]:
    """Brand text -> brand id, by alias key. With ``create``, a text whose key no alias
    knows becomes a brand of that name, with that key as its first alias."""
    by_key: dict[str, str] = {}
    for name in names:
        by_key.setdefault(brand_key(name or ""), (name or "").strip()[:64])
    found: dict[str, int] = {}
    for chunk in chunks(sorted(by_key)):
        found.update(db.session.execute(
            select(BrandAlias.key, BrandAlias.brand_id).where(one_of(BrandAlias.key, chunk))).all())
    if create:
        for key in sorted(set(by_key) - set(found)):
            found[key] = _new_brand(key, by_key[key])
    return {name: found[brand_key(name or "")] for name in names if brand_key(name or "") in found}


def _new_brand(key: str, name: str) -> int:
    """One brand and its alias; a racer that made it first wins and its id is answered."""
    try:
        with db.session.begin_nested():
            existing = db.session.scalar(select(Brand.id).where(Brand.name == name))
            brand_id = existing
            if brand_id is None:
                brand = Brand(name=name)
                db.session.add(brand)
                db.session.flush()
                brand_id = brand.id
            db.session.add(BrandAlias(key=key, alias=name, brand_id=brand_id))
            db.session.flush()
        return brand_id
    except IntegrityError:
        return db.session.scalar(select(BrandAlias.brand_id).where(BrandAlias.key == key))


def brand_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    out: dict[int, str] = {}
    for chunk in chunks(wanted):
        out.update(db.session.execute(select(Brand.id, Brand.name).where(one_of(Brand.id, chunk))).all())
    return out


def part_ids(pairs: set[tuple[str, str]], create_brands: bool = False) -> dict[tuple[str, str], int]:
    """(MPN, brand) as written -> id of the part they name, for the parts that exist."""
    brands = brand_ids({brand for _, brand in pairs}, create=create_brands)
    wanted: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for no, brand in pairs:
        if brand in brands:
            wanted.setdefault((mpn_key(no or ""), brands[brand]), []).append((no, brand))
    found: dict[tuple[str, str], int] = {}
    keys = sorted({k for k, _ in wanted})
    for chunk in chunks(keys):
        rows = db.session.execute(select(Part.id, Part.mpn_key, Part.brand_id).where(one_of(Part.mpn_key, chunk)))
        for pid, key, brand_id in rows:
            for pair in wanted.get((key, brand_id), ()):
                found[pair] = pid
    return found


def find_part(part_no: str, brand: str | None) -> Part | None:
    pid = part_ids({(part_no, brand or "")}).get((part_no, brand or ""))
    return db.session.get(Part, pid) if pid else None


def ensure_part(part_no: str, brand: str | None, **fields) -> tuple[Part, bool]:
    """The part (MPN, brand) names, made if missing (with ``fields``): (part, created)."""
    part = find_part(part_no, brand)
    if part is not None:
        return part, False
    brand_id = brand_ids([brand or ""])[brand or ""]
    name = brand_names([brand_id])[brand_id]
    part = Part(part_no=part_no.strip()[:64], brand=name, mpn_key=mpn_key(part_no)[:64], brand_id=brand_id,
                **{k: v for k, v in fields.items() if v is not None})
    try:
        with db.session.begin_nested():
            db.session.add(part)
            db.session.flush()
    except IntegrityError:  # a racer made it first
        found = find_part(part_no, brand)
        if found is None:
            raise
        return found, False
    return part, True

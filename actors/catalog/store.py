"""The catalog's SQL: products, categories and import batches (plain SQL, bound parameters)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from actors.catalog.categories import Category
from actors.catalog.domain import Product
from actors.catalog.messages import Attributes, RowError
from hub.errors import NotFound

_PRODUCT = (
    "sku, version, kind, parent_sku, name, ean, category, unit, cost, margin, status, attributes"
)
# Every write takes this lock first: imports and edits of the catalog are rare enough to run one
# at a time, which keeps EAN uniqueness and family references simple to check before writing.
_WRITE_LOCK = "SELECT pg_advisory_xact_lock(hashtext('catalog.products'))"


class StoredProduct(Product, frozen=True, kw_only=True):
    """A product with its timestamps."""

    created_at: datetime
    updated_at: datetime


class CategoryRow(msgspec.Struct, frozen=True, kw_only=True):
    """A category and the number of products filed directly under it."""

    code: str
    name: str
    parent: str | None
    products: int


class ImportBatch(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded batch of an import."""

    id: str
    import_id: str
    seq: int
    actor: str
    actor_name: str | None
    format: str
    first_row: int
    last_row: int
    rows: int
    created: int
    updated: int
    unchanged: int
    status: str
    errors: list[RowError]
    started_at: datetime
    finished_at: datetime


def _product(record: asyncpg.Record, cls: type[Product] = Product) -> Any:
    data = dict(record)
    data["attributes"] = msgspec.convert(data["attributes"], Attributes, strict=False)
    return msgspec.convert(data, cls, strict=False, from_attributes=True)


async def lock_writes(conn: asyncpg.Connection) -> None:
    """Serialise catalog writes until the end of the transaction."""
    await conn.execute(_WRITE_LOCK)


async def get(conn: asyncpg.Connection, sku: str) -> StoredProduct:
    """One product, or NotFound."""
    row = await conn.fetchrow(
        f"SELECT {_PRODUCT}, created_at, updated_at FROM catalog_products WHERE sku = $1", sku
    )
    if row is None:
        raise NotFound(f"no product {sku}")
    result: StoredProduct = _product(row, StoredProduct)
    return result


async def get_many(conn: asyncpg.Connection, skus: Iterable[str]) -> dict[str, Product]:
    """The stored products among ``skus``."""
    rows = await conn.fetch(
        f"SELECT {_PRODUCT} FROM catalog_products WHERE sku = ANY($1::text[])", list(set(skus))
    )
    return {r["sku"]: _product(r) for r in rows}


async def ean_owners(conn: asyncpg.Connection, eans: Iterable[str]) -> dict[str, str]:
    """EAN → SKU of the stored products using one of ``eans``."""
    rows = await conn.fetch(
        "SELECT ean, sku FROM catalog_products WHERE ean = ANY($1::text[])", list(set(eans))
    )
    return {r["ean"]: r["sku"] for r in rows}


async def save(conn: asyncpg.Connection, products: Sequence[Product]) -> None:
    """Insert or overwrite ``products`` (their versions already decided)."""
    await conn.executemany(
        f"""
        INSERT INTO catalog_products ({_PRODUCT})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        ON CONFLICT (sku) DO UPDATE SET
            version = EXCLUDED.version, kind = EXCLUDED.kind, parent_sku = EXCLUDED.parent_sku,
            name = EXCLUDED.name, ean = EXCLUDED.ean, category = EXCLUDED.category,
            unit = EXCLUDED.unit, cost = EXCLUDED.cost, margin = EXCLUDED.margin,
            status = EXCLUDED.status, attributes = EXCLUDED.attributes, updated_at = now()
        """,
        [
            (
                p.sku,
                p.version,
                p.kind,
                p.parent_sku,
                p.name,
                p.ean,
                p.category,
                p.unit,
                p.cost,
                p.margin,
                p.status,
                _attributes(p.attributes),
            )
            for p in products
        ],
    )


async def list_products(
    conn: asyncpg.Connection,
    *,
    order_by: str,
    after: str | None,
    after_args: tuple[Any, ...],
    category: str | None,
    status: Sequence[str] | None,
    prefix: str | None,
    limit: int,
) -> list[StoredProduct]:
    """A page of products; ``order_by`` and ``after`` come from a ``Sorting`` (params $5, $6)."""
    rows = await conn.fetch(
        f"""
        SELECT {_PRODUCT}, created_at, updated_at FROM catalog_products
        WHERE ($1::text IS NULL OR category = $1)
          AND ($2::text[] IS NULL OR status = ANY($2::text[]))
          AND ($3::text IS NULL
               OR (sku COLLATE "C" >= upper($3) AND sku COLLATE "C" < upper($3) || chr(1114111))
               OR (lower(name) COLLATE "C" >= lower($3)
                   AND lower(name) COLLATE "C" < lower($3) || chr(1114111)))
          AND {after or "$5::text IS NULL AND $6::text IS NULL"}
        {order_by}
        LIMIT $4
        """,
        category,
        list(status) if status is not None else None,
        prefix or None,
        limit,
        *(after_args or (None, None)),
    )
    return [_product(r, StoredProduct) for r in rows]


def _attributes(a: Attributes) -> dict[str, Any]:
    return {k: v for k, v in msgspec.to_builtins(a).items() if v is not None}


async def stream_products(
    conn: asyncpg.Connection, *, status: Sequence[str] | None, category: str | None
) -> AsyncIterator[StoredProduct]:
    """Every product in SKU order, from a server-side cursor (call inside a transaction)."""
    cursor = conn.cursor(
        f"""
        SELECT {_PRODUCT}, created_at, updated_at FROM catalog_products
        WHERE ($1::text[] IS NULL OR status = ANY($1::text[]))
          AND ($2::text IS NULL OR category = $2)
        ORDER BY sku
        """,
        list(status) if status is not None else None,
        category,
        prefetch=500,
    )
    async for record in cursor:
        yield _product(record, StoredProduct)


# --- categories ---------------------------------------------------------------------------------


async def category_codes(conn: asyncpg.Connection) -> set[str]:
    """Every category code."""
    return {r["code"] for r in await conn.fetch("SELECT code FROM catalog_categories")}


async def list_categories(
    conn: asyncpg.Connection, *, status: Sequence[str] | None = None
) -> list[CategoryRow]:
    """Every category, with its own products counted (only those in ``status`` when given)."""
    rows = await conn.fetch(
        """
        SELECT c.code, c.name, c.parent, count(p.sku)::int AS products
        FROM catalog_categories c
        LEFT JOIN catalog_products p
          ON p.category = c.code AND p.kind = 'product'
         AND ($1::text[] IS NULL OR p.status = ANY($1::text[]))
        GROUP BY c.code ORDER BY c.code
        """,
        list(status) if status is not None else None,
    )
    return [msgspec.convert(dict(r), CategoryRow) for r in rows]


async def add_category(conn: asyncpg.Connection, category: Category) -> None:
    """Insert a new category (its code checked unused and its parent present beforehand)."""
    await conn.execute(
        "INSERT INTO catalog_categories (code, name, parent) VALUES ($1, $2, $3)",
        category.code,
        category.name,
        category.parent,
    )


async def lock_categories(conn: asyncpg.Connection) -> None:
    """Serialise category creation (codes and parents are checked before inserting)."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('catalog.categories'))")


# --- import batches -----------------------------------------------------------------------------


async def batch_exists(conn: asyncpg.Connection, batch_id: str) -> bool:
    """True if a batch with this id was recorded."""
    found = await conn.fetchval("SELECT 1 FROM catalog_import_batches WHERE id = $1", batch_id)
    return found is not None


async def record_batch(conn: asyncpg.Connection, batch: ImportBatch) -> None:
    """Record one batch's outcome."""
    await conn.execute(
        """
        INSERT INTO catalog_import_batches (id, import_id, seq, actor, actor_name, format,
            first_row, last_row, rows, created, updated, unchanged, status, errors, started_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
        """,
        batch.id,
        batch.import_id,
        batch.seq,
        batch.actor,
        batch.actor_name,
        batch.format,
        batch.first_row,
        batch.last_row,
        batch.rows,
        batch.created,
        batch.updated,
        batch.unchanged,
        batch.status,
        msgspec.to_builtins(batch.errors),
        batch.started_at,
    )


async def list_batches(
    conn: asyncpg.Connection, *, import_id: str | None, before: str | None, limit: int
) -> list[ImportBatch]:
    """Recorded batches, newest first (``before``: the id of the last row of the previous page)."""
    rows = await conn.fetch(
        """
        SELECT * FROM catalog_import_batches
        WHERE ($1::text IS NULL OR import_id = $1)
          AND ($2::text IS NULL OR (finished_at, id) < (
                SELECT finished_at, id FROM catalog_import_batches WHERE id = $2))
        ORDER BY finished_at DESC, id DESC
        LIMIT $3
        """,
        import_id,
        before,
        limit,
    )
    return [msgspec.convert(dict(r), ImportBatch, strict=False) for r in rows]


async def status_of(conn: asyncpg.Connection, sku: str) -> str | None:
    """A product's status; None when there is no such product."""
    status: str | None = await conn.fetchval(
        "SELECT status FROM catalog_products WHERE sku = $1", sku
    )
    return status

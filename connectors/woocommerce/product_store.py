"""SQL of the hub-owned product fields per SKU: wanted, held by the shop, pushed (``woo_products``).

A row is *due* when the shop does not hold what the hub wants: a price that differs (the hub
owns prices: a shop-side edit is pushed back), or a stock figure from a ``StockChanged`` newer
than the last one pushed that differs. Stock the shop changed by itself (its own orders lower
it before the hub has reserved them) is left alone until the hub's next figure: pushing the
older figure back would put sold items on sale again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from connectors.woocommerce.resources import Product
from hub.db import record_to

PRICE_DUE = (
    "price_at IS NOT NULL AND (product_id IS NULL "
    "OR regular_price IS DISTINCT FROM shop_regular_price "
    "OR sale_price IS DISTINCT FROM shop_sale_price)"
)
STOCK_DUE = (
    "stock_version IS NOT NULL AND stock_version > coalesce(stock_pushed_version, -1) "
    "AND (product_id IS NULL OR stock_quantity IS DISTINCT FROM shop_stock_quantity "
    "OR shop_manage_stock IS NOT TRUE)"
)
DUE = f"refused IS NULL AND missing_since IS NULL AND (({PRICE_DUE}) OR ({STOCK_DUE}))"


class ProductRow(msgspec.Struct, frozen=True, kw_only=True):
    """One SKU's wanted and known shop values."""

    sku: str
    product_id: int | None
    regular_price: Decimal | None
    sale_price: Decimal | None
    price_at: datetime | None
    stock_quantity: int | None
    stock_version: int | None
    stock_pushed_version: int | None
    shop_regular_price: Decimal | None
    shop_sale_price: Decimal | None
    shop_stock_quantity: Decimal | None
    shop_manage_stock: bool | None
    price_due: bool
    stock_due: bool


_COLUMNS = ", ".join(f for f in ProductRow.__struct_fields__ if f not in ("price_due", "stock_due"))


async def want_price(
    conn: asyncpg.Connection,
    sku: str,
    regular: Decimal,
    sale: Decimal | None,
    at: datetime,
) -> bool:
    """The hub's price of ``sku`` as of ``at`` (an older event changes nothing); True if kept."""
    done = await conn.fetchval(
        """
        INSERT INTO woo_products (sku, regular_price, sale_price, price_at)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT (sku) DO UPDATE SET
            regular_price = EXCLUDED.regular_price, sale_price = EXCLUDED.sale_price,
            price_at = EXCLUDED.price_at, refused = NULL, missing_since = NULL,
            updated_at = now()
        WHERE woo_products.price_at IS NULL OR woo_products.price_at <= EXCLUDED.price_at
        RETURNING true
        """,
        sku,
        regular,
        sale,
        at,
    )
    return bool(done)


async def want_stock(conn: asyncpg.Connection, sku: str, quantity: int, version: int) -> bool:
    """The hub's stock figure of ``sku`` (the highest version wins); True if kept."""
    done = await conn.fetchval(
        """
        INSERT INTO woo_products (sku, stock_quantity, stock_version)
        VALUES ($1, $2, $3)
        ON CONFLICT (sku) DO UPDATE SET
            stock_quantity = EXCLUDED.stock_quantity, stock_version = EXCLUDED.stock_version,
            refused = NULL, missing_since = NULL, updated_at = now()
        WHERE woo_products.stock_version IS NULL
           OR woo_products.stock_version < EXCLUDED.stock_version
        RETURNING true
        """,
        sku,
        quantity,
        version,
    )
    return bool(done)


async def learn(conn: asyncpg.Connection, products: Iterable[Product]) -> None:
    """What the shop holds for these products (newest ``date_modified`` wins); a SKU not seen
    before gets a row without wanted values (the map SKU → product id)."""
    rows = [
        (
            p.sku,
            p.id,
            p.regular_price,
            p.sale_price,
            p.stock_quantity if p.manage_stock else None,
            p.manage_stock,
            p.date_modified_gmt,
        )
        for p in products
        if p.sku
    ]
    if not rows:
        return
    # a product whose SKU changed in the shop no longer holds the old one
    await conn.executemany(
        "UPDATE woo_products SET product_id = NULL, updated_at = now() "
        "WHERE product_id = $2 AND sku <> $1",
        [(sku, ident) for sku, ident, *_ in rows],
    )
    await conn.executemany(_LEARN, rows)


_SET_SHOP = """
    product_id = $2, shop_regular_price = $3, shop_sale_price = $4,
    shop_stock_quantity = $5, shop_manage_stock = $6, shop_modified = $7,
    missing_since = NULL, updated_at = now()
"""
_NEWER = (
    "(woo_products.shop_modified IS NULL OR $7::timestamptz IS NULL "
    "OR woo_products.shop_modified <= $7)"
)
_LEARN = f"""
    INSERT INTO woo_products (sku, product_id, shop_regular_price, shop_sale_price,
                              shop_stock_quantity, shop_manage_stock, shop_modified)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (sku) DO UPDATE SET {_SET_SHOP}
    WHERE woo_products.product_id IS DISTINCT FROM $2 OR {_NEWER}
"""


async def forget_product(conn: asyncpg.Connection, product_id: int) -> None:
    """The shop deleted (or no longer has) this product: look its SKU up again when needed."""
    await conn.execute(
        "UPDATE woo_products SET product_id = NULL, shop_regular_price = NULL, "
        "shop_sale_price = NULL, shop_stock_quantity = NULL, shop_manage_stock = NULL, "
        "shop_modified = NULL, updated_at = now() WHERE product_id = $1",
        product_id,
    )


async def due(conn: asyncpg.Connection, limit: int) -> list[ProductRow]:
    """SKUs whose wanted values the shop does not hold, oldest change first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS}, ({PRICE_DUE}) AS price_due, ({STOCK_DUE}) AS stock_due "
        f"FROM woo_products WHERE {DUE} ORDER BY updated_at, sku LIMIT $1",
        limit,
    )
    return [record_to(ProductRow, r) for r in rows]


async def rows(conn: asyncpg.Connection, skus: Sequence[str] | None = None) -> list[ProductRow]:
    """Every SKU's row (or these SKUs'), with whether the pusher would push it, by SKU."""
    where = "WHERE sku = ANY($1)" if skus is not None else "WHERE $1::text[] IS NULL"
    found = await conn.fetch(
        f"SELECT {_COLUMNS}, ({PRICE_DUE}) AS price_due, ({STOCK_DUE}) AS stock_due "
        f"FROM woo_products {where} ORDER BY sku",
        list(skus) if skus is not None else None,
    )
    return [record_to(ProductRow, r) for r in found]


async def is_due(conn: asyncpg.Connection, sku: str) -> bool:
    """True when ``sku`` waits for a push."""
    return bool(
        await conn.fetchval(
            f"SELECT EXISTS (SELECT 1 FROM woo_products WHERE sku = $1 AND {DUE})", sku
        )
    )


async def any_due(conn: asyncpg.Connection) -> bool:
    """True when some SKU waits for a push."""
    return bool(await conn.fetchval(f"SELECT EXISTS (SELECT 1 FROM woo_products WHERE {DUE})"))


async def missing(conn: asyncpg.Connection, skus: Sequence[str], at: datetime) -> None:
    """No product of the shop holds these SKUs: not pushed until one appears or they change."""
    await conn.execute(
        "UPDATE woo_products SET missing_since = $2, updated_at = now() "
        "WHERE sku = ANY($1) AND product_id IS NULL",
        list(skus),
        at,
    )


async def pushed(
    conn: asyncpg.Connection, items: Sequence[tuple[str, int | None]], at: datetime
) -> None:
    """The shop took these SKUs' pushes (with the stock version sent, when stock was); a
    refusal recorded before no longer holds."""
    await conn.executemany(
        "UPDATE woo_products SET stock_pushed_version = greatest(stock_pushed_version, $2), "
        "pushed_at = $3, refused = NULL, updated_at = now() WHERE sku = $1",
        [(sku, version, at) for sku, version in items],
    )


async def refused(conn: asyncpg.Connection, sku: str, reason: str) -> None:
    """The shop refused this SKU's push for good: it waits for a new wanted value."""
    await conn.execute(
        "UPDATE woo_products SET refused = $2, updated_at = now() WHERE sku = $1",
        sku,
        reason[:1000],
    )

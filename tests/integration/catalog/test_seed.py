"""The demo catalog seed: stored, audited and published in batches of at most 500."""

from __future__ import annotations

import asyncpg
import msgspec

from actors.catalog import seed as catalog_seed
from actors.catalog.demo import demo_categories, demo_families, demo_products
from actors.catalog.messages import ProductsChanged
from hub import seeds


async def test_the_seed_stores_and_publishes_the_demo_catalog(
    db_conn: asyncpg.Connection,
) -> None:
    await db_conn.execute(
        "TRUNCATE catalog_import_batches, catalog_products, catalog_categories, audit_log"
    )
    async with db_conn.transaction():
        await catalog_seed.seed(db_conn)
    products = demo_products()
    assert await db_conn.fetchval("SELECT count(*) FROM catalog_categories") == len(
        demo_categories()
    )
    assert await db_conn.fetchval("SELECT count(*) FROM catalog_products") == len(products) + len(
        demo_families()
    )
    rows = await db_conn.fetch(
        "SELECT envelope, body FROM hub_outbox WHERE type = 'catalog.ProductsChanged' ORDER BY id"
    )
    events = [msgspec.json.decode(r["body"], type=ProductsChanged) for r in rows]
    assert all(len(e.products) <= 500 for e in events)
    published = [p for e in events for p in e.products]
    assert sorted(p.sku for p in published) == sorted(p.sku for p in products)
    assert {r["envelope"]["actor"] for r in rows} == {seeds.SEED_ACTOR}
    assert [r["envelope"]["key"] for r in rows] == [f"catalog-import:{e.batch_id}" for e in events]
    audited = await db_conn.fetchval("SELECT count(*) FROM audit_log WHERE action = 'catalog.seed'")
    assert audited == len(products) + len(demo_families())

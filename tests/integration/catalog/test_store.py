"""The catalog's store and batch application on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import msgspec
import pytest

from actors.catalog import changes, store
from actors.catalog.domain import Decision, Row
from actors.catalog.messages import Attributes, ProductInput
from actors.catalog.views import PRODUCT_SORT
from hub.errors import NotFound


def strip(sku: str, name: str, **kw: object) -> ProductInput:
    fields: dict[str, object] = {
        "sku": sku,
        "name": name,
        "category": "benzi-led-monocolor",
        "unit": "metre",
        "cost": "17.46",
        "margin": "0.35",
        "status": "active",
        "attributes": {"power_w": "14.4", "cct_k": 4000, "ip_rating": "IP20", "voltage_v": 24},
    }
    fields.update(kw)
    return msgspec.convert(fields, ProductInput, strict=False)


async def apply(conn: asyncpg.Connection, *inputs: ProductInput) -> Decision:
    async with conn.transaction():
        return await changes.apply(conn, [Row(n, c) for n, c in enumerate(inputs, 1)])


async def test_a_product_is_stored_with_its_attributes_and_exact_money(
    catalog_db: asyncpg.Connection,
) -> None:
    decision = await apply(catalog_db, strip("BL24-144-40K", "Bandă LED 24V"))
    assert decision.errors == ()
    product = await store.get(catalog_db, "BL24-144-40K")
    assert (product.version, product.cost, product.margin) == (1, Decimal("17.46"), Decimal("0.35"))
    assert product.attributes == Attributes(
        power_w=Decimal("14.4"), cct_k=4000, ip_rating="IP20", voltage_v=24
    )
    stored = await catalog_db.fetchval(
        "SELECT attributes FROM catalog_products WHERE sku = 'BL24-144-40K'"
    )
    assert stored == {"power_w": "14.4", "cct_k": 4000, "ip_rating": "IP20", "voltage_v": 24}
    with pytest.raises(NotFound):
        await store.get(catalog_db, "NOPE")


async def test_a_batch_with_a_bad_row_writes_nothing(catalog_db: asyncpg.Connection) -> None:
    decision = await apply(
        catalog_db, strip("A1", "Bandă A"), strip("A2", "Bandă B", ean="5940000000012")
    )
    assert [(e.row, e.field) for e in decision.errors] == [(2, "ean")]
    assert await catalog_db.fetchval("SELECT count(*) FROM catalog_products") == 0


async def test_a_family_and_its_variants_and_an_ean_swap_commit_in_one_batch(
    catalog_db: asyncpg.Connection,
) -> None:
    family = strip("BL24-144", "Bandă LED 24V", kind="family", cost=None, margin=None)
    first = await apply(
        catalog_db,
        strip("BL24-144-30K", "Bandă 3000K", parent_sku="BL24-144", ean="5940000000011"),
        strip("BL24-144-40K", "Bandă 4000K", parent_sku="BL24-144", ean="5940000000028"),
        family,
    )
    assert first.errors == ()
    swap = await apply(
        catalog_db,
        ProductInput(sku="BL24-144-30K", ean="5940000000028"),
        ProductInput(sku="BL24-144-40K", ean="5940000000011"),
    )
    assert swap.errors == ()
    assert (await store.get(catalog_db, "BL24-144-30K")).ean == "5940000000028"


async def test_a_second_writer_of_an_ean_is_refused_by_the_database_too(
    catalog_db: asyncpg.Connection,
) -> None:
    await apply(catalog_db, strip("A1", "A", ean="5940000000011"))
    with pytest.raises(asyncpg.UniqueViolationError):
        async with catalog_db.transaction():
            product = await store.get(catalog_db, "A1")
            await store.save(catalog_db, [msgspec.structs.replace(product, sku="A2")])


async def test_pages_in_name_order_hold_every_product_once(catalog_db: asyncpg.Connection) -> None:
    names = [f"Bandă {chr(65 + i % 26)} {i:02d}" for i in range(30)]
    await apply(catalog_db, *(strip(f"S{i:02d}", n) for i, n in enumerate(names)))
    seen: list[str] = []
    after: tuple[str, str] | None = None
    while True:
        page = await store.list_products(
            catalog_db,
            order_by=PRODUCT_SORT.order_by("-name"),
            after=PRODUCT_SORT.after("-name", 5, 6) if after else None,
            after_args=after or (),
            category=None,
            status=None,
            prefix=None,
            limit=7,
        )
        seen += [p.name for p in page]
        if len(page) < 7:
            break
        after = (page[-1].name, page[-1].sku)
    assert seen == sorted(names, reverse=True)


async def test_prefix_search_matches_the_start_of_the_sku_or_the_name(
    catalog_db: asyncpg.Connection,
) -> None:
    await apply(
        catalog_db,
        strip("BL24-1", "Bandă LED 24V"),
        strip("SA24-1", "Sursă alimentare", unit="piece"),
        strip("X_1", "Profil bandă"),
    )

    async def search(q: str) -> list[str]:
        rows = await store.list_products(
            catalog_db,
            order_by=PRODUCT_SORT.order_by("sku"),
            after=None,
            after_args=(),
            category=None,
            status=None,
            prefix=q,
            limit=10,
        )
        return [r.sku for r in rows]

    assert await search("bl24") == ["BL24-1"]
    assert await search("BANDĂ") == ["BL24-1"]
    assert await search("sursă a") == ["SA24-1"]
    assert await search("X_") == ["X_1"]
    assert await search("%") == []


async def test_the_export_cursor_streams_every_product_in_sku_order(
    catalog_db: asyncpg.Connection,
) -> None:
    await apply(catalog_db, *(strip(f"P{i:04d}", f"Produs {i}") for i in range(1200)))
    async with catalog_db.transaction():
        skus = [p.sku async for p in store.stream_products(catalog_db, status=None, category=None)]
    assert skus == [f"P{i:04d}" for i in range(1200)]


async def test_categories_count_their_products(catalog_db: asyncpg.Connection) -> None:
    await apply(catalog_db, strip("A1", "A"), strip("A2", "B", status="draft"))
    rows = {r.code: r.products for r in await store.list_categories(catalog_db)}
    assert rows["benzi-led-monocolor"] == 2 and rows["benzi-led"] == 0
    active = {
        r.code: r.products for r in await store.list_categories(catalog_db, status=["active"])
    }
    assert active["benzi-led-monocolor"] == 1

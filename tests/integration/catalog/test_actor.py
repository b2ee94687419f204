"""The catalog actor over the real bus (both transports): commands in, events out."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from actors.catalog.actor import Catalog
from actors.catalog.messages import (
    ImportProducts,
    ProductChangeRejected,
    ProductInput,
    ProductsChanged,
    UpsertProduct,
)
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode
from tests.support import eventually

StartHub = Callable[..., Any]


class CatalogSink(Actor, name="catalog_sink"):
    """Records the catalog's events with their keys."""

    def __init__(self) -> None:
        self.events: list[tuple[str | None, Message]] = []

    @handler
    async def seen(self, msg: ProductsChanged | ProductChangeRejected, ctx: Context) -> None:
        self.events.append((ctx.envelope.key, msg))


def product(sku: str, **kw: object) -> ProductInput:
    fields: dict[str, object] = {
        "sku": sku,
        "name": f"Sursă alimentare 24V {sku}",
        "category": "surse-alimentare",
        "cost": "80",
        "margin": "0.4",
        "status": "active",
        "attributes": {"power_w": "150", "voltage_v": 24, "ip_rating": "IP20"},
    }
    fields.update(kw)
    return msgspec.convert(fields, ProductInput, strict=False)


async def send(hub: Hub, msg: Message, key: str) -> None:
    await hub.bus.publish(Envelope.new(msg, key=key, actor="user:7"), encode(msg))


async def published(conn: asyncpg.Connection) -> int:
    """``ProductsChanged`` events written to the outbox (committed with their change)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM hub_outbox WHERE type = 'catalog.ProductsChanged'"
    )
    return count


def handled(hub: Hub, type_: str) -> float:
    labels = {"actor": "catalog", "type": type_}
    return hub.metrics.registry.get_sample_value("hub_messages_handled_total", labels) or 0.0


async def test_an_upsert_publishes_a_snapshot_only_when_something_changed(
    start_hub: StartHub, catalog_db: asyncpg.Connection
) -> None:
    sink = CatalogSink()
    hub, _ = await start_hub(Catalog(), sink)
    await send(hub, UpsertProduct(product=product("SA24-150")), "sku:SA24-150")
    await eventually(lambda: sink.events, what="the first event")
    await send(hub, UpsertProduct(product=product("SA24-150")), "sku:SA24-150")  # the same again
    await send(
        hub, UpsertProduct(product=ProductInput(sku="SA24-150", cost=Decimal("85"))), "sku:SA24-150"
    )
    await eventually(lambda: handled(hub, "catalog.UpsertProduct") == 3)
    assert await published(catalog_db) == 2  # the repeat changed nothing: no event
    await eventually(lambda: len(sink.events) == 2, what="the second event")
    (key1, first), (key2, second) = sink.events
    assert key1 == key2 == "sku:SA24-150"
    assert isinstance(first, ProductsChanged) and isinstance(second, ProductsChanged)
    assert [(p.version, p.cost) for p in first.products] == [(1, Decimal("80.0000"))]
    [snap] = second.products
    assert (snap.version, snap.cost, snap.changed) == (2, Decimal("85.0000"), ("cost",))
    audit = await catalog_db.fetch(
        "SELECT actor, action, before, after FROM audit_log "
        "WHERE entity_id = 'SA24-150' ORDER BY id"
    )
    assert [(a["actor"], a["action"]) for a in audit] == [("user:7", "catalog.UpsertProduct")] * 2
    assert audit[1]["before"] == {"cost": "80.0000", "version": 1}
    assert audit[1]["after"] == {"cost": "85.0000", "version": 2}


async def test_a_refused_upsert_is_answered_and_changes_nothing(
    start_hub: StartHub, catalog_db: asyncpg.Connection
) -> None:
    sink = CatalogSink()
    hub, _ = await start_hub(Catalog(), sink)
    await send(hub, UpsertProduct(product=product("SA24-150", margin="12")), "sku:SA24-150")
    [(key, rejected)] = await eventually(lambda: sink.events)
    assert key == "sku:SA24-150"
    assert isinstance(rejected, ProductChangeRejected) and rejected.sku == "SA24-150"
    assert [(e.field, e.message) for e in rejected.errors] == [("margin", "must be less than 10")]
    assert await catalog_db.fetchval("SELECT count(*) FROM catalog_products") == 0


async def test_an_import_batch_applies_all_or_nothing_and_only_once(
    start_hub: StartHub, catalog_db: asyncpg.Connection
) -> None:
    sink = CatalogSink()
    hub, _ = await start_hub(Catalog(), sink)
    bad = ImportProducts(batch_id="feed-1", products=(product("A1"), product("A2", cost="-5")))
    await send(hub, bad, "catalog-import:feed-1")
    [(_, rejected)] = await eventually(lambda: sink.events)
    assert isinstance(rejected, ProductChangeRejected) and rejected.batch_id == "feed-1"
    assert [(e.row, e.sku, e.field) for e in rejected.errors] == [(2, "A2", "cost")]
    assert await catalog_db.fetchval("SELECT count(*) FROM catalog_products") == 0

    good = ImportProducts(batch_id="feed-2", products=(product("A1"), product("A2")))
    await send(hub, good, "catalog-import:feed-2")
    await send(hub, good, "catalog-import:feed-2")  # a producer sending its batch twice
    await eventually(lambda: handled(hub, "catalog.ImportProducts") == 3)
    assert await published(catalog_db) == 1
    await eventually(lambda: len(sink.events) == 2)
    key, changed = sink.events[1]
    assert key == "catalog-import:feed-2"
    assert isinstance(changed, ProductsChanged) and changed.batch_id == "feed-2"
    assert sorted(p.sku for p in changed.products) == ["A1", "A2"]
    batches = await catalog_db.fetch(
        "SELECT id, status, rows, created FROM catalog_import_batches ORDER BY id"
    )
    assert [tuple(b) for b in batches] == [
        ("feed-1", "rejected", 2, 0),
        ("feed-2", "applied", 2, 2),
    ]

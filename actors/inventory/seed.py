"""Demo data: opening stock of the demo catalog, spread over the three warehouses.

Strips and profiles (metres) come in reels of 5 m and bars of 2 m, with a cut reel here and
there; everything else in whole pieces. Most stock sits at HQ, some in Depozit 2, a little in
Depozit 3; a few SKUs are below their reorder point and a few have none at all, so the
low-stock digest and the shortages have something to show. Every quantity is a receipt
movement with the reason "demo opening stock", by ``system:seed``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg
import msgspec

from actors.inventory import domain
from actors.inventory.service import StockWork, write_outcome
from actors.inventory.settings import InventorySettings, current
from hub.seeds import SEED_ACTOR

REASON = "demo opening stock"
REFERENCE = "demo:opening-stock"


class SeedSku(msgspec.Struct, frozen=True):
    """A SKU to stock, and whether it is sold by the metre or by the piece."""

    sku: str
    unit: str  # "metre" or "piece"


class SkuPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Opening stock of one SKU and its settings."""

    sku: str
    stock: dict[str, Decimal]  # warehouse -> quantity (only the warehouses with stock)
    reorder_point: Decimal
    safety_buffer: Decimal | None


def plan(skus: Sequence[SeedSku], seed: int = 8) -> list[SkuPlan]:
    """Deterministic opening stock for ``skus`` (the same input gives the same plan)."""
    rng = random.Random(seed)
    out: list[SkuPlan] = []
    for item in skus:
        metres = item.unit == "metre"
        lot = Decimal(5) if metres else Decimal(1)
        reorder = Decimal(50 if metres else rng.choice((5, 10, 20)))
        buffer = Decimal(5) if metres and rng.random() < 0.5 else None
        roll = rng.random()
        stock: dict[str, Decimal] = {}
        if roll < 0.04:
            pass  # out of stock everywhere
        elif roll < 0.12:  # low: a little at HQ only
            stock["HQ"] = Decimal(rng.randint(1, int(reorder) - 1))
            if metres and rng.random() < 0.5:
                stock["HQ"] += Decimal("0.5")  # the end of a cut reel
        else:
            stock["HQ"] = lot * rng.randint(12, 100 if metres else 150)
            if metres and rng.random() < 0.3:
                stock["HQ"] += Decimal(rng.choice(("1.5", "2.25", "3.5", "4.75")))
            if rng.random() < 0.6:
                stock["W2"] = lot * rng.randint(2, 40)
            if rng.random() < 0.25:
                stock["W3"] = lot * rng.randint(1, 15)
        out.append(SkuPlan(sku=item.sku, stock=stock, reorder_point=reorder, safety_buffer=buffer))
    return out


async def seed_stock(
    conn: asyncpg.Connection,
    skus: Sequence[SeedSku],
    *,
    settings: InventorySettings | None = None,
    now: datetime | None = None,
) -> list[SkuPlan]:
    """Receive the opening stock of ``skus``, set their reorder points and safety buffers,
    and publish their figures (``StockChanged``) through the outbox."""
    plans = plan(skus)
    work = await StockWork.open(
        conn, [p.sku for p in plans], settings or current(), now or datetime.now(UTC)
    )
    for p in plans:
        await work.set_settings(p.sku, p.reorder_point, p.safety_buffer)
    await work.post(
        [
            domain.Movement(
                kind="receipt",
                sku=p.sku,
                warehouse=warehouse,
                quantity=quantity,
                reason=REASON,
                author=SEED_ACTOR,
                reference=REFERENCE,
            )
            for p in plans
            for warehouse, quantity in p.stock.items()
        ]
    )
    await write_outcome(conn, await work.finish(), actor=SEED_ACTOR)
    return plans


async def seed(conn: asyncpg.Connection) -> None:
    """Opening stock of the demo catalog's products that are not drafts."""
    from actors.catalog.demo import demo_products  # the catalog's demo data, only when seeding

    products = [SeedSku(p.sku, p.unit) for p in demo_products() if p.status != "draft"]
    await seed_stock(conn, products)

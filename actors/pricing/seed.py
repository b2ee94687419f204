"""Demo pricing rules: volume breaks on LED strips, a category promotion, a fixed-price
promotion on one product, and customer tiers for the demo customers C-1001 to C-1004.

The price inputs themselves arrive from the catalog's seeded ``ProductsChanged`` events through
the pricing actor, which prices them with these rules; the ``RepriceProducts`` published here
set the promotions' start and end timers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from actors.pricing import rules_store
from actors.pricing.domain import business_date
from actors.pricing.messages import RepriceProducts
from hub import audit, seeds

STRIPS = ("benzi-led-monocolor", "benzi-led-rgb", "benzi-led-cob")
LADDER = (("10", "0.05"), ("50", "0.08"), ("100", "0.12"))  # metres, discount
TIERS = {"C-1001": 1, "C-1002": 2, "C-1003": 3, "C-1004": 1}


async def seed(conn: asyncpg.Connection) -> None:
    """Rules and tiers, audited as the seed; a RepriceProducts per promotion."""
    today = business_date(datetime.now(UTC))
    for category in STRIPS:
        for at, discount in LADDER:
            ladder: dict[str, object] = {
                "scope": "category",
                "target": category,
                "min_quantity": Decimal(at),
                "discount": Decimal(discount),
            }
            row = await rules_store.create(conn, rules_store.VOLUME_BREAKS, ladder)
            await _audit(conn, "volume_break", row.id, row)
    promotions: list[dict[str, object]] = [
        {
            "name": "Profile aluminiu -10 %",
            "scope": "category",
            "target": "profile-aluminiu",
            "kind": "percent",
            "value": Decimal("0.10"),
            "valid_from": today,
            "valid_to": today + timedelta(days=30),
        },
        {
            "name": "Bandă LED 12 V 4.8 W/m la preț fix",
            "scope": "sku",
            "target": "BL12-048-IP20-40K",
            "kind": "fixed",
            "value": Decimal("10.50"),
            "valid_from": today + timedelta(days=7),
            "valid_to": today + timedelta(days=13),
        },
    ]
    for offer in promotions:
        promotion = await rules_store.create(conn, rules_store.PROMOTIONS, offer)
        await _audit(conn, "promotion", promotion.id, promotion)
        target = (promotion.target,)
        message = RepriceProducts(
            reason=f"promotion {promotion.id} created",
            promotion_id=promotion.id,
            skus=target if promotion.scope == "sku" else (),
            categories=target if promotion.scope == "category" else (),
        )
        await seeds.emit(conn, message)
    for customer, tier in TIERS.items():
        await rules_store.set_tier(conn, customer, tier)
        await _audit(conn, "customer_tier", customer, {"tier": tier})


async def _audit(conn: asyncpg.Connection, entity: str, entity_id: object, after: object) -> None:
    await audit.record(
        conn,
        actor=seeds.SEED_ACTOR,
        action="pricing.seed",
        entity_type=entity,
        entity_id=str(entity_id),
        after=after,
    )

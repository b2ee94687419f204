"""Fixtures of the pricing integration tests: empty pricing tables, a sink of pricing events."""

from __future__ import annotations

import asyncpg
import pytest

PRICING_TABLES = (
    "pricing_inputs, pricing_volume_breaks, pricing_promotions, pricing_min_margins, "
    "pricing_customer_tiers, pricing_list_prices"
)


@pytest.fixture(autouse=True)
async def empty_pricing(db_conn: asyncpg.Connection) -> None:
    """Every test starts without price inputs, rules, tiers or list prices."""
    await db_conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")

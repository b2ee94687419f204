"""Fixtures of the orders tests: every test starts without orders, stock or prices."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.orders.support import ORDER_TABLES, PRICING_TABLES


@pytest.fixture
async def conn(db_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """The run's database with the orders', the inventory's and the pricing tables emptied."""
    await db_conn.execute(f"TRUNCATE {ORDER_TABLES} CASCADE")
    await db_conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")
    await clean_inventory(db_conn)
    yield db_conn

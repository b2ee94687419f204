"""Fixtures of the quotations' integration tests: empty quotations and pricing tables."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.integration.pricing.conftest import PRICING_TABLES
from tests.integration.quotations.support import clean


@pytest.fixture
async def qdb(db_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """The run's database without quotations, prices or price inputs."""
    await clean(db_conn)
    await db_conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")
    yield db_conn

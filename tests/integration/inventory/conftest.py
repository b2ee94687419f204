"""Fixtures of the inventory's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.integration.inventory.support import clean


@pytest.fixture
async def inv(db_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """The run's database with the inventory's tables emptied."""
    await clean(db_conn)
    yield db_conn

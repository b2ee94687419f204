"""Fixtures of the notifications tests: every test starts without notifications."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.integration.notifications.support import clean


@pytest.fixture
async def ndb(db_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """The run's database with the notifications' tables emptied."""
    await clean(db_conn)
    yield db_conn

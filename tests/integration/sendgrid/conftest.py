"""Fixtures of the SendGrid connector tests: the simulator on loopback, the connector wired to
it, and a recorder of what the connector publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import msgspec
import pytest
from aiohttp.test_utils import TestServer

from connectors.sendgrid.actor import SendGridActor, build
from connectors.sendgrid.settings import SendGridSettings
from connectors.sendgrid.simulator import SendGridSimulator, create_app
from hub.breaker import Breaker
from hub.db import Database
from hub.ratelimit import MemoryRateLimiter
from hub.settings import Secret

KEY = "SG.test-key"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[SendGridSimulator, str]]:
    """The simulator and its base URL."""
    simulator = SendGridSimulator(api_keys={KEY})
    async with TestServer(create_app(simulator), host="127.0.0.1") as server:
        try:
            yield simulator, str(server.make_url("")).rstrip("/")
        finally:
            simulator.release()


@pytest.fixture
async def database(actor_db: Database, db_conn: asyncpg.Connection) -> Database:
    """A pool on the run's database, with no SendGrid deliveries."""
    await db_conn.execute("TRUNCATE sendgrid_deliveries")
    return actor_db


@pytest.fixture
def connector(
    sim: tuple[SendGridSimulator, str], database: Database
) -> Callable[..., SendGridActor]:
    """``connector(**settings)``: the actor against the simulator (fast retries by default)."""

    def make(breaker: Breaker | None = None, **overrides: Any) -> SendGridActor:
        base = SendGridSettings(
            api_key=Secret(KEY),
            base_url=sim[1],
            timeout=1.0,
            per_second=100.0,
            burst=10,
            retry_backoff=0.05,
            retry_max_backoff=0.2,
            reconcile_after=30.0,
            breaker_reset_timeout=0.3,
        )
        settings = msgspec.structs.replace(base, **overrides)
        return build(settings, database, limiter=MemoryRateLimiter(), breaker=breaker)

    return make

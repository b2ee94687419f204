"""Fixtures of the WhatsApp connector tests: the simulator on loopback, the connector wired to
it, and a recorder of what the connector publishes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import msgspec
import pytest
from aiohttp.test_utils import TestServer

from connectors.whatsapp.actor import WhatsAppActor, build
from connectors.whatsapp.settings import WhatsAppSettings
from connectors.whatsapp.simulator import WhatsAppSimulator
from hub.breaker import Breaker
from hub.db import Database
from hub.ratelimit import MemoryRateLimiter
from hub.settings import Secret

TOKEN = "EAAG-test-token"
PHONE_NUMBER_ID = "1000000001"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[WhatsAppSimulator, str]]:
    """The simulator and its base URL."""
    simulator = WhatsAppSimulator(token=TOKEN, phone_number_id=PHONE_NUMBER_ID)
    async with TestServer(simulator.app(), host="127.0.0.1") as server:
        try:
            yield simulator, str(server.make_url("")).rstrip("/")
        finally:
            simulator.release()


@pytest.fixture
async def database(actor_db: Database, db_conn: asyncpg.Connection) -> Database:
    """A pool on the run's database, with no WhatsApp deliveries."""
    await db_conn.execute("TRUNCATE whatsapp_deliveries")
    return actor_db


@pytest.fixture
def connector(
    sim: tuple[WhatsAppSimulator, str], database: Database
) -> Callable[..., WhatsAppActor]:
    """``connector(**settings)``: the actor against the simulator (fast retries by default)."""

    def make(breaker: Breaker | None = None, **overrides: Any) -> WhatsAppActor:
        base = WhatsAppSettings(
            access_token=Secret(TOKEN),
            phone_number_id=PHONE_NUMBER_ID,
            base_url=sim[1],
            timeout=1.0,
            per_second=100.0,
            burst=10,
            retry_backoff=0.05,
            retry_max_backoff=0.2,
            pair_wait=0.1,
        )
        settings = msgspec.structs.replace(base, **overrides)
        return build(settings, database, limiter=MemoryRateLimiter(), breaker=breaker)

    return make

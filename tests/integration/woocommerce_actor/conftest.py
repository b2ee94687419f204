"""Fixtures of the WooCommerce connector actor tests: the simulator on loopback, a stand-in for
the edge's webhook intake, the actor wired to both, and clean tables."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from aiohttp.test_utils import TestServer

from connectors.woocommerce.actor import WooCommerceActor, build
from connectors.woocommerce.settings import WooCommerceSettings
from connectors.woocommerce.simulator import WooCommerceSimulator, create_app
from hub.breaker import Breaker
from hub.db import Database
from hub.ratelimit import MemoryRateLimiter
from hub.settings import Secret
from tests.integration.orders.support import PRICING_TABLES
from tests.integration.woocommerce_actor.support import KEY, SECRET, Intake

WOO_TABLES = "woo_orders, woo_customers, woo_products"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[WooCommerceSimulator, str]]:
    """The simulator and its store URL. Its clock moves a second at every reading: each change
    in the shop happens in a second of its own (WordPress dates have one-second resolution,
    and two changes in one second share the intake's dedupe key, as in a real shop)."""
    simulator = WooCommerceSimulator(keys={KEY: (SECRET, "read_write")})
    start, ticks = datetime.now(UTC), itertools.count()
    simulator.store.clock = lambda: start + timedelta(seconds=next(ticks))
    async with TestServer(create_app(simulator), host="127.0.0.1") as server:
        yield simulator, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def intake(sim: tuple[WooCommerceSimulator, str]) -> AsyncIterator[Intake]:
    """The edge's stand-in, with the shop's order, product and customer webhooks pointed at it."""
    receiver = Intake()
    async with TestServer(receiver.app(), host="127.0.0.1") as server:
        url = str(server.make_url("/webhooks/woocommerce"))
        for topic in (
            "order.created",
            "order.updated",
            "product.updated",
            "customer.created",
            "customer.updated",
        ):
            sim[0].add_webhook(topic, url, receiver.secret)
        yield receiver
        await sim[0].webhooks.flush()


@pytest.fixture(autouse=True)
async def database(actor_db: Database, db_conn: asyncpg.Connection) -> Database:
    """A pool on the run's database; no shop orders, products, prices or sync state left.

    Autouse, so it is set up before the hubs a test starts and closed after they stopped."""
    await db_conn.execute(f"TRUNCATE {WOO_TABLES}")
    await db_conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")
    await db_conn.execute(
        "UPDATE woo_sync SET push_due_at = NULL, push_failures = 0, push_error = NULL, "
        "poll_cursor = NULL, polled_at = NULL, poll_error = NULL"
    )
    return actor_db


@pytest.fixture
async def connector(
    sim: tuple[WooCommerceSimulator, str], database: Database
) -> AsyncIterator[Callable[..., WooCommerceActor]]:
    """``connector(**settings)``: the actor against the simulator. By default the push window
    and the poll are far away: a test pushes or polls when it says so; its breaker does not
    open unless the test gives one (``breaker=``)."""
    breakers: list[Breaker] = []

    def make(*, breaker: Breaker | None = None, **overrides: Any) -> WooCommerceActor:
        base = WooCommerceSettings(
            base_url=sim[1],
            consumer_key=Secret(KEY),
            consumer_secret=Secret(SECRET),
            timeout=5.0,
            per_second=1000.0,
            burst=100,
            attempts=3,
            retry_backoff=0.05,
            retry_max_backoff=0.2,
            push_window=3600.0,
            poll_interval=3600.0,
        )
        settings = msgspec.structs.replace(base, **overrides)
        breaker = breaker or Breaker("woocommerce-test", fail_max=50, reset_timeout=0.2)
        breakers.append(breaker)
        return build(settings, database, limiter=MemoryRateLimiter(), breaker=breaker)

    yield make
    for breaker in breakers:
        breaker.reset()

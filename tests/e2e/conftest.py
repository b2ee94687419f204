"""Fixtures of the API tests: the edge on PostgreSQL, RabbitMQ and Redis, as ``cypher-hub serve``
composes it (the connectors' webhook sources and messages included)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

import connectors
from hub.bus.amqp import AmqpBus
from hub.edge.api import Api
from hub.edge.app import create_app
from hub.edge.keys import BUS
from hub.edge.webhooks import load_sources
from hub.settings import HubSettings, Secret
from tests.e2e.api_support import AUTH_TABLES, JWT_SECRET, Edge


@pytest.fixture
async def start_api(
    make_settings: Callable[..., HubSettings],
    database_url: str,
    db_conn: asyncpg.Connection,
    amqp_url: str,
    redis_url: str,
) -> AsyncIterator[Callable[..., Awaitable[Edge]]]:
    """``edge = await start_api(apis=[...], webhooks=[...], actors=(...), **settings)`` on
    PostgreSQL, RabbitMQ and Redis; ``actors`` are actor instances run by the hub."""
    await db_conn.execute(f"TRUNCATE {AUTH_TABLES} RESTART IDENTITY CASCADE")
    clients: list[TestClient] = []

    async def start(
        apis: list[Api] | None = None,
        webhooks: list[Any] | None = None,
        actors: tuple[Any, ...] = (),
        **overrides: Any,
    ) -> Edge:
        settings = make_settings(
            database_url=database_url,
            amqp_url=amqp_url,
            redis_url=redis_url,
            jwt_secret=Secret(JWT_SECRET),
            **overrides,
        )
        sources = load_sources(connectors.WEBHOOKS) if webhooks is None else webhooks
        app = create_app(
            settings,
            apis=apis or [],
            webhooks=sources,
            actors=[lambda _r, a=a: a for a in actors],
        )
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return Edge(client, settings, db_conn)

    yield start
    for client in reversed(clients):
        bus = client.app.get(BUS, None)
        declared = sorted(bus.declared) if isinstance(bus, AmqpBus) else []
        await client.close()
        if declared:
            # the actors' queues go now: left to expire, a few hundred of them hold enough of
            # the broker's file descriptors that a later test cannot open a channel
            await _delete_topology(amqp_url, bus, declared)


async def _delete_topology(amqp_url: str, used: AmqpBus, actors: list[str]) -> None:
    cleaner = AmqpBus(
        amqp_url,
        prefix=used.prefix,
        retry_delays=used.retry_delays,
        queue_expires=used.queue_expires,
    )
    await cleaner.start()
    try:
        await cleaner.delete_topology(actors)
    finally:
        await cleaner.close()


@pytest.fixture
async def edge(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    """The edge with the hub's own routes and default settings."""
    return await start_api()

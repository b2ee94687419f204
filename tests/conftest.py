"""Shared fixtures: a throw-away database per run, a bus name prefix per test, services checks.

PostgreSQL: ``CYPHER_TEST_DATABASE_URL`` (default: the local server); when unreachable, the
embedded server from ``pgserver``. RabbitMQ (``CYPHER_TEST_AMQP_URL``) and Redis
(``CYPHER_TEST_REDIS_URL``): tests that need them are skipped with the reason when they are
unreachable, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import msgspec
import pytest

from hub.bootstrap import Hub, open_hub
from hub.bus import Bus
from hub.bus.amqp import AmqpBus
from hub.bus.memory import MemoryBus
from hub.db import Database, create_pool, init_connection, start_embedded
from hub.migrate import migrate
from hub.settings import PROJECT_ROOT, HubSettings, Secret

CI = os.environ.get("CI", "").lower() == "true"
RUN_ID = secrets.token_hex(3)
MIGRATIONS = PROJECT_ROOT / "migrations"
TEST_TABLES = """
CREATE TABLE IF NOT EXISTS test_counters (name text PRIMARY KEY, total bigint NOT NULL);
CREATE TABLE IF NOT EXISTS test_events (
    id bigserial PRIMARY KEY, message_id uuid NOT NULL,
    counter text NOT NULL, total bigint NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
"""
# Test queues delete themselves this long after their last use, so an aborted run leaves no
# quorum queues behind to pile up in the broker.
QUEUE_EXPIRES = 300.0
RUNTIME_TABLES = "hub_inbox, hub_outbox, hub_timers, hub_dead_letters, test_counters, test_events"


def _reachable(url: str, default_port: int, attempts: int = 5) -> bool:
    """True if a TCP connection succeeds (a few tries: a service may be just starting)."""
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    for attempt in range(attempts):
        try:
            with socket.create_connection((host, parts.port or default_port), timeout=1.0):
                return True
        except OSError:
            if attempt + 1 < attempts:
                time.sleep(0.5)
    return False


def require_service(name: str, url: str, port: int, env: str) -> str:
    """Return ``url`` if the service answers; else skip (fail under ``CI=true``)."""
    if _reachable(url, port):
        return url
    reason = f"{name} is not reachable at {url}: start it or set {env}"
    if CI:
        pytest.fail(f"CI=true and {reason}")
    pytest.skip(reason)


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name``."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_admin_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A superuser DSN: the local server, or an embedded one when there is none."""
    url = os.environ.get(
        "CYPHER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    if "host=/" in url or _reachable(url, 5432):
        return url
    if CI:
        pytest.fail(f"CI=true and PostgreSQL is not reachable at {url}")
    data: Path = tmp_path_factory.mktemp("pg")
    return start_embedded(data, "postgres")


@pytest.fixture(scope="session")
def database_url(pg_admin_dsn: str) -> Iterator[str]:
    """A database created for this test run (migrated), dropped at the end."""
    name = f"cypher_test_{RUN_ID}"

    async def create() -> None:
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(with_database(pg_admin_dsn, name))
        try:
            await migrate(conn, MIGRATIONS)
            await conn.execute(TEST_TABLES)
        finally:
            await conn.close()

    async def drop() -> None:
        admin = await asyncpg.connect(pg_admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(create())
    yield with_database(pg_admin_dsn, name)
    asyncio.run(drop())


@pytest.fixture
async def db_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the run's database, with the runtime and test tables emptied first."""
    conn = await asyncpg.connect(database_url)
    await init_connection(conn)
    await conn.execute(f"TRUNCATE {RUNTIME_TABLES} RESTART IDENTITY")
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def actor_db(database_url: str, db_conn: asyncpg.Connection) -> AsyncIterator[Database]:
    """A pool on the run's database for what is built before its hub starts (a connector actor
    with its client); it closes after the fixtures that use it."""
    pool = await create_pool(database_url, min_size=1, max_size=6)
    try:
        yield Database(pool, dsn=database_url, mode="test")
    finally:
        await pool.close()


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """RabbitMQ for integration tests."""
    url = os.environ.get("CYPHER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    return require_service("RabbitMQ", url, 5672, "CYPHER_TEST_AMQP_URL")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Redis for integration tests."""
    url = os.environ.get("CYPHER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    return require_service("Redis", url, 6379, "CYPHER_TEST_REDIS_URL")


@pytest.fixture
def prefix() -> str:
    """A bus/cache name prefix unique to this test."""
    return f"t{RUN_ID}{secrets.token_hex(3)}"


@pytest.fixture
def make_settings(prefix: str, tmp_path: Path) -> Callable[..., HubSettings]:
    """Settings for a test: fast retries and sweeps, its own prefix and data folder."""

    def build(**overrides: Any) -> HubSettings:
        for key in ("database_url", "amqp_url", "redis_url"):
            if isinstance(overrides.get(key), str):
                overrides[key] = Secret(overrides[key])
        base = HubSettings(
            env="test",
            bus_prefix=prefix,
            data_dir=str(tmp_path / "data"),
            retry_delays=(0.05, 0.1),
            outbox_sweep_interval=0.2,
            timer_poll_interval=0.05,
            shutdown_timeout=5.0,
            migrations_dir=str(MIGRATIONS),
            queue_expires=QUEUE_EXPIRES,
        )
        return msgspec.structs.replace(base, **overrides)

    return build


@pytest.fixture(params=["memory", pytest.param("amqp", marks=pytest.mark.amqp)])
def transport(request: pytest.FixtureRequest) -> str:
    """Run the test once per transport."""
    name: str = request.param
    return name


@pytest.fixture
async def bus(transport: str, request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Bus]:
    """A started bus of the parametrised transport; AMQP topology deleted afterwards."""
    if transport == "memory":
        memory = MemoryBus()
        yield memory
        await memory.close()
        return
    url = request.getfixturevalue("amqp_url")
    amqp = AmqpBus(url, prefix=prefix, retry_delays=(0.05, 0.1), queue_expires=QUEUE_EXPIRES)
    await amqp.start()
    try:
        yield amqp
    finally:
        await amqp.delete_topology(list(amqp.declared))
        await amqp.close()


@pytest.fixture
async def start_hub(
    transport: str,
    make_settings: Callable[..., HubSettings],
    database_url: str,
    db_conn: asyncpg.Connection,
    request: pytest.FixtureRequest,
    prefix: str,
) -> AsyncIterator[Callable[..., Any]]:
    """Start a hub (on the parametrised transport) with the given actor instances.

    ``hub, stop = await start_hub(actor, ...)``; every hub still running at the end of the test
    is stopped, and the test's AMQP topology deleted.
    """
    stacks: list[AsyncExitStack] = []
    names: set[str] = set()

    async def start(*actors: Any, **overrides: Any) -> tuple[Hub, Callable[[], Any]]:
        if transport == "amqp":
            overrides.setdefault("amqp_url", request.getfixturevalue("amqp_url"))
        bus = overrides.pop("bus", None)
        settings = make_settings(database_url=database_url, **overrides)
        stack = AsyncExitStack()
        hub = await stack.enter_async_context(
            open_hub(settings, actors=[_constant(a) for a in actors], bus=bus)
        )
        stacks.append(stack)
        names.update(a.name for a in actors)
        return hub, stack.aclose

    yield start
    for stack in reversed(stacks):
        await stack.aclose()
    if transport == "amqp":
        cleaner = AmqpBus(
            request.getfixturevalue("amqp_url"),
            prefix=prefix,
            retry_delays=(0.05, 0.1),
            queue_expires=QUEUE_EXPIRES,
        )
        await cleaner.start()
        await cleaner.delete_topology(sorted(names))
        await cleaner.close()


def _constant(actor: Any) -> Callable[[Any], Any]:
    """An actor factory returning this very instance (tests look inside it)."""
    return lambda _resources: actor

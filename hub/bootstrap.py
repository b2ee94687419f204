"""The composition root: the one place that builds settings, pool, bus, cache and actors.

Each resource is an async context manager (``open_database``, ``open_bus``, ``open_cache``,
``running``); the edge wraps each in a ``cleanup_ctx`` and tests call them with overrides.
Nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from hub import plugins
from hub.actor import Actor, ActorRunner
from hub.bus import Bus
from hub.bus.amqp import AmqpBus
from hub.bus.memory import MemoryBus
from hub.cache import Cache, MemoryCache, RedisCache
from hub.db import Database, open_database
from hub.errors import ConfigError
from hub.migrate import migrate
from hub.outbox import Housekeeper, OutboxRelay, TimerPoller
from hub.settings import HubSettings
from hub.supervisor import Supervisor
from hub.telemetry import Metrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resources:
    """What an actor factory may use to build its actor."""

    settings: HubSettings
    db: Database
    cache: Cache
    metrics: Metrics


ActorFactory = Callable[[Resources], Actor]


@dataclass
class Hub:
    """A running hub: its resources, its supervised tasks and its actors."""

    settings: HubSettings
    db: Database
    bus: Bus
    cache: Cache
    metrics: Metrics
    supervisor: Supervisor
    relay: OutboxRelay
    timers: TimerPoller
    runners: dict[str, ActorRunner] = field(default_factory=dict)


@asynccontextmanager
async def open_db(settings: HubSettings, *, dsn: str | None = None) -> AsyncIterator[Database]:
    """The database, migrated first when ``migrate_on_start`` is set."""
    async with open_database(settings, dsn=dsn) as db:
        if settings.migrate_on_start:
            async with db.pool.acquire() as conn:
                await migrate(conn, settings.migrations_dir)
        yield db


@asynccontextmanager
async def open_bus(settings: HubSettings) -> AsyncIterator[Bus]:
    """RabbitMQ when ``CYPHER_AMQP_URL`` is set, else the memory bus."""
    bus: Bus
    if settings.amqp_url is None:
        if settings.env == "production":
            raise ConfigError(
                "missing setting CYPHER_AMQP_URL: required when CYPHER_ENV=production"
            )
        bus = MemoryBus()
    else:
        amqp = AmqpBus(
            settings.amqp_url.reveal(),
            prefix=settings.bus_prefix,
            retry_delays=settings.retry_delays,
            queue_expires=settings.queue_expires,
        )
        await amqp.start()
        bus = amqp
    log.info("bus: %s", bus.mode, extra={"part": "bus"})
    try:
        yield bus
    finally:
        await bus.close()


@asynccontextmanager
async def open_cache(settings: HubSettings) -> AsyncIterator[Cache]:
    """Redis when ``CYPHER_REDIS_URL`` is set, else the memory cache."""
    cache: Cache
    if settings.redis_url is None:
        if settings.env == "production":
            raise ConfigError(
                "missing setting CYPHER_REDIS_URL: required when CYPHER_ENV=production"
            )
        cache = MemoryCache()
    else:
        cache = RedisCache(settings.redis_url.reveal(), prefix=settings.bus_prefix)
        await cache.ping()
    log.info("cache: %s", cache.mode, extra={"part": "cache"})
    try:
        yield cache
    finally:
        await cache.close()


@asynccontextmanager
async def running(
    settings: HubSettings,
    db: Database,
    bus: Bus,
    cache: Cache,
    *,
    actors: Sequence[ActorFactory] = (),
    metrics: Metrics | None = None,
) -> AsyncIterator[Hub]:
    """Start the actors, the outbox relay, timers and housekeeping; stop them gracefully."""
    metrics = metrics or Metrics()
    supervisor = Supervisor(metrics)
    relay = OutboxRelay(
        db,
        bus,
        metrics,
        batch_size=settings.outbox_batch_size,
        sweep_interval=settings.outbox_sweep_interval,
    )
    timers = TimerPoller(db, metrics, interval=settings.timer_poll_interval)
    hub = Hub(settings, db, bus, cache, metrics, supervisor, relay, timers)
    resources = Resources(settings, db, cache, metrics)
    for factory in actors:
        actor = factory(resources)
        if not actor.name or actor.name in hub.runners:
            raise ConfigError(
                f"actor {type(actor).__name__} needs a unique name (got {actor.name!r})"
            )
        await bus.declare(actor.name, actor.type_names())
        hub.runners[actor.name] = ActorRunner(
            actor,
            db=db,
            bus=bus,
            metrics=metrics,
            prefetch=settings.prefetch,
            retry_delays=settings.retry_delays,
            max_redeliveries=settings.max_redeliveries,
            handler_timeout=settings.handler_timeout,
            shutdown_timeout=settings.shutdown_timeout,
        )
    for runner in hub.runners.values():
        await runner.actor.on_start()
    supervisor.start("outbox-relay", relay.run)
    supervisor.start("timers", timers.run)
    supervisor.start(
        "housekeeping",
        Housekeeper(
            db,
            inbox_hours=settings.inbox_retention_hours,
            outbox_hours=settings.outbox_retention_hours,
        ).run,
    )
    for name, runner in hub.runners.items():
        supervisor.start(f"actor:{name}", runner.run, stop=runner.stop)
    log.info("hub running with actors: %s", ", ".join(hub.runners) or "(none)")
    try:
        yield hub
    finally:
        await _shutdown(hub)


async def _shutdown(hub: Hub) -> None:
    """Stop consuming, let in-flight handlers finish, flush the outbox, stop the rest."""
    timeout = hub.settings.shutdown_timeout + 1
    await asyncio.gather(
        *(hub.supervisor.shutdown(f"actor:{name}", timeout) for name in hub.runners)
    )
    await hub.supervisor.stop()
    try:
        flushed = await asyncio.wait_for(hub.relay.drain(), timeout=hub.settings.shutdown_timeout)
        log.info("outbox flushed at shutdown (%d messages)", flushed)
    except Exception as exc:
        log.warning("outbox not flushed at shutdown (%r); the next start publishes it", exc)
    for runner in hub.runners.values():
        try:
            await runner.actor.on_stop()
        except Exception:
            log.exception("actor %s failed in on_stop", runner.name)


@asynccontextmanager
async def open_hub(
    settings: HubSettings,
    *,
    actors: Sequence[ActorFactory] = (),
    dsn: str | None = None,
    bus: Bus | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[Hub]:
    """Everything at once, outside aiohttp (workers, tests, benchmarks)."""
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(open_db(settings, dsn=dsn))
        if bus is None:
            bus = await stack.enter_async_context(open_bus(settings))
        cache = await stack.enter_async_context(open_cache(settings))
        hub = await stack.enter_async_context(
            running(settings, db, bus, cache, actors=actors, metrics=metrics)
        )
        yield hub


def load_factories(paths: Sequence[str]) -> list[ActorFactory]:
    """Import ``"package.module:factory"`` paths (the installed contexts and connectors)."""
    factories: list[ActorFactory] = plugins.load_all(paths, "actor")
    return factories

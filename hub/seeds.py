"""Demo data: the installed contexts' seeds, each applied once per database.

A seed is ``async def seed(conn) -> None``, listed as ``"package.module:seed"`` in ``SEEDS`` of
``actors/__init__.py``. :func:`apply` runs each one not yet applied in its own transaction,
records it in ``hub_seeds`` and moves on, in list order (a seed may rely on earlier ones).
Inside a seed, :func:`emit` publishes messages through the outbox like any handler, so other
contexts learn about the demo data the way they learn about real data.

``demo_data = "auto"`` seeds an embedded database (``make run``) and never a configured one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

import asyncpg

from hub import outbox, plugins
from hub.db import Database
from hub.messages import Envelope, Message, encode
from hub.settings import HubSettings

log = logging.getLogger(__name__)

SEED_ACTOR = "system:seed"
Seed = Callable[[asyncpg.Connection], Awaitable[None]]


def wanted(settings: HubSettings) -> bool:
    """Whether this hub seeds demo data at startup (``demo_data``)."""
    if settings.demo_data == "auto":
        return settings.embedded_database and settings.env != "production"
    return settings.demo_data == "on"


async def emit(conn: asyncpg.Connection, message: Message, *, key: str | None = None) -> None:
    """Publish ``message`` from a seed, when (and only if) the seed's transaction commits."""
    envelope = Envelope.new(message, key=key, actor=SEED_ACTOR)
    await outbox.write(conn, [outbox.Outgoing(envelope, encode(message))])


async def apply(db: Database, paths: Sequence[str]) -> list[str]:
    """Run the seeds of ``paths`` not applied yet; return the ones run now."""
    seeds: list[tuple[str, Seed]] = [(p, plugins.load(p, "seed")) for p in paths]
    ran: list[str] = []
    for path, seed in seeds:
        async with db.transaction() as conn:
            # one process seeds at a time; the others find the row and skip
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('hub_seeds'))")
            if await conn.fetchval("SELECT 1 FROM hub_seeds WHERE name = $1", path):
                continue
            started = time.perf_counter()
            await seed(conn)
            await conn.execute("INSERT INTO hub_seeds (name) VALUES ($1)", path)
        log.info("seeded demo data: %s (%.1f s)", path, time.perf_counter() - started)
        ran.append(path)
    return ran

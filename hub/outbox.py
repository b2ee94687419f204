"""Exactly-once plumbing: inbox dedupe, the transactional outbox and its relay, durable timers.

A handler's transaction inserts the inbox row first (a duplicate finds it and does nothing),
then changes state, then writes the messages it emits to ``hub_outbox``. The relay publishes
committed rows with confirms and marks them published; a crash at any point repeats work but
never loses a message, and the consumers' inboxes drop the repeats.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg

from hub.bus import Bus, envelope_from_json, envelope_to_json
from hub.db import Database
from hub.messages import Envelope
from hub.telemetry import Metrics

log = logging.getLogger(__name__)

NOTIFY_CHANNEL = "hub_outbox"


class Outgoing:
    """A message waiting to be written to the outbox (or to the timers table)."""

    __slots__ = ("body", "destination", "envelope", "timer_at", "timer_name")

    def __init__(
        self,
        envelope: Envelope,
        body: bytes,
        *,
        destination: str | None = None,
        timer_at: datetime | None = None,
        timer_name: str | None = None,
    ) -> None:
        self.envelope = envelope
        self.body = body
        self.destination = destination
        self.timer_at = timer_at
        self.timer_name = timer_name


async def claim_inbox(conn: asyncpg.Connection, actor: str, message_id: UUID) -> bool:
    """Insert the inbox row; False means this actor already handled the message."""
    row = await conn.fetchval(
        "INSERT INTO hub_inbox (actor, message_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING true",
        actor,
        message_id,
    )
    return row is True


async def write(conn: asyncpg.Connection, items: Sequence[Outgoing]) -> None:
    """Write emitted messages and timers in the caller's transaction, in order."""
    now_rows: list[tuple[Any, ...]] = []
    for item in items:
        env = item.envelope
        if item.timer_at is None:
            now_rows.append(
                (env.message_id, env.type, item.destination, envelope_to_json(env), item.body)
            )
            continue
        await conn.execute(
            """
            INSERT INTO hub_timers (name, due_at, message_id, type, destination, envelope, body)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (name) DO UPDATE SET
                due_at = EXCLUDED.due_at, message_id = EXCLUDED.message_id,
                type = EXCLUDED.type, destination = EXCLUDED.destination,
                envelope = EXCLUDED.envelope, body = EXCLUDED.body, created_at = now()
            """,
            item.timer_name,
            item.timer_at,
            env.message_id,
            env.type,
            item.destination,
            envelope_to_json(env),
            item.body,
        )
    if now_rows:
        await conn.executemany(
            "INSERT INTO hub_outbox (message_id, type, destination, envelope, body) "
            "VALUES ($1, $2, $3, $4, $5)",
            now_rows,
        )
        await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)


async def cancel_timer(conn: asyncpg.Connection, name: str) -> bool:
    """Delete the named timer if it has not fired; True if there was one."""
    done = await conn.fetchval("DELETE FROM hub_timers WHERE name = $1 RETURNING true", name)
    return done is True


class OutboxRelay:
    """Publishes committed outbox rows, woken by NOTIFY and by a periodic sweep."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        metrics: Metrics,
        *,
        batch_size: int = 500,
        sweep_interval: float = 1.0,
    ) -> None:
        self._db = db
        self._bus = bus
        self._metrics = metrics
        self._batch = batch_size
        self._sweep = sweep_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask for a drain now (also done by NOTIFY from any process)."""
        self._wake.set()

    async def run(self) -> None:
        """Drain forever; supervised, so a lost LISTEN connection just restarts it."""
        listener = await self._db.connect()
        failures = 0
        try:
            await listener.add_listener(NOTIFY_CHANNEL, lambda *_: self._wake.set())
            while True:
                self._wake.clear()
                _, failed = await self._drain()
                if failed:  # the broker refuses: back off instead of hammering it
                    failures += 1
                    await asyncio.sleep(min(self._sweep * 2**failures, 30.0))
                else:
                    failures = 0
                    await self._idle()
                if listener.is_closed():
                    raise ConnectionError("LISTEN connection to PostgreSQL was lost")
        finally:
            with suppress(Exception):
                await asyncio.shield(listener.close(timeout=2))

    async def _idle(self) -> None:
        """Wait for a wake-up or the sweep interval. Not ``asyncio.wait_for``: on Python 3.11 a
        cancel landing as the event is set is swallowed by it (CPython gh-86296), and the relay
        would run on after the hub stopped it, holding shutdown forever."""
        with suppress(TimeoutError):
            async with asyncio.timeout(self._sweep):
                await self._wake.wait()

    async def drain(self) -> int:
        """Publish every pending row that can be published now; return how many were."""
        published, _ = await self._drain()
        return published

    async def _drain(self) -> tuple[int, int]:
        total = failed = 0
        while True:
            async with self._db.transaction() as conn:
                rows = await conn.fetch(
                    "SELECT id, destination, envelope, body FROM hub_outbox "
                    "WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                    self._batch,
                )
                # One channel keeps wire order; confirms arrive pipelined.
                results = await asyncio.gather(
                    *(
                        self._bus.publish(
                            envelope_from_json(r["envelope"]), r["body"], to=r["destination"]
                        )
                        for r in rows
                    ),
                    return_exceptions=True,
                )
                done = [r["id"] for r, res in zip(rows, results, strict=True) if res is None]
                errors = [(r["id"], repr(res)) for r, res in zip(rows, results, strict=True) if res]
                await conn.execute(
                    "UPDATE hub_outbox SET published_at = now() WHERE id = ANY($1::bigint[])", done
                )
                if errors:
                    await conn.executemany(
                        "UPDATE hub_outbox SET attempts = attempts + 1, last_error = $2 "
                        "WHERE id = $1",
                        errors,
                    )
            for res in results:
                if isinstance(res, asyncio.CancelledError):
                    raise res
            if errors:
                log.warning(
                    "outbox: %d of %d messages not published (first error: %s); retrying later",
                    len(errors),
                    len(rows),
                    errors[0][1],
                )
            total += len(done)
            failed += len(errors)
            self._metrics.published.inc(len(done))
            if errors or len(rows) < self._batch:
                break
        await self._measure_lag()
        return total, failed

    async def _measure_lag(self) -> None:
        async with self._db.pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT count(*) AS n, "
                "coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS lag "
                "FROM hub_outbox WHERE published_at IS NULL"
            )
        assert row is not None
        self._metrics.outbox_pending.set(row["n"])
        self._metrics.outbox_lag.set(row["lag"])


class TimerPoller:
    """Moves due timers into the outbox, so they are published like any emitted message."""

    def __init__(self, db: Database, metrics: Metrics, *, interval: float = 1.0, batch: int = 500):
        self._db = db
        self._metrics = metrics
        self._interval = interval
        self._batch = batch

    async def run(self) -> None:
        """Poll forever (supervised)."""
        while True:
            while await self.fire_due() == self._batch:
                pass
            await asyncio.sleep(self._interval)

    async def fire_due(self) -> int:
        """Deliver the timers that are due now; return how many."""
        async with self._db.transaction() as conn:
            fired: int = await conn.fetchval(
                """
                WITH due AS (
                    DELETE FROM hub_timers WHERE id IN (
                        SELECT id FROM hub_timers WHERE due_at <= now()
                        ORDER BY due_at, id LIMIT $1 FOR UPDATE SKIP LOCKED
                    )
                    RETURNING id, message_id, type, destination, envelope, body
                ), moved AS (
                    INSERT INTO hub_outbox (message_id, type, destination, envelope, body)
                    SELECT message_id, type, destination, envelope, body FROM due ORDER BY id
                    RETURNING 1
                )
                SELECT count(*) FROM moved
                """,
                self._batch,
            )
            if fired:
                await conn.execute("SELECT pg_notify($1, '')", NOTIFY_CHANNEL)
        if fired:
            self._metrics.timers_fired.inc(fired)
        return fired


class Housekeeper:
    """Deletes inbox rows and published outbox rows older than their retention."""

    def __init__(
        self, db: Database, *, inbox_hours: int, outbox_hours: int, interval: float = 600.0
    ) -> None:
        self._db = db
        self._inbox_hours = inbox_hours
        self._outbox_hours = outbox_hours
        self._interval = interval

    async def run(self) -> None:
        """Purge now and then, forever (supervised)."""
        while True:
            await self.purge()
            await asyncio.sleep(self._interval)

    async def purge(self) -> tuple[int, int]:
        """One purge pass; returns (inbox rows, outbox rows) deleted."""
        async with self._db.pool.acquire() as conn:
            inbox = await conn.execute(
                "DELETE FROM hub_inbox WHERE handled_at < now() - make_interval(hours => $1)",
                self._inbox_hours,
            )
            outbox = await conn.execute(
                "DELETE FROM hub_outbox WHERE published_at < now() - make_interval(hours => $1)",
                self._outbox_hours,
            )
        return int(inbox.split()[-1]), int(outbox.split()[-1])

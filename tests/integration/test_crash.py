"""Crashes and broker restarts against real PostgreSQL and RabbitMQ: nothing lost, nothing doubled.

These would fail without the inbox (a redelivery after a crash would count twice) or without
the outbox (an event committed but not yet published when the process died would be lost).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from hub import outbox
from hub.bus.amqp import AmqpBus
from hub.messages import Envelope, encode
from hub.settings import PROJECT_ROOT
from tests.conftest import QUEUE_EXPIRES
from tests.support import Add, Counter, Sink, eventually

pytestmark = [pytest.mark.amqp, pytest.mark.slow]


@pytest.fixture
async def topology(amqp_url: str, prefix: str) -> AsyncIterator[AmqpBus]:
    """The crash worker's queues, declared up front so test messages wait for it."""
    bus = AmqpBus(amqp_url, prefix=prefix, retry_delays=(0.05, 0.1), queue_expires=QUEUE_EXPIRES)
    await bus.start()
    await bus.declare("counter", ["test.Add"])
    await bus.declare("sink", ["test.Added"])
    try:
        yield bus
    finally:
        await bus.delete_topology(["counter", "sink"])
        await bus.close()


@pytest.fixture
def spawn(database_url: str, amqp_url: str, prefix: str) -> Callable[..., Any]:
    procs: list[asyncio.subprocess.Process] = []

    async def start(crash_at: str = "") -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "CRASH_AT": crash_at,
            "CYPHER_DATABASE_URL": database_url,
            "CYPHER_AMQP_URL": amqp_url,
            "CYPHER_BUS_PREFIX": prefix,
            "CYPHER_QUEUE_EXPIRES": str(QUEUE_EXPIRES),
            "CYPHER_RETRY_DELAYS": "0.05,0.1",
            "CYPHER_OUTBOX_SWEEP_INTERVAL": "0.2",
            "CYPHER_MIGRATE_ON_START": "false",
            "CYPHER_CONFIG": str(PROJECT_ROOT / "tests" / "empty.toml"),
        }
        env.pop("CYPHER_REDIS_URL", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.crash_worker",
            cwd=PROJECT_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.returncode is None:
            proc.kill()


async def output(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await proc.stdout.read()).decode(errors="replace")


async def wait_ready(proc: asyncio.subprocess.Process) -> None:
    assert proc.stdout is not None
    while True:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not line:
            raise AssertionError(f"worker exited before it was ready (code {proc.returncode})")
        if line.strip() == b"ready":
            return


async def stop_gracefully(proc: asyncio.subprocess.Process) -> str:
    proc.send_signal(signal.SIGTERM)
    out = await asyncio.wait_for(output(proc), 30)
    code = await asyncio.wait_for(proc.wait(), 30)
    assert code == 0, out
    return out


async def publish(bus: AmqpBus, msg: Add, key: str | None = None) -> Envelope:
    env = Envelope.new(msg, key=key)
    await bus.publish(env, encode(msg))
    return env


async def counter_total(conn: asyncpg.Connection, name: str) -> int | None:
    value: int | None = await conn.fetchval("SELECT total FROM test_counters WHERE name = $1", name)
    return value


async def test_killed_after_commit_before_ack_loses_nothing_and_doubles_nothing(
    topology: AmqpBus, spawn: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    env = await publish(topology, Add(counter="a", amount=7), key="a")
    doomed = await spawn(crash_at="after_commit")
    code = await asyncio.wait_for(doomed.wait(), 60)
    assert code == 137, await output(doomed)  # it died where we said, not somewhere else
    assert await counter_total(db_conn, "a") == 7  # the transaction had committed

    worker = await spawn()
    await wait_ready(worker)
    await eventually(lambda: db_conn.fetchval("SELECT count(*) FROM test_events"), timeout=30)
    log = await stop_gracefully(worker)
    assert "duplicate delivery skipped by the inbox" in log  # the redelivery did happen
    assert await counter_total(db_conn, "a") == 7
    assert await db_conn.fetchval("SELECT count(*) FROM test_events") == 1
    handled = await db_conn.fetchval(
        "SELECT count(*) FROM hub_inbox WHERE actor = 'counter' AND message_id = $1",
        env.message_id,
    )
    assert handled == 1


async def test_killed_after_commit_before_publish_still_publishes_on_restart(
    topology: AmqpBus, spawn: Callable[..., Any], db_conn: asyncpg.Connection
) -> None:
    await publish(topology, Add(counter="b", amount=3), key="b")
    doomed = await spawn(crash_at="before_publish")
    code = await asyncio.wait_for(doomed.wait(), 60)
    assert code == 137, await output(doomed)
    assert await counter_total(db_conn, "b") == 3
    pending = await db_conn.fetchval(
        "SELECT count(*) FROM hub_outbox WHERE type = 'test.Added' AND published_at IS NULL"
    )
    assert pending == 1  # committed, never published
    assert await db_conn.fetchval("SELECT count(*) FROM test_events") == 0

    worker = await spawn()
    await wait_ready(worker)
    await eventually(lambda: db_conn.fetchval("SELECT count(*) FROM test_events"), timeout=30)
    await stop_gracefully(worker)
    assert await counter_total(db_conn, "b") == 3
    assert await db_conn.fetchval("SELECT count(*) FROM test_events") == 1
    assert await db_conn.fetchval("SELECT count(*) FROM hub_outbox WHERE published_at IS NULL") == 0


@pytest.mark.parametrize("transport", ["amqp"], indirect=True)
async def test_broker_restart_mid_stream_loses_nothing_and_doubles_nothing(
    start_hub: Any, db_conn: asyncpg.Connection
) -> None:
    n, counters = 300, 10
    hub, _ = await start_hub(Counter(), Sink())

    async def feed(start: int, stop: int) -> None:
        # As the webhook intake does: commands enter through the outbox, in small batches.
        for first in range(start, stop, 10):
            items = []
            for i in range(first, min(first + 10, stop)):
                name = f"c{i % counters}"
                msg = Add(counter=name, amount=1)
                items.append(outbox.Outgoing(Envelope.new(msg, key=name), encode(msg)))
            async with db_conn.transaction():
                await outbox.write(db_conn, items)
            await asyncio.sleep(0.01)

    await feed(0, n // 2)
    await eventually(lambda: db_conn.fetchval("SELECT count(*) > 20 FROM test_events"))
    restart = await asyncio.create_subprocess_shell(
        "rabbitmqctl stop_app && rabbitmqctl start_app && rabbitmqctl await_startup",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    feeding = asyncio.create_task(feed(n // 2, n))
    _, err = await asyncio.wait_for(restart.communicate(), 120)
    assert restart.returncode == 0, err.decode()
    await feeding
    await eventually(
        lambda: db_conn.fetchval("SELECT count(*) FROM test_events"),
        timeout=90,
        what="events after the broker restart",
    )
    await eventually(
        lambda: db_conn.fetchval("SELECT sum(total) = $1 FROM test_counters", n), timeout=90
    )
    await eventually(
        lambda: db_conn.fetchval("SELECT count(*) = $1 FROM test_events", n), timeout=90
    )
    assert await db_conn.fetchval("SELECT sum(total) FROM test_counters") == n
    assert await db_conn.fetchval("SELECT count(DISTINCT message_id) FROM test_events") == n
    assert await db_conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0
    assert await db_conn.fetchval("SELECT count(*) FROM hub_inbox WHERE actor = 'counter'") == n
    assert hub.supervisor.healthy()


@pytest.mark.parametrize("transport", ["memory"], indirect=True)
async def test_the_redelivery_check_catches_a_missing_inbox(
    start_hub: Any, db_conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guards the guard: with the inbox claim disabled, a redelivery does count twice."""

    async def always_new(conn: asyncpg.Connection, actor: str, message_id: Any) -> bool:
        return True

    monkeypatch.setattr(outbox, "claim_inbox", always_new)
    hub, _ = await start_hub(Counter())
    msg = Add(counter="a", amount=7)
    env = Envelope.new(msg)
    await hub.bus.publish(env, encode(msg))
    await hub.bus.publish(env, encode(msg))
    await eventually(lambda: db_conn.fetchval("SELECT total = 14 FROM test_counters"))

"""The actor runtime against real PostgreSQL, on both transports."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from hub import deadletters
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.bus import Bus
from hub.bus.memory import MemoryBus
from hub.db import Database
from hub.messages import Envelope, Message, encode
from tests.support import Add, Counter, Later, Scheduler, Sink, eventually

StartHub = Callable[..., Any]


async def send(hub: Hub, msg: Message, *, key: str | None = None) -> Envelope:
    env = Envelope.new(msg, key=key)
    await hub.bus.publish(env, encode(msg))
    return env


async def total(conn: asyncpg.Connection, name: str) -> int | None:
    value: int | None = await conn.fetchval("SELECT total FROM test_counters WHERE name = $1", name)
    return value


def metric(hub: Hub, name: str, **labels: str) -> float:
    value = hub.metrics.registry.get_sample_value(name, labels)
    return value or 0.0


async def test_handler_effect_commits_and_its_event_reaches_the_other_actor(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, _ = await start_hub(Counter(), Sink())
    env = await send(hub, Add(counter="a", amount=5), key="a")
    await eventually(lambda: db_conn.fetchval("SELECT count(*) FROM test_events"))
    assert await total(db_conn, "a") == 5
    event = await eventually(
        lambda: db_conn.fetchrow(
            "SELECT * FROM hub_outbox WHERE type = 'test.Added' AND published_at IS NOT NULL"
        )
    )
    assert event["envelope"]["causation_id"] == str(env.message_id)
    assert event["envelope"]["correlation_id"] == env.correlation_id
    assert event["envelope"]["key"] == "a"


async def test_redelivered_message_has_no_second_effect(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, _ = await start_hub(Counter(), Sink())
    msg = Add(counter="a", amount=5)
    env = Envelope.new(msg, key="a")
    for _ in range(3):
        await hub.bus.publish(env, encode(msg))
    await eventually(
        lambda: metric(hub, "hub_messages_duplicate_total", actor="counter", type="test.Add") == 2
    )
    assert await total(db_conn, "a") == 5
    assert await db_conn.fetchval("SELECT count(*) FROM hub_outbox") == 1
    await eventually(lambda: db_conn.fetchval("SELECT count(*) FROM test_events"))


async def test_transient_failure_is_retried_until_it_succeeds(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, _ = await start_hub(Counter())
    await send(hub, Add(counter="a", amount=2, fail_first=2))
    await eventually(lambda: total(db_conn, "a"))
    assert await total(db_conn, "a") == 2
    assert metric(hub, "hub_messages_retried_total", actor="counter", type="test.Add") == 2
    assert metric(hub, "hub_messages_failed_total", actor="counter", type="test.Add") == 2
    assert await db_conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0


async def test_exhausted_retries_are_dead_lettered_and_the_actor_keeps_running(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, _ = await start_hub(Counter())
    env = await send(hub, Add(counter="a", amount=2, fail_first=99))
    dead = await eventually(lambda: db_conn.fetchrow("SELECT * FROM hub_dead_letters"))
    assert dead["reason"] == "exhausted"
    assert dead["actor"] == "counter"
    assert dead["message_id"] == env.message_id
    assert dead["attempts"] == 3  # first try + one per retry delay
    assert "flaky dependency" in dead["error"]
    assert "ConnectionError" in dead["traceback"]
    await send(hub, Add(counter="b", amount=1))
    await eventually(lambda: total(db_conn, "b"))
    assert await total(db_conn, "a") is None


async def test_undecodable_body_is_dead_lettered_at_once(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, _ = await start_hub(Counter())
    env = Envelope.new(Add(counter="a", amount=1))
    await hub.bus.publish(env, b'{"counter": "a", "amount": "lots"}')
    dead = await eventually(lambda: db_conn.fetchrow("SELECT * FROM hub_dead_letters"))
    assert dead["reason"] == "permanent"
    assert "undecodable test.Add" in dead["error"]
    assert dead["body"] == b'{"counter": "a", "amount": "lots"}'
    assert metric(hub, "hub_messages_retried_total", actor="counter", type="test.Add") == 0


async def test_permanent_error_is_dead_lettered_without_retries(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, _ = await start_hub(Counter())
    await send(hub, Add(counter="a", amount=1, permanent=True))
    dead = await eventually(lambda: db_conn.fetchrow("SELECT * FROM hub_dead_letters"))
    assert dead["reason"] == "permanent"
    assert dead["attempts"] == 1
    assert metric(hub, "hub_messages_retried_total", actor="counter", type="test.Add") == 0


async def test_domain_rejection_is_acked_without_effect_or_retry(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, _ = await start_hub(Counter())
    await send(hub, Add(counter="a", amount=-1))
    await eventually(
        lambda: metric(hub, "hub_messages_rejected_total", actor="counter", type="test.Add") == 1
    )
    await send(hub, Add(counter="b", amount=1))
    await eventually(lambda: total(db_conn, "b"))
    assert await total(db_conn, "a") is None
    assert metric(hub, "hub_messages_retried_total", actor="counter", type="test.Add") == 0
    assert await db_conn.fetchval("SELECT count(*) FROM hub_dead_letters") == 0


async def test_messages_with_one_key_never_run_concurrently(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    counter = Counter()
    hub, _ = await start_hub(counter)
    for _ in range(8):
        await send(hub, Add(counter="same", amount=1, hold=0.02), key="same")
    for i in range(8):
        await send(hub, Add(counter=f"k{i}", amount=1, hold=0.05), key=f"k{i}")
    await eventually(lambda: total(db_conn, "same"), what="first")
    await eventually(
        lambda: db_conn.fetchval("SELECT total = 8 FROM test_counters WHERE name = 'same'")
    )
    await eventually(lambda: db_conn.fetchval("SELECT count(*) = 9 FROM test_counters"))
    assert counter.max_active["same"] == 1
    assert counter.overall_max > 1  # different keys did run side by side


async def test_scheduled_message_is_delivered_when_due(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    sink = Sink()
    hub, _ = await start_hub(Scheduler(), sink)
    await send(hub, Later(note="soon", seconds=0.3))
    await eventually(lambda: db_conn.fetchval("SELECT count(*) FROM hub_timers"))
    assert sink.reminders == []
    await eventually(lambda: sink.reminders == ["soon"])
    assert await db_conn.fetchval("SELECT count(*) FROM hub_timers") == 0


async def test_named_timer_is_replaced_and_can_be_cancelled(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    sink, scheduler = Sink(), Scheduler()
    hub, _ = await start_hub(scheduler, sink)
    await send(hub, Later(note="first", seconds=60, name="quote-1-reminder"), key="q1")
    await send(hub, Later(note="second", seconds=60, name="quote-1-reminder"), key="q1")
    await send(hub, Later(note="other", seconds=0.2, name="quote-2-reminder"), key="q2")
    await eventually(lambda: sink.reminders == ["other"])
    row = await db_conn.fetchrow("SELECT body FROM hub_timers WHERE name = 'quote-1-reminder'")
    assert b"second" in row["body"]
    assert await db_conn.fetchval("SELECT count(*) FROM hub_timers") == 1
    await send(hub, Later(cancel="quote-1-reminder"), key="q1")
    await eventually(lambda: scheduler.cancelled == [True])
    assert await db_conn.fetchval("SELECT count(*) FROM hub_timers") == 0


async def test_timer_survives_a_restart(start_hub: StartHub, db_conn: asyncpg.Connection) -> None:
    hub, stop = await start_hub(Scheduler(), Sink())
    await send(hub, Later(note="later", seconds=1.0))
    await eventually(lambda: db_conn.fetchval("SELECT count(*) FROM hub_timers"))
    await stop()
    sink = Sink()
    await start_hub(Scheduler(), sink)
    await eventually(lambda: sink.reminders == ["later"])


async def test_replayed_dead_letter_is_handled_once(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    counter = Counter()
    counter.broken.add("a")
    hub, _ = await start_hub(counter)
    env = await send(hub, Add(counter="a", amount=4))
    dead = await eventually(lambda: db_conn.fetchrow("SELECT * FROM hub_dead_letters"))
    counter.broken.clear()  # the dependency is back
    async with hub.db.transaction() as conn:
        assert await deadletters.replay(conn, [dead["id"]]) == [dead["id"]]
    await eventually(lambda: total(db_conn, "a"))
    assert await total(db_conn, "a") == 4
    row = await db_conn.fetchrow("SELECT status FROM hub_dead_letters WHERE id = $1", dead["id"])
    assert row["status"] == "replayed"
    handled = await db_conn.fetchval(
        "SELECT count(*) FROM hub_inbox WHERE actor = 'counter' AND message_id = $1",
        env.message_id,
    )
    assert handled == 1


async def test_message_redelivered_too_often_is_dead_lettered(
    start_hub: StartHub, bus: Bus, db_conn: asyncpg.Connection
) -> None:
    await bus.declare("counter", ["test.Add"])
    msg = Add(counter="a", amount=1)
    env = Envelope.new(msg)
    await bus.publish(env, encode(msg))
    for _ in range(2):  # a consumer takes it and dies without acking, twice
        async with bus.subscribe("counter", prefetch=1) as sub:
            async for _delivery in sub:
                break
    await start_hub(Counter(), max_redeliveries=2, bus=bus)
    dead = await eventually(lambda: db_conn.fetchrow("SELECT * FROM hub_dead_letters"))
    assert dead["reason"] == "redelivered"
    assert dead["message_id"] == env.message_id
    assert await total(db_conn, "a") is None


class FlakyBus(MemoryBus):
    """A memory bus whose first subscriptions fail, as a broken channel would."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def subscribe(self, actor: str, *, prefetch: int) -> Any:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("channel closed by the broker")
        return super().subscribe(actor, prefetch=prefetch)


@pytest.mark.parametrize("transport", ["memory"], indirect=True)
async def test_crashing_actor_task_is_restarted_and_reported(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    hub, _ = await start_hub(Counter(), bus=FlakyBus(failures=2))
    status = hub.supervisor.status["actor:counter"]
    await eventually(lambda: status.restarts == 2 and status.state == "running")
    assert status.last_error == "ConnectionError: channel closed by the broker"
    assert metric(hub, "hub_task_restarts_total", task="actor:counter") == 2
    await send(hub, Add(counter="a", amount=1))
    await eventually(lambda: total(db_conn, "a"))


async def test_graceful_shutdown_finishes_in_flight_work_and_flushes_the_outbox(
    start_hub: StartHub, db_conn: asyncpg.Connection
) -> None:
    counter = Counter()
    hub, stop = await start_hub(counter)
    await send(hub, Add(counter="slow", amount=3, hold=0.5))
    await eventually(lambda: counter.overall_active == 1)
    await stop()
    assert await total(db_conn, "slow") == 3
    assert await db_conn.fetchval("SELECT count(*) FROM hub_outbox WHERE published_at IS NULL") == 0
    assert await db_conn.fetchval("SELECT count(*) FROM hub_outbox") == 1


class Beside(Actor, name="beside"):
    """Handles ``Add`` the way invoicing issues a document: while its handler's transaction is
    open it commits a transaction of its own (an intent, before an external call)."""

    def __init__(self) -> None:
        self.db: Database | None = None
        self.done = 0

    @handler
    async def add(self, msg: Add, ctx: Context) -> None:
        assert self.db is not None
        await asyncio.sleep(0.05)  # the handler's connection is held while others arrive
        async with self.db.transaction() as conn:
            await conn.execute("SELECT 1")
        self.done += 1


async def test_handlers_opening_a_second_transaction_never_starve_the_pool(
    start_hub: StartHub,
) -> None:
    # A burst bigger than the pool: were every connection taken by a handler's transaction,
    # each would wait for one more until its time limit (the hub stalled like that with 30
    # shop orders at once). Handlers' transactions leave a quarter of the pool free.
    actor = Beside()
    hub, _ = await start_hub(actor, db_pool_max=4, handler_timeout=2.0, prefetch=32)
    actor.db = hub.db
    assert hub.db.handler_slots == 3
    for n in range(30):
        await send(hub, Add(counter=f"c{n}", amount=1), key=f"c{n}")
    await eventually(lambda: actor.done == 30, timeout=30, what="30 handled")
    assert metric(hub, "hub_messages_failed_total", actor="beside", type="test.Add") == 0

"""One contract, two transports: every test here runs against memory and RabbitMQ."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from hub.bus import Bus, Delivery
from hub.errors import TransientError
from hub.messages import Envelope, encode
from tests.support import Add, Added, eventually


def envelope(msg: Add | Added, key: str | None = None) -> Envelope:
    return Envelope.new(msg, key=key)


async def collect(bus: Bus, actor: str, into: list[Delivery], *, ack: bool = True) -> None:
    async with bus.subscribe(actor, prefetch=10) as sub:
        async for delivery in sub:
            into.append(delivery)
            if ack:
                await delivery.ack()


async def test_publish_by_type_reaches_every_bound_queue_and_no_other(bus: Bus) -> None:
    await bus.declare("a", ["test.Added"])
    await bus.declare("b", ["test.Added", "test.Add"])
    await bus.declare("c", ["test.Add"])
    got: dict[str, list[Delivery]] = {"a": [], "b": [], "c": []}
    tasks = [asyncio.create_task(collect(bus, n, got[n])) for n in got]
    msg = Added(counter="x", amount=1, total=1)
    await bus.publish(envelope(msg), encode(msg))
    await eventually(lambda: len(got["a"]) == 1 and len(got["b"]) == 1)
    await asyncio.sleep(0.1)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert got["c"] == []
    assert got["a"][0].body == encode(msg)


async def test_direct_publish_reaches_only_the_named_actor(bus: Bus) -> None:
    await bus.declare("a", ["test.Added"])
    await bus.declare("b", ["test.Added"])
    got: dict[str, list[Delivery]] = {"a": [], "b": []}
    tasks = [asyncio.create_task(collect(bus, n, got[n])) for n in got]
    msg = Added(counter="x", amount=1, total=1)
    await bus.publish(envelope(msg), encode(msg), to="b")
    await eventually(lambda: len(got["b"]) == 1)
    await asyncio.sleep(0.1)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert got["a"] == []


async def test_direct_publish_to_an_unknown_actor_fails(bus: Bus) -> None:
    await bus.declare("a", ["test.Added"])
    msg = Added(counter="x", amount=1, total=1)
    with pytest.raises(TransientError):
        await bus.publish(envelope(msg), encode(msg), to="nobody")


async def test_envelope_survives_the_trip(bus: Bus) -> None:
    await bus.declare("a", ["test.Add"])
    cause = Envelope.new(Add(counter="c", amount=1), key="order-7", actor="user:12")
    msg = Added(counter="c", amount=1, total=3)
    sent = Envelope.new(msg, cause=cause, occurred_at=datetime(2026, 1, 2, 3, 4, 5, 6789, UTC))
    got: list[Delivery] = []
    task = asyncio.create_task(collect(bus, "a", got))
    await bus.publish(sent, encode(msg), to="a")
    await eventually(lambda: got)
    task.cancel()
    received = got[0].envelope
    assert received == sent
    assert received is not None and received.key == "order-7"
    assert received.causation_id == str(cause.message_id)
    assert received.correlation_id == cause.correlation_id
    assert received.actor == "user:12"


async def test_delayed_publish_arrives_after_the_delay(bus: Bus) -> None:
    await bus.declare("a", ["test.Add"])
    got: list[Delivery] = []
    task = asyncio.create_task(collect(bus, "a", got))
    msg = Add(counter="c", amount=1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await bus.publish(envelope(msg), encode(msg), to="a", delay=0.1)
    await eventually(lambda: got)
    task.cancel()
    assert loop.time() - started >= 0.09


async def test_unacked_delivery_comes_back_after_the_subscription_closes(bus: Bus) -> None:
    await bus.declare("a", ["test.Add"])
    msg = Add(counter="c", amount=1)
    env = envelope(msg)
    await bus.publish(env, encode(msg))
    first: list[Delivery] = []
    task = asyncio.create_task(collect(bus, "a", first, ack=False))
    await eventually(lambda: first)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    again: list[Delivery] = []
    task = asyncio.create_task(collect(bus, "a", again))
    await eventually(lambda: again)
    task.cancel()
    assert again[0].envelope is not None and again[0].envelope.message_id == env.message_id
    assert again[0].redeliveries >= 1
    assert first[0].redeliveries == 0


async def test_acked_delivery_does_not_come_back(bus: Bus) -> None:
    await bus.declare("a", ["test.Add"])
    msg = Add(counter="c", amount=1)
    await bus.publish(envelope(msg), encode(msg))
    first: list[Delivery] = []
    task = asyncio.create_task(collect(bus, "a", first))
    await eventually(lambda: first)
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    marker = Add(counter="marker", amount=1)
    await bus.publish(envelope(marker), encode(marker))
    again: list[Delivery] = []
    task = asyncio.create_task(collect(bus, "a", again))
    await eventually(lambda: again)
    await asyncio.sleep(0.1)
    task.cancel()
    assert [d.body for d in again] == [encode(marker)]


async def test_prefetch_bounds_unacknowledged_deliveries(bus: Bus) -> None:
    await bus.declare("a", ["test.Add"])
    for i in range(5):
        msg = Add(counter=f"c{i}", amount=1)
        await bus.publish(envelope(msg), encode(msg))
    got: list[Delivery] = []

    async def hold() -> None:
        async with bus.subscribe("a", prefetch=2) as sub:
            async for delivery in sub:
                got.append(delivery)

    task = asyncio.create_task(hold())
    await eventually(lambda: len(got) == 2)
    await asyncio.sleep(0.2)
    assert len(got) == 2
    await got[0].ack()
    await eventually(lambda: len(got) == 3)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_declare_is_idempotent(bus: Bus) -> None:
    await bus.declare("a", ["test.Add"])
    await bus.declare("a", ["test.Add"])
    await bus.ping()


async def test_requeue_delivers_again(bus: Bus) -> None:
    await bus.declare("a", ["test.Add"])
    msg = Add(counter="c", amount=1)
    await bus.publish(envelope(msg), encode(msg))
    got: list[Delivery] = []

    async def consume() -> None:
        async with bus.subscribe("a", prefetch=1) as sub:
            async for delivery in sub:
                got.append(delivery)
                if len(got) == 1:
                    await delivery.requeue()
                else:
                    await delivery.ack()

    task = asyncio.create_task(consume())
    await eventually(lambda: len(got) == 2)
    task.cancel()
    assert got[1].redeliveries >= 1
    assert got[0].body == got[1].body

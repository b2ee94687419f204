"""The outbox relay stops when it is cancelled, whatever it was doing: a stop that is lost
leaves the relay running after the hub has shut down, and the shutdown waits forever."""

from __future__ import annotations

import asyncio
from typing import Any

from hub.bus.memory import MemoryBus
from hub.db import Database
from hub.outbox import OutboxRelay
from hub.telemetry import Metrics
from tests.support import eventually


def idle(task: asyncio.Task[None]) -> bool:
    """True while the relay waits for a wake-up (between two drains): ``_idle`` is among the
    coroutines it awaits."""
    awaited: Any = task.get_coro()
    while awaited is not None:
        if getattr(awaited, "__name__", "") == "_idle":
            return True
        awaited = getattr(awaited, "cr_await", None)
    return False


async def test_a_relay_cancelled_just_as_it_is_woken_stops(actor_db: Database) -> None:
    bus = MemoryBus()
    relay = OutboxRelay(actor_db, bus, Metrics(), batch_size=10, sweep_interval=30.0)
    for _ in range(3):
        task = asyncio.create_task(relay.run())
        await eventually(lambda t=task: idle(t), what="the relay idle between drains")
        # a NOTIFY arrives in the same loop turn as the hub's stop: Python 3.11's
        # asyncio.wait_for would return the wake-up and drop the cancellation
        relay.wake()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "the relay kept running after it was cancelled"
        assert task.cancelled()
    await bus.close()

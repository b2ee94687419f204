"""The in-process transport: the bus contract without a broker (embedded mode, unit tests)."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from hub.bus import Delivery, envelope_headers
from hub.errors import TransientError
from hub.messages import Envelope


@dataclass
class _Entry:
    envelope: Envelope
    body: bytes
    redeliveries: int = 0
    tag: int = field(default_factory=itertools.count().__next__)


class _Queue:
    def __init__(self, name: str) -> None:
        self.name = name
        self.ready: deque[_Entry] = deque()
        self.changed = asyncio.Condition()

    async def put(self, entry: _Entry, *, front: bool = False) -> None:
        async with self.changed:
            if front:
                self.ready.appendleft(entry)
            else:
                self.ready.append(entry)
            self.changed.notify_all()


class MemoryDelivery:
    """A delivery from the memory transport."""

    envelope_error: str | None = None

    def __init__(self, entry: _Entry, subscription: MemorySubscription) -> None:
        self._entry = entry
        self._sub = subscription
        self.envelope: Envelope | None = entry.envelope
        self.body = entry.body
        self.headers: dict[str, Any] = envelope_headers(entry.envelope)
        self.redeliveries = entry.redeliveries

    async def ack(self) -> None:
        """Forget the message."""
        await self._sub.settle(self._entry, requeue=False)

    async def requeue(self) -> None:
        """Put the message back at the head of the queue."""
        await self._sub.settle(self._entry, requeue=True)


class MemorySubscription:
    """Competing consumer of one memory queue with a prefetch window."""

    def __init__(self, queue: _Queue, prefetch: int) -> None:
        self._queue = queue
        self._prefetch = prefetch
        self._unacked: dict[int, _Entry] = {}
        self._stopped = False
        self.closed = False

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Delivery]:
        q = self._queue
        while True:
            async with q.changed:
                await q.changed.wait_for(
                    lambda: self._stopped or (bool(q.ready) and len(self._unacked) < self._prefetch)
                )
                if self._stopped:
                    return
                entry = q.ready.popleft()
                self._unacked[entry.tag] = entry
            yield MemoryDelivery(entry, self)

    async def settle(self, entry: _Entry, *, requeue: bool) -> None:
        if self.closed:
            raise TransientError("subscription closed; the message will be delivered again")
        if self._unacked.pop(entry.tag, None) is None:
            return
        if requeue:
            entry.redeliveries += 1
            await self._queue.put(entry, front=True)
        else:
            async with self._queue.changed:
                self._queue.changed.notify_all()

    async def stop(self) -> None:
        """Stop yielding deliveries."""
        self._stopped = True
        async with self._queue.changed:
            self._queue.changed.notify_all()

    async def close(self) -> None:
        """Return every unacknowledged delivery to the queue, as a broker does on channel close."""
        await self.stop()
        self.closed = True
        for entry in sorted(self._unacked.values(), key=lambda e: e.tag, reverse=True):
            entry.redeliveries += 1
            await self._queue.put(entry, front=True)
        self._unacked.clear()


class MemoryBus:
    """The bus contract in one process. Nothing survives the process."""

    mode = "memory (in-process)"

    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._bindings: dict[str, set[str]] = {}
        self._timers: set[asyncio.TimerHandle] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.published: list[Envelope] = []

    async def declare(self, actor: str, types: Iterable[str]) -> None:
        """Create the actor's queue and bind it to ``types``."""
        self._queues.setdefault(actor, _Queue(actor))
        for t in types:
            self._bindings.setdefault(t, set()).add(actor)

    async def publish(
        self, envelope: Envelope, body: bytes, *, to: str | None = None, delay: float | None = None
    ) -> None:
        """Route now, or after ``delay`` seconds."""
        if to is not None and to not in self._queues:
            raise TransientError(f"no queue for actor {to!r}")
        targets = [to] if to is not None else sorted(self._bindings.get(envelope.type, ()))
        self.published.append(envelope)
        for name in targets:
            entry = _Entry(envelope, body)
            if delay:
                self._later(delay, self._queues[name], entry)
            else:
                await self._queues[name].put(entry)

    def _later(self, delay: float, queue: _Queue, entry: _Entry) -> None:
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            task = loop.create_task(queue.put(entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    @asynccontextmanager
    async def subscribe(self, actor: str, *, prefetch: int) -> AsyncIterator[MemorySubscription]:
        """Consume the actor's queue."""
        if actor not in self._queues:
            raise TransientError(f"no queue for actor {actor!r}; declare it first")
        sub = MemorySubscription(self._queues[actor], prefetch)
        try:
            yield sub
        finally:
            await sub.close()

    def depth(self, actor: str) -> int:
        """Messages waiting in the actor's queue (not counting unacknowledged ones)."""
        return len(self._queues[actor].ready)

    async def ping(self) -> None:
        """The memory bus is always reachable."""

    async def close(self) -> None:
        """Drop pending delayed deliveries."""
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()

"""Test actors and helpers shared by the integration and e2e tests."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources
from hub.errors import DomainError, PermanentError
from hub.messages import Command, Event


class Add(Command, tag="test.Add"):
    """Add ``amount`` to counter ``counter``."""

    counter: str
    amount: int
    fail_first: int = 0  # raise on attempts 1..fail_first (a transient failure)
    permanent: bool = False  # raise a PermanentError
    hold: float = 0.0  # seconds to hold the handler (concurrency and shutdown tests)


class Added(Event, tag="test.Added"):
    """Counter ``counter`` now stands at ``total``."""

    counter: str
    amount: int
    total: int


class Remind(Command, tag="test.Remind"):
    """A message delivered by a durable timer."""

    note: str


class Later(Command, tag="test.Later"):
    """Schedule a ``Remind`` in ``seconds`` (under timer ``name``), or cancel timer ``cancel``."""

    note: str = ""
    seconds: float = 0.0
    name: str | None = None
    cancel: str | None = None


class Counter(Actor, name="counter"):
    """Keeps totals in ``test_counters`` and emits ``Added``."""

    active: dict[str, int]
    max_active: dict[str, int]

    def __init__(self) -> None:
        self.broken: set[str] = set()  # counters whose dependency is "down"
        self.active = defaultdict(int)
        self.max_active = defaultdict(int)
        self.overall_active = 0
        self.overall_max = 0

    @handler
    async def add(self, msg: Add, ctx: Context) -> None:
        key = ctx.envelope.key or ""
        self.active[key] += 1
        self.overall_active += 1
        self.max_active[key] = max(self.max_active[key], self.active[key])
        self.overall_max = max(self.overall_max, self.overall_active)
        try:
            if msg.amount < 0:
                raise DomainError(f"amount must not be negative, got {msg.amount}")
            if msg.permanent:
                raise PermanentError("this message can never succeed")
            if ctx.envelope.attempt <= msg.fail_first:
                raise ConnectionError(f"flaky dependency (attempt {ctx.envelope.attempt})")
            if msg.counter in self.broken:
                raise RuntimeError(f"dependency of {msg.counter} is down")
            if msg.hold:
                await asyncio.sleep(msg.hold)
            total = await ctx.conn.fetchval(
                "INSERT INTO test_counters (name, total) VALUES ($1, $2) "
                "ON CONFLICT (name) DO UPDATE SET total = test_counters.total + EXCLUDED.total "
                "RETURNING total",
                msg.counter,
                msg.amount,
            )
            ctx.emit(Added(counter=msg.counter, amount=msg.amount, total=total))
        finally:
            self.active[key] -= 1
            self.overall_active -= 1


class Sink(Actor, name="sink"):
    """Records every ``Added`` it handles in ``test_events``; also takes timer messages."""

    def __init__(self) -> None:
        self.reminders: list[str] = []

    @handler
    async def added(self, msg: Added, ctx: Context) -> None:
        await ctx.conn.execute(
            "INSERT INTO test_events (message_id, counter, total) VALUES ($1, $2, $3)",
            ctx.envelope.message_id,
            msg.counter,
            msg.total,
        )

    @handler
    async def remind(self, msg: Remind, ctx: Context) -> None:
        self.reminders.append(msg.note)


class Scheduler(Actor, name="scheduler"):
    """Schedules and cancels durable timers on request."""

    def __init__(self) -> None:
        self.cancelled: list[bool] = []

    @handler
    async def later(self, msg: Later, ctx: Context) -> None:
        if msg.cancel is not None:
            self.cancelled.append(await ctx.cancel(msg.cancel))
            return
        ctx.schedule(
            Remind(note=msg.note), at=ctx.now + timedelta(seconds=msg.seconds), name=msg.name
        )


def factory(actor: Actor) -> Callable[[Resources], Actor]:
    """An actor factory returning this very instance (so tests can look inside it)."""
    return lambda _resources: actor


async def eventually(
    check: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.02, what: str = ""
) -> Any:
    """Poll ``check`` (sync or async) until it returns a truthy value, at most ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        if loop.time() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or check}: {last!r}"
            )
        await asyncio.sleep(interval)

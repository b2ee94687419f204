"""Actors: typed handlers per message type, the handler context, and the delivery runner.

An actor is a class with ``@handler`` methods; the annotation of each method's message parameter
says which message type(s) it handles::

    class Inventory(Actor, name="inventory"):
        @handler
        async def reserve(self, msg: ReserveStock, ctx: Context) -> None:
            ...
            ctx.emit(StockReserved(...))

The :class:`ActorRunner` consumes the actor's queue and, for each delivery, runs the handler in
one PostgreSQL transaction (inbox row first, outbox rows last), then acknowledges. Messages with
the same ``key`` never run concurrently: an in-process lock per key, plus a transaction-scoped
advisory lock so two hub processes cannot run them at once either.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
import types
import typing
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

import asyncpg
import msgspec

from hub import audit, deadletters, outbox
from hub.bus import Bus, Delivery
from hub.db import Database, key_lock, xact_lock
from hub.errors import DomainError, PermanentError, TransientError
from hub.messages import Envelope, Message, encode, registry, type_name
from hub.telemetry import BoundLogger, Metrics

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Awaitable[None]])
Handler = Callable[[Message, "Context"], Awaitable[None]]


def handler(fn: F) -> F:
    """Mark an actor method as the handler of the message type(s) its annotation names."""
    fn.__hub_handler__ = True  # type: ignore[attr-defined]
    return fn


class Actor:
    """Base of every actor. Subclass with ``name=`` and decorate handlers with :func:`handler`."""

    name: ClassVar[str] = ""
    _handler_names: ClassVar[dict[type[Message], str] | None] = None

    def __init_subclass__(cls, *, name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if name is not None:
            cls.name = name
        cls._handler_names = None

    @classmethod
    def handled_types(cls) -> dict[type[Message], str]:
        """Message class → method name, resolved from the handlers' annotations."""
        if cls._handler_names is None:
            found: dict[type[Message], str] = {}
            for klass in reversed(cls.__mro__):
                for attr, fn in vars(klass).items():
                    if getattr(fn, "__hub_handler__", False):
                        for msg_type in _message_types(cls, fn):
                            found[msg_type] = attr
            cls._handler_names = found
        return cls._handler_names

    @classmethod
    def type_names(cls) -> list[str]:
        """The type names this actor's queue is bound to."""
        return sorted(type_name(t) for t in cls.handled_types())

    def handler_for(self, message: Message) -> Handler:
        """The bound handler for ``message``; a type without one is a permanent error."""
        attr = self.handled_types().get(type(message))
        if attr is None:
            raise PermanentError(f"actor {self.name!r} has no handler for {type(message).__name__}")
        fn: Handler = getattr(self, attr)
        return fn

    async def on_start(self) -> None:
        """Called once before the actor consumes (open clients, warm caches)."""

    async def on_stop(self) -> None:
        """Called once after the actor stopped consuming."""


def _message_types(cls: type, fn: Callable[..., Any]) -> list[type[Message]]:
    # the handler's own module: a subclass elsewhere (a test's) inherits handlers whose
    # annotations name types imported only where the handler was written
    module = inspect.getmodule(fn) or inspect.getmodule(cls)
    hints = typing.get_type_hints(fn, globalns=vars(module) if module else None)
    params = [p for p in inspect.signature(fn).parameters if p != "self"]
    if not params or params[0] not in hints:
        raise TypeError(f"handler {cls.__name__}.{fn.__name__} must annotate its message parameter")
    hint = hints[params[0]]
    args = (
        typing.get_args(hint)
        if typing.get_origin(hint) in (typing.Union, types.UnionType)
        else (hint,)
    )
    for arg in args:
        if not (isinstance(arg, type) and issubclass(arg, Message)):
            raise TypeError(f"handler {cls.__name__}.{fn.__name__}: {arg!r} is not a Message")
        type_name(arg)
    return list(args)


class Context:
    """What a handler gets besides its message: the open transaction, emit, schedule, log."""

    __slots__ = ("_items", "conn", "envelope", "log", "now")

    def __init__(self, conn: asyncpg.Connection, envelope: Envelope, log: BoundLogger) -> None:
        self.conn = conn
        self.envelope = envelope
        self.log = log
        self.now = datetime.now(UTC)
        self._items: list[outbox.Outgoing] = []

    def emit(self, message: Message, *, key: str | None = None) -> None:
        """Publish ``message`` when (and only if) this handler's transaction commits.

        ``key`` defaults to the key of the message being handled.
        """
        env = Envelope.new(message, key=key, cause=self.envelope)
        self._items.append(outbox.Outgoing(env, encode(message)))

    def schedule(
        self, message: Message, *, at: datetime, key: str | None = None, name: str | None = None
    ) -> None:
        """Publish ``message`` at ``at`` (durable, kept in PostgreSQL).

        A ``name`` makes the timer replaceable and cancellable (:meth:`cancel`); scheduling an
        existing name moves it.
        """
        if at.tzinfo is None:
            raise ValueError("schedule(at=...) needs a timezone-aware datetime")
        env = Envelope.new(message, key=key, cause=self.envelope, occurred_at=at)
        self._items.append(outbox.Outgoing(env, encode(message), timer_at=at, timer_name=name))

    async def audit(
        self,
        action: str,
        *,
        entity_type: str,
        entity_id: str,
        before: Any = None,
        after: Any = None,
    ) -> None:
        """Record a domain change in the audit trail (this transaction, the envelope's actor)."""
        await audit.record(
            self.conn,
            actor=self.envelope.actor or "system",
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            before=before,
            after=after,
            correlation_id=self.envelope.correlation_id,
        )

    async def cancel(self, name: str) -> bool:
        """Cancel the named timer if it has not fired yet; True if it was pending."""
        await self.flush()
        return await outbox.cancel_timer(self.conn, name)

    async def flush(self) -> None:
        """Write what was emitted so far into the transaction (the runner calls it at the end)."""
        if self._items:
            items, self._items = self._items, []
            await outbox.write(self.conn, items)


class KeyLocks:
    """One FIFO lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: str | None) -> AsyncIterator[None]:
        """Hold ``key``'s lock (no lock at all for ``None``)."""
        if key is None:
            yield
            return
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


class ActorRunner:
    """Consumes one actor's queue and runs each delivery exactly once in effect."""

    def __init__(
        self,
        actor: Actor,
        *,
        db: Database,
        bus: Bus,
        metrics: Metrics,
        prefetch: int,
        retry_delays: tuple[float, ...],
        max_redeliveries: int,
        handler_timeout: float = 60.0,
        shutdown_timeout: float = 20.0,
    ) -> None:
        self.actor = actor
        self.name = actor.name
        self._db = db
        self._bus = bus
        self._metrics = metrics
        self._prefetch = prefetch
        self._delays = retry_delays
        self._max_redeliveries = max_redeliveries
        self._handler_timeout = handler_timeout
        self._shutdown_timeout = shutdown_timeout
        self._locks = KeyLocks()
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._crash: BaseException | None = None
        self._log = BoundLogger(log.getChild(self.name), actor=self.name)

    async def run(self) -> None:
        """Consume until :meth:`stop`; raises if the consumer breaks (the supervisor restarts)."""
        self._crash = None
        async with self._bus.subscribe(self.name, prefetch=self._prefetch) as sub:
            stopper = asyncio.create_task(self._stop_when_asked(sub))
            try:
                async for delivery in sub:
                    task = asyncio.create_task(self._process_guarded(delivery, sub))
                    self._inflight.add(task)
                    task.add_done_callback(self._inflight.discard)
            finally:
                stopper.cancel()
                await self._drain_inflight()
        if self._crash is not None:
            raise RuntimeError(f"actor {self.name} crashed") from self._crash
        if not self._stopping.is_set():
            raise TransientError(f"actor {self.name}: the broker ended the subscription")

    async def _stop_when_asked(self, sub: Any) -> None:
        await self._stopping.wait()
        await sub.stop()

    async def stop(self) -> None:
        """Stop consuming; in-flight handlers get ``shutdown_timeout`` seconds to finish."""
        self._stopping.set()

    async def _drain_inflight(self) -> None:
        if not self._inflight:
            return
        _, pending = await asyncio.wait(set(self._inflight), timeout=self._shutdown_timeout)
        for task in pending:
            task.cancel()
        if pending:
            self._log.warning("cancelled %d handlers still running at shutdown", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)

    async def _process_guarded(self, delivery: Delivery, sub: Any) -> None:
        try:
            await self.process(delivery)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a runtime bug: restart the actor with a fresh channel
            self._log.exception("runtime failure while processing a delivery")
            self._crash = exc
            await sub.stop()

    async def process(self, delivery: Delivery) -> None:
        """Handle one delivery: decode, dedupe, run, commit, ack — or retry / dead-letter."""
        env = delivery.envelope
        if env is None:
            await self._dead_letter(delivery, "permanent", delivery.envelope_error or "no envelope")
            return
        if delivery.redeliveries >= self._max_redeliveries:
            await self._dead_letter(
                delivery,
                "redelivered",
                f"delivered {delivery.redeliveries} times without completing "
                "(did the process crash while handling it?)",
            )
            return
        mlog = self._log.bind(
            message_id=str(env.message_id), correlation_id=env.correlation_id, type=env.type
        )
        try:
            message = registry.decode(env.type, delivery.body)
            fn = self.actor.handler_for(message)
        except PermanentError as exc:
            await self._dead_letter(delivery, "permanent", str(exc))
            return
        async with self._locks.hold(env.key):
            outcome = await self._run_handler(fn, message, env, mlog)
        await self._settle(delivery, env, outcome, mlog)

    async def _run_handler(
        self, fn: Handler, message: Message, env: Envelope, mlog: BoundLogger
    ) -> BaseException | None:
        labels = (self.name, env.type)
        started = time.perf_counter()
        try:
            async with (
                self._db.handler_slot(),
                asyncio.timeout(self._handler_timeout),
                self._db.transaction() as conn,
            ):
                if env.key is not None:
                    await xact_lock(conn, key_lock(self.name, env.key))
                if not await outbox.claim_inbox(conn, self.name, env.message_id):
                    self._metrics.duplicates.labels(*labels).inc()
                    mlog.info("duplicate delivery skipped by the inbox")
                    return None
                ctx = Context(conn, env, mlog)
                await fn(message, ctx)
                await ctx.flush()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._metrics.failed.labels(*labels).inc()
            return exc
        self._metrics.latency.labels(*labels).observe(time.perf_counter() - started)
        self._metrics.handled.labels(*labels).inc()
        return None

    async def _settle(
        self, delivery: Delivery, env: Envelope, outcome: BaseException | None, mlog: BoundLogger
    ) -> None:
        labels = (self.name, env.type)
        if isinstance(outcome, DomainError):
            self._metrics.rejected.labels(*labels).inc()
            mlog.warning("rejected: %s", outcome)
        elif isinstance(outcome, PermanentError):
            mlog.error("permanent failure: %s", outcome)
            await self._dead_letter(delivery, "permanent", str(outcome), outcome)
            return
        elif isinstance(outcome, (Exception, TransientError)):
            if env.attempt <= len(self._delays):
                delay = self._delays[env.attempt - 1]
                mlog.warning(
                    "attempt %d failed, retrying in %gs: %r",
                    env.attempt,
                    delay,
                    outcome,
                    exc_info=outcome,
                )
                retry = msgspec.structs.replace(env, attempt=env.attempt + 1)
                try:
                    await self._bus.publish(retry, delivery.body, to=self.name, delay=delay)
                except TransientError as exc:
                    mlog.error("could not schedule the retry (%s); requeueing", exc)
                    await self._requeue_later(delivery)
                    return
                self._metrics.retried.labels(*labels).inc()
            else:
                mlog.error("attempt %d failed, giving up: %r", env.attempt, outcome)
                await self._dead_letter(delivery, "exhausted", repr(outcome), outcome)
                return
        elif outcome is not None:
            raise outcome
        await self._ack(delivery, mlog)

    async def _dead_letter(
        self,
        delivery: Delivery,
        reason: deadletters.Reason,
        error: str,
        exc: BaseException | None = None,
    ) -> None:
        env = delivery.envelope
        tb = "".join(traceback.format_exception(exc)) if exc is not None else None
        try:
            async with self._db.transaction() as conn:
                await deadletters.record(
                    conn,
                    actor=self.name,
                    envelope=env,
                    headers=delivery.headers,
                    body=delivery.body,
                    reason=reason,
                    error=error,
                    traceback=tb,
                    attempts=env.attempt if env else 1,
                )
        except Exception as db_exc:  # the store is down or refused: keep the message
            self._log.error("cannot store a dead letter (%s); requeueing", db_exc)
            await self._requeue_later(delivery)
            return
        self._metrics.dead_lettered.labels(self.name, env.type if env else "?", reason).inc()
        self._log.error(
            "dead-lettered (%s): %s",
            reason,
            error,
            extra={"message_id": str(env.message_id) if env else None},
        )
        await self._ack(delivery, self._log)

    async def _ack(self, delivery: Delivery, mlog: BoundLogger) -> None:
        try:
            await delivery.ack()
        except TransientError as exc:
            mlog.warning("%s (the inbox will drop the repeat)", exc)

    async def _requeue_later(self, delivery: Delivery) -> None:
        await asyncio.sleep(1.0)
        try:
            await delivery.requeue()
        except TransientError as exc:
            self._log.warning("%s", exc)

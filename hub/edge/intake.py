"""The webhook intake writer: durable, deduplicated, group-committed writes of deliveries.

A verified delivery becomes an :class:`Intake`. :meth:`IntakeWriter.submit` returns once the
delivery row and the outbox row of its message are **committed** (True), or once it is known to
be a duplicate (False); it raises :class:`IntakeUnavailable` when the write failed, so the edge
answers 503 and the sender retries.

With group commit, the writer task takes every delivery waiting at that moment (up to
``max_batch``) and writes them in ONE transaction: an ``INSERT … ON CONFLICT (source,
dedupe_key) DO NOTHING RETURNING`` for the deliveries, then :func:`hub.outbox.write` for the
messages of the new ones. There is no timer: a lone delivery is written at once, and batches form
by themselves while a commit is in flight (``writers`` transactions at most, one by default). A
batch that fails for what one delivery holds (PostgreSQL refuses its data, a value cannot be
encoded) is retried one delivery per transaction, so only that one is answered 503; a batch that
fails for the server (lost, slow) is answered 503 whole. Without group commit, each request writes
its own transaction (the benchmark's comparison).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import msgspec
from prometheus_client import CollectorRegistry, Counter, Histogram

from hub import outbox
from hub.db import Database
from hub.messages import Envelope

log = logging.getLogger(__name__)

# Group-commit transactions in flight at once. More than one lets the next batch be inserted while
# the previous waits for its commit (useful when the database is far away); with a local server
# two measured no better than one, and three worse (bench/README.md).
WRITERS = 1
# A transaction that takes longer than this is abandoned and its requests get 503: the sender
# retries, and if the commit did land after all, the retry is a duplicate.
WRITE_TIMEOUT = 10.0
# Requests that may wait for the writer (at least this many, or 8 batches) before new ones are
# refused with 503: a bound on memory if the database stalls, far above normal concurrency.
MIN_PENDING = 1000
PENDING_BATCHES = 8

_INSERT = """
INSERT INTO webhook_deliveries (source, dedupe_key, received_at, headers, body, message_id,
                                message_type, message_key, message_body)
SELECT s, k, r, h::jsonb, b, m, t, mk, mb
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::bytea[], $6::uuid[],
            $7::text[], $8::text[], $9::bytea[]) AS d(s, k, r, h, b, m, t, mk, mb)
ON CONFLICT (source, dedupe_key) DO NOTHING
RETURNING source, dedupe_key
"""

_header_encoder = msgspec.json.Encoder()


class IntakeUnavailable(Exception):
    """The delivery could not be made durable now (database down, overloaded, stopping)."""


@dataclass(slots=True)
class Intake:
    """One verified delivery and the message it becomes, ready to be written."""

    source: str
    dedupe_key: str
    received_at: datetime
    headers: dict[str, str]
    body: bytes
    envelope: Envelope
    message_body: bytes

    @property
    def identity(self) -> tuple[str, str]:
        """What makes two deliveries the same delivery."""
        return (self.source, self.dedupe_key)


class IntakeMetrics:
    """Counters and histograms of the intake, registered in the hub's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.deliveries = Counter(
            "hub_webhook_deliveries",
            "Webhook requests by outcome: accepted, duplicate, ping, rejected, unavailable",
            ("source", "outcome"),
            registry=registry,
        )
        self.rejected = Counter(
            "hub_webhook_rejected",
            "Webhook requests refused, by reason (signature, timestamp, payload, too_large)",
            ("source", "reason"),
            registry=registry,
        )
        self.batch_size = Histogram(
            "hub_webhook_intake_batch_size",
            "Deliveries written per committed intake transaction",
            registry=registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 10_000),
        )
        self.commit_seconds = Histogram(
            "hub_webhook_intake_commit_seconds",
            "Time of one intake transaction, from acquiring a connection to the commit",
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
        )


@dataclass(slots=True)
class _Waiting:
    intake: Intake
    future: asyncio.Future[bool] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class IntakeWriter:
    """Writes deliveries with their outbox messages; see the module docstring."""

    def __init__(
        self,
        db: Database,
        metrics: IntakeMetrics,
        *,
        group_commit: bool = True,
        max_batch: int = 256,
        writers: int = WRITERS,
        write_timeout: float = WRITE_TIMEOUT,
    ) -> None:
        self._db = db
        self._metrics = metrics
        self.group_commit = group_commit
        self._max_batch = max_batch
        self._max_pending = max(max_batch * PENDING_BATCHES, MIN_PENDING)
        self._writers = writers
        self._timeout = write_timeout
        self._pending: list[_Waiting] = []
        self._wake = asyncio.Event()
        self._stopping = False

    async def submit(self, intake: Intake) -> bool:
        """Make ``intake`` durable: True if new, False if a duplicate.

        Raises :class:`IntakeUnavailable` when it could not be written (the sender should retry).
        """
        if self._stopping:
            raise IntakeUnavailable("the hub is stopping")
        if not self.group_commit:
            return (await self._write_alone([intake]))[0]
        if len(self._pending) >= self._max_pending:
            waiting_now = len(self._pending)
            raise IntakeUnavailable(f"{waiting_now} deliveries already wait for the database")
        waiting = _Waiting(intake)
        self._pending.append(waiting)
        self._wake.set()
        # Shielded: a sender that hangs up does not take the delivery out of a batch in flight.
        return await asyncio.shield(waiting.future)

    async def run(self) -> None:
        """Write batches until stopped, then write what still waits (supervised).

        Up to ``writers`` transactions are in flight at once; each takes every delivery waiting
        when it starts (up to ``max_batch``).
        """
        in_flight: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            in_flight.discard(task)
            self._wake.set()

        try:
            while True:
                if self._pending and len(in_flight) < self._writers:
                    batch = self._pending[: self._max_batch]
                    del self._pending[: self._max_batch]
                    task = asyncio.create_task(self._settle(batch))
                    in_flight.add(task)
                    task.add_done_callback(finished)
                    continue
                if self._stopping and not self._pending and not in_flight:
                    return
                self._wake.clear()
                await self._wake.wait()
        except asyncio.CancelledError:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            self._fail(self._pending, IntakeUnavailable("the intake writer was stopped"))
            self._pending.clear()
            raise

    async def stop(self) -> None:
        """Refuse new deliveries; :meth:`run` returns once those waiting are written."""
        self._stopping = True
        self._wake.set()

    async def _settle(self, batch: list[_Waiting]) -> None:
        try:
            results = await self._write_alone([w.intake for w in batch])
        except Exception as exc:
            if len(batch) > 1 and _one_delivery_at_fault(exc):
                # One bad delivery must not keep failing the others it shares a batch with.
                log.warning("intake batch of %d failed (%r); writing one by one", len(batch), exc)
                for waiting in batch:
                    await self._settle([waiting])
                return
            log.error("intake: %d deliveries not written: %r", len(batch), exc)
            self._fail(batch, IntakeUnavailable(f"{type(exc).__name__}: {exc}"))
            return
        except BaseException as exc:
            self._fail(batch, IntakeUnavailable(f"the intake writer was stopped ({exc!r})"))
            raise
        for waiting, new in zip(batch, results, strict=True):
            if not waiting.future.done():
                waiting.future.set_result(new)

    @staticmethod
    def _fail(batch: Sequence[_Waiting], exc: Exception) -> None:
        for waiting in batch:
            if not waiting.future.done():
                waiting.future.set_exception(exc)
                waiting.future.exception()  # retrieved: the request may have gone away

    async def _write_alone(self, intakes: Sequence[Intake]) -> list[bool]:
        """One transaction for ``intakes``; whether each was new, in order."""
        started = time.perf_counter()
        async with asyncio.timeout(self._timeout), self._db.transaction() as conn:
            results = await write_deliveries(conn, intakes)
        self._metrics.commit_seconds.observe(time.perf_counter() - started)
        self._metrics.batch_size.observe(len(intakes))
        return results


async def write_deliveries(conn: asyncpg.Connection, intakes: Sequence[Intake]) -> list[bool]:
    """Insert deliveries and the messages of the new ones, in the caller's transaction.

    Returns, in order, whether each delivery was new. Two deliveries with the same identity in
    ``intakes`` are one: the first may be new, the second is a duplicate.
    """
    first: dict[tuple[str, str], Intake] = {}
    for intake in intakes:
        first.setdefault(intake.identity, intake)
    unique = list(first.values())  # arrival order: the order the messages are published in
    # Inserted sorted, so two transactions with keys in common lock them in one order (no deadlock).
    ordered = sorted(unique, key=lambda i: i.identity)
    rows = await conn.fetch(
        _INSERT,
        [i.source for i in ordered],
        [i.dedupe_key for i in ordered],
        [i.received_at for i in ordered],
        [_header_encoder.encode(i.headers).decode() for i in ordered],
        [i.body for i in ordered],
        [i.envelope.message_id for i in ordered],
        [i.envelope.type for i in ordered],
        [i.envelope.key for i in ordered],
        [i.message_body for i in ordered],
    )
    inserted = {(r["source"], r["dedupe_key"]) for r in rows}
    new = [i for i in unique if i.identity in inserted]
    if new:
        await outbox.write(conn, [outbox.Outgoing(i.envelope, i.message_body) for i in new])
    return [i.identity in inserted and first[i.identity] is i for i in intakes]


# SQLSTATE classes of a statement refused for its data: data exception, integrity constraint
# violation, raised by a trigger or function. Any other (a lost server) fails every delivery.
_DATA_ERROR_CLASSES = frozenset({"22", "23", "P0"})


def _one_delivery_at_fault(exc: BaseException) -> bool:
    """The batch failed for what one of its deliveries holds, not for a lost, slow or absent
    server: written one by one, the others then succeed (against a lost server each would wait
    out its own timeout instead)."""
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate
        return isinstance(state, str) and state[:2] in _DATA_ERROR_CLASSES
    if isinstance(exc, ValueError):  # a value asyncpg or msgspec could not encode
        return True
    return not isinstance(exc, OSError | TimeoutError | asyncpg.InterfaceError)

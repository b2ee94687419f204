"""Actor runtime benchmark: how fast an actor drains its quorum queue, next to plain consumers.

Measures, in one run on one broker, messages/s of consumers draining a durable quorum queue
holding N pre-published messages (publisher confirms; the same bodies, AMQP properties and
headers for everyone), all with the same prefetch:

  (1)  raw aio-pika     a consumer callback: msgspec-decode the body, ack;
  (2)  FastStream       a ``RabbitBroker`` subscriber whose handler takes the decoded message
                        (msgspec serializer), acked by its default policy (after the handler),
                        its per-message log lines below the logger's level;
  (3)  hub runtime      the real ``ActorRunner`` on ``AmqpBus`` under ``bootstrap.running``
                        (relay, timers, supervisor): per message one PostgreSQL transaction
                        (inbox row, handler, outbox flush), commit, then ack; the handler
                        emits nothing, or one event (an outbox row, relayed) with ``--emit``;
  (3b) hub bus layer    ``AmqpBus.subscribe``, decode, ``Delivery.ack``, no database: the
                        runtime has no mode without PostgreSQL, so this is its transport alone;
  (3c) runner, stub DB  diagnostic only: the ``ActorRunner`` on a ``Database`` whose pool is a
                        stand-in doing nothing (not a mode the hub supports), to split the
                        cost between the runner and PostgreSQL.

Each round publishes N messages once through the hub's topic exchange, bound to one queue per
scenario, then drains the queues one after another (the order rotates each round); a drain is
timed from the first handled message to the N-th; "CPU/msg" is this process's CPU time per
message over that span, the figure least moved by other work on the machine. Figures only:
nothing here asserts a timing.

    CYPHER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    CYPHER_AMQP_URL=amqp://guest:guest@127.0.0.1:5672/ \\
        .venv/bin/python bench/actor_runtime.py [--messages 3000] [--rounds 3] [--summary FILE]

A database ``cypher_bench_<random>`` is created on that server and dropped at the end; the
queues and the exchange (prefix ``cypher_bench_<random>``) are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import (
    AbstractAsyncContextManager,
    AsyncExitStack,
    asynccontextmanager,
    nullcontext,
    suppress,
)
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aio_pika  # noqa: E402
import asyncpg  # noqa: E402
import msgspec  # noqa: E402
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection  # noqa: E402

try:
    from fast_depends.msgspec import MsgSpecSerializer
    from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitQueue
except ImportError:  # pragma: no cover - a dev extra
    raise SystemExit("FastStream is missing: pip install 'faststream[rabbit]'") from None

from bench.common import Row, write_summary  # noqa: E402
from hub.actor import Actor, ActorRunner, Context, handler  # noqa: E402
from hub.bootstrap import open_bus, open_db, running  # noqa: E402
from hub.bus.amqp import AmqpBus  # noqa: E402
from hub.cache import MemoryCache  # noqa: E402
from hub.db import Database  # noqa: E402
from hub.messages import Envelope, Event, encode, registry  # noqa: E402
from hub.settings import HubSettings, Secret  # noqa: E402
from hub.telemetry import Metrics  # noqa: E402

BENCH = "actor runtime"
UNIT = "messages/s"
QUEUE_EXPIRES = 300.0  # an aborted run leaves no quorum queue behind for long
PUBLISH_WINDOW = 500  # publishes awaiting their confirms at once while pre-filling


class StockCounted(Event, tag="bench.StockCounted"):
    """A warehouse counted the stock of one SKU (the benchmark's message)."""

    sku: str
    warehouse: str
    quantity: int
    counted_at: datetime


class StockRecorded(Event, tag="bench.StockRecorded"):
    """The counted stock was recorded (what the actor emits with ``--emit``)."""

    sku: str
    quantity: int


DECODER = msgspec.json.Decoder(StockCounted)


def stock_count(i: int, now: datetime) -> StockCounted:
    """The ``i``-th message of a round (a SKU of its own)."""
    return StockCounted(
        sku=f"LED-5050-{i:06d}", warehouse="CLJ-1", quantity=i % 480, counted_at=now
    )


# --- what each consumer reports -----------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """Wall clock, this process's CPU time and the whole machine's busy CPU time."""

    wall: float
    cpu: float
    machine: float | None

    @classmethod
    def now(cls) -> Sample:
        return cls(time.perf_counter(), time.process_time(), machine_busy())


def machine_busy() -> float | None:
    """CPU seconds the whole machine has been busy since boot (Linux ``/proc/stat``)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    except OSError:
        return None
    ticks = [int(f) for f in fields]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


class Tally:
    """Counts handled messages; samples the clocks at the first and at the ``expected``-th."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = asyncio.Event()
        self.first: Sample | None = None
        self.last: Sample | None = None

    def tick(self) -> None:
        self.count += 1
        if self.count == 1:
            self.first = Sample.now()
        if self.count == self.expected:
            self.last = Sample.now()
            self.done.set()


@dataclass(frozen=True)
class Figures:
    """One drain: messages/s; CPU as a share of one core (this process; the machine); this
    process's CPU time per message."""

    rate: float
    seconds: float
    cpu: float
    machine: float | None
    cpu_per_message: float  # seconds


def figures_of(tally: Tally) -> Figures:
    assert tally.first is not None and tally.last is not None
    seconds = tally.last.wall - tally.first.wall
    machine = None
    if tally.first.machine is not None and tally.last.machine is not None:
        machine = (tally.last.machine - tally.first.machine) / seconds
    cpu = tally.last.cpu - tally.first.cpu
    return Figures(
        rate=(tally.expected - 1) / seconds,
        seconds=seconds,
        cpu=cpu / seconds,
        machine=machine,
        cpu_per_message=cpu / (tally.expected - 1),
    )


# --- the consumers under test -------------------------------------------------------------------
# Each is an async context manager: entering starts consuming, leaving stops.

Consumer = Callable[[Tally], AbstractAsyncContextManager[object]]


@asynccontextmanager
async def raw_aio_pika(
    connection: AbstractRobustConnection, queue: str, prefetch: int, tally: Tally
) -> AsyncIterator[None]:
    """(1): a callback per message (aio-pika runs each in a task): decode, ack."""
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=prefetch)
    source = await channel.get_queue(queue, ensure=False)

    async def on_message(message: AbstractIncomingMessage) -> None:
        DECODER.decode(message.body)
        await message.ack()
        tally.tick()

    tag = await source.consume(on_message)
    try:
        yield
    finally:
        await source.cancel(tag)
        await channel.close()


@asynccontextmanager
async def faststream(url: str, queue: str, prefetch: int, tally: Tally) -> AsyncIterator[None]:
    """(2): a FastStream subscriber taking the decoded ``StockCounted`` (FastStream's msgspec
    serializer, ``fast_depends.msgspec``, instead of its default pydantic); default ack policy.

    Its per-message "Received"/"Processed" lines go to a logger at WARNING, so they cost a
    level check, not a write: the hub writes no line per message either.
    """
    quiet = logging.getLogger("bench.faststream")
    quiet.setLevel(logging.WARNING)
    broker = RabbitBroker(url, logger=quiet, serializer=MsgSpecSerializer())

    @broker.subscriber(
        RabbitQueue(
            queue,
            queue_type=QueueType.QUORUM,
            durable=True,
            arguments={"x-expires": round(QUEUE_EXPIRES * 1000)},
        ),
        channel=Channel(prefetch_count=prefetch),
    )
    async def on_stock_counted(body: StockCounted) -> None:
        tally.tick()

    async with broker:
        await broker.start()
        yield


@asynccontextmanager
async def hub_bus_layer(
    bus: AmqpBus, actor: str, prefetch: int, tally: Tally
) -> AsyncIterator[None]:
    """(3b): the hub's subscription, decode by the registry, ack; no task per delivery."""

    async def consume() -> None:
        async with bus.subscribe(actor, prefetch=prefetch) as sub:
            async for delivery in sub:
                assert delivery.envelope is not None, delivery.envelope_error
                registry.decode(delivery.envelope.type, delivery.body)
                await delivery.ack()
                tally.tick()
                if tally.done.is_set():
                    await sub.stop()

    task = asyncio.create_task(consume())
    try:
        yield
    finally:
        if not tally.done.is_set():  # the drain timed out: stop waiting for messages
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


class Sink(Actor):
    """A trivial actor: receives the message; emits nothing, or one event if ``emit``."""

    def __init__(self, tally: Tally, *, emit: bool = False) -> None:
        self.tally = tally
        self.emit = emit

    @handler
    async def counted(self, msg: StockCounted, ctx: Context) -> None:
        if self.emit:
            ctx.emit(StockRecorded(sku=msg.sku, quantity=msg.quantity))
        self.tally.tick()


class RuntimeSink(Sink, name="runtime"):
    """(3)'s actor."""


class StubbedSink(Sink, name="stubbed"):
    """(3c)'s actor."""


class _NullConnection:
    """A connection that answers the runner's inbox insert with "first delivery" and stores
    nothing; its transaction does nothing."""

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return nullcontext()

    async def fetchval(self, *args: Any) -> Any:
        return True

    async def execute(self, *args: Any) -> str:
        return ""

    async def executemany(self, *args: Any) -> None:
        return None


class NullPool:
    """Stands in for the asyncpg pool under a real ``hub.db.Database`` in (3c)."""

    def __init__(self, size: int) -> None:
        self._size = size

    def get_max_size(self) -> int:
        return self._size

    @asynccontextmanager
    async def acquire(self, **_: Any) -> AsyncIterator[_NullConnection]:
        yield _NullConnection()


@asynccontextmanager
async def runner_stub_db(
    settings: HubSettings, bus: AmqpBus, tally: Tally, *, emit: bool
) -> AsyncIterator[None]:
    """(3c): the ``ActorRunner`` as ``running`` builds it, on a ``Database`` whose pool is a
    :class:`NullPool`: the runtime's own code, PostgreSQL's work taken out."""
    runner = ActorRunner(
        StubbedSink(tally, emit=emit),
        db=Database(NullPool(settings.db_pool_max), dsn="stub", mode="stub"),
        bus=bus,
        metrics=Metrics(),
        prefetch=settings.prefetch,
        retry_delays=settings.retry_delays,
        max_redeliveries=settings.max_redeliveries,
        handler_timeout=settings.handler_timeout,
        shutdown_timeout=settings.shutdown_timeout,
    )
    task = asyncio.create_task(runner.run())
    try:
        yield
    finally:
        await runner.stop()
        await task


@asynccontextmanager
async def hub_runtime(
    settings: HubSettings, db: Database, bus: AmqpBus, tally: Tally, *, emit: bool
) -> AsyncIterator[None]:
    """(3): the hub as it runs its actors: ``running`` with one actor."""
    async with running(
        settings, db, bus, MemoryCache(), actors=[lambda _resources: RuntimeSink(tally, emit=emit)]
    ):
        yield


# --- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A line of the table: its queue and how to consume it."""

    label: str
    queue: str
    consumer: Consumer


async def prefill(bus: AmqpBus, n: int, *, keyed: bool) -> float:
    """Publish ``n`` messages (confirmed) to every bound queue; the publish rate."""
    now = datetime.now(UTC)
    started = time.perf_counter()
    for first in range(0, n, PUBLISH_WINDOW):
        batch = []
        for i in range(first, min(n, first + PUBLISH_WINDOW)):
            msg = stock_count(i, now)
            env = Envelope.new(msg, key=msg.sku if keyed else None)
            batch.append(bus.publish(env, encode(msg)))
        await asyncio.gather(*batch)
    return n / (time.perf_counter() - started)


async def queue_depths(connection: AbstractRobustConnection, queues: list[str]) -> dict[str, int]:
    """Ready messages per queue (unacknowledged ones come back when their channel closes)."""
    depths = {}
    async with connection.channel() as channel:
        for name in queues:
            queue = await channel.declare_queue(name, passive=True)
            depths[name] = queue.declaration_result.message_count or 0
    return depths


async def wait_filled(
    connection: AbstractRobustConnection, queues: list[str], n: int, within: float = 30.0
) -> None:
    """Bounded poll until every queue holds ``n`` messages."""
    deadline = time.monotonic() + within
    while True:
        depths = await queue_depths(connection, queues)
        if all(d == n for d in depths.values()):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"queues not filled with {n} messages: {depths}")
        await asyncio.sleep(0.05)


async def drain(scenario: Scenario, n: int, limit: float) -> Figures:
    """Start the consumer, wait for the ``n``-th handled message, stop it."""
    tally = Tally(n)
    async with scenario.consumer(tally):
        try:
            await asyncio.wait_for(tally.done.wait(), limit)
        except TimeoutError:
            raise RuntimeError(
                f"{scenario.label}: {tally.count} of {n} messages handled in {limit:g} s "
                "(is the broker up? see --timeout)"
            ) from None
    return figures_of(tally)


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name``."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def main(args: argparse.Namespace) -> None:
    """Create the database and queues, run the rounds, print the table, clean up."""
    admin_dsn = os.environ.get("CYPHER_DATABASE_URL")
    amqp_url = os.environ.get("CYPHER_AMQP_URL")
    if not admin_dsn or not amqp_url:
        raise SystemExit(
            "set CYPHER_DATABASE_URL to a PostgreSQL server (a database is created) and "
            "CYPHER_AMQP_URL to a RabbitMQ broker (queues are created)"
        )
    name = f"cypher_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    settings = HubSettings(
        env="development",
        database_url=Secret(with_database(admin_dsn, name)),
        amqp_url=Secret(amqp_url),
        bus_prefix=name,
        prefetch=args.prefetch,
        log_level="WARNING",
        queue_expires=QUEUE_EXPIRES,
    )
    print(
        f"actor runtime benchmark: {args.messages} messages per scenario and round, "
        f"{args.rounds} rounds (median shown), prefetch {args.prefetch}, durable quorum queues, "
        f"{'one key per message' if args.keyed else 'no message keys'}, "
        f"the hub's actor emits {'one event' if args.emit else 'nothing'}, "
        f"{len(encode(stock_count(0, datetime.now(UTC))))}-byte bodies, {os.cpu_count()} CPUs",
        flush=True,
    )
    try:
        async with AsyncExitStack() as stack:
            db = await stack.enter_async_context(open_db(settings))
            bus = await stack.enter_async_context(open_bus(settings))
            assert isinstance(bus, AmqpBus)
            connection = await aio_pika.connect_robust(amqp_url)
            stack.push_async_callback(connection.close)
            stack.push_async_callback(cleanup, connection, bus, name)
            await run(args, settings, db, bus, connection, amqp_url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def cleanup(connection: AbstractRobustConnection, bus: AmqpBus, prefix: str) -> None:
    """Delete the plain consumers' queues, then the hub's queues and exchange."""
    try:
        async with asyncio.timeout(30):
            async with connection.channel() as channel:
                for queue in (f"{prefix}.raw", f"{prefix}.faststream"):
                    await channel.queue_delete(queue)
            await bus.delete_topology(list(bus.declared))
    except Exception as exc:  # a broker gone away must not keep the database from being dropped
        print(
            f"  warning: queues not deleted ({exc!r}); unused, they expire after "
            f"{QUEUE_EXPIRES:g} s",
            flush=True,
        )


async def run(
    args: argparse.Namespace,
    settings: HubSettings,
    db: Database,
    bus: AmqpBus,
    connection: AbstractRobustConnection,
    amqp_url: str,
) -> None:
    """Declare the queues, then the interleaved rounds; print and write the figures."""
    prefix, prefetch = settings.bus_prefix, settings.prefetch
    types = [str(StockCounted.__struct_config__.tag)]
    async with connection.channel() as channel:
        for plain in ("raw", "faststream"):
            queue = await channel.declare_queue(
                f"{prefix}.{plain}",
                durable=True,
                arguments={"x-queue-type": "quorum", "x-expires": round(QUEUE_EXPIRES * 1000)},
            )
            await queue.bind(bus.exchange_name, routing_key=types[0])
    for actor in ("runtime", "stubbed", "bus-layer"):
        await bus.declare(actor, types)
    scenarios = [
        Scenario(
            "(1) raw aio-pika",
            f"{prefix}.raw",
            lambda t: raw_aio_pika(connection, f"{prefix}.raw", prefetch, t),
        ),
        Scenario(
            "(2) FastStream",
            f"{prefix}.faststream",
            lambda t: faststream(amqp_url, f"{prefix}.faststream", prefetch, t),
        ),
        Scenario(
            "(3) hub runtime, inbox+outbox",
            bus.queue_name("runtime"),
            lambda t: hub_runtime(settings, db, bus, t, emit=args.emit),
        ),
        Scenario(
            "(3b) hub bus layer, no DB",
            bus.queue_name("bus-layer"),
            lambda t: hub_bus_layer(bus, "bus-layer", prefetch, t),
        ),
        Scenario(
            "(3c) runner, stub DB (diag.)",
            bus.queue_name("stubbed"),
            lambda t: runner_stub_db(settings, bus, t, emit=args.emit),
        ),
    ]
    queues = [s.queue for s in scenarios]
    results: dict[str, list[Figures]] = {s.label: [] for s in scenarios}
    for round_no in range(args.rounds):
        leftovers = {q: d for q, d in (await queue_depths(connection, queues)).items() if d}
        if leftovers:
            print(f"  warning: messages left from the last round, purged: {leftovers}", flush=True)
            async with connection.channel() as channel:
                for queue in leftovers:
                    await channel.queue_purge(queue)
        rate = await prefill(bus, args.messages, keyed=args.keyed)
        await wait_filled(connection, queues, args.messages)
        print(
            f"  round {round_no + 1}: {args.messages} messages published to {len(queues)} "
            f"queues at {rate:.0f}/s",
            flush=True,
        )
        # Interleaved, in a rotating order: a noisy neighbour or a warm cache favours no one.
        order = scenarios[round_no % len(scenarios) :] + scenarios[: round_no % len(scenarios)]
        for scenario in order:
            figures = await drain(scenario, args.messages, args.timeout)
            results[scenario.label].append(figures)
            print(
                f"  round {round_no + 1}: {scenario.label:30} {figures.rate:7.0f} {UNIT}"
                f"  (CPU {figures.cpu_per_message * 1e6:4.0f} µs/msg, "
                f"{figures.cpu:4.0%} of a core)",
                flush=True,
            )
        async with db.pool.acquire() as conn:
            handled = await conn.fetchval("SELECT count(*) FROM hub_inbox WHERE actor = 'runtime'")
            await conn.execute("TRUNCATE hub_inbox, hub_outbox")
        if handled != args.messages:
            print(f"  warning: {handled} inbox rows for {args.messages} messages", flush=True)
    left = {q: d for q, d in (await queue_depths(connection, queues)).items() if d}
    if left:
        print(f"  warning: messages left unacknowledged: {left}", flush=True)
    medians = {label: median_of(runs) for label, runs in results.items()}
    print_table(results, medians)
    write_summary(args.summary, summary_rows(medians, args))


def median_of(runs: list[Figures]) -> Figures:
    """The round with the median rate."""
    ordered = sorted(runs, key=lambda f: f.rate)
    return ordered[(len(ordered) - 1) // 2]


def print_table(results: dict[str, list[Figures]], medians: dict[str, Figures]) -> None:
    """The median round of each scenario, the spread over rounds, then the ratios."""
    print()
    print(
        f"{'scenario':32} {UNIT:>11} {'rounds':>11} {'CPU/msg':>9} {'bench CPU':>10} "
        f"{'machine CPU':>12}"
    )
    for label, f in medians.items():
        rates = [r.rate for r in results[label]]
        spread = f"{min(rates):.0f}-{max(rates):.0f}"
        machine = f"{f.machine:.0%}" if f.machine is not None else "n/a"
        print(
            f"{label:32} {f.rate:11.0f} {spread:>11} {f.cpu_per_message * 1e6:6.0f} µs "
            f"{f.cpu:10.0%} {machine:>12}"
        )
    raw, fs, hub, bus, stub = list(medians)

    def ratio(a: str, b: str, goal: float | None = None) -> str:
        by_rate = medians[a].rate / medians[b].rate
        by_cpu = medians[b].cpu_per_message / medians[a].cpu_per_message
        # Both ran in the same round, a few seconds apart: the fairest pairs on a busy machine.
        rounds = ", ".join(
            f"{x.rate / y.rate:.2f}" for x, y in zip(results[a], results[b], strict=True)
        )
        verdict = (
            "" if goal is None else f"; goal ≥ {goal:g}: {'met' if by_rate >= goal else 'NOT met'}"
        )
        return f"{by_rate:5.2f}  (by CPU/msg {by_cpu:4.2f}; round by round {rounds}{verdict})"

    print()
    print(f"(3b)/(1) hub bus layer / raw aio-pika:       {ratio(bus, raw, 0.8)}")
    print(f"(3)/(2)  hub runtime / FastStream:            {ratio(hub, fs, 1.0)}")
    print(f"(3b)/(2) hub bus layer / FastStream:          {ratio(bus, fs)}")
    print(f"(3c)/(1) runner on a stub DB / raw aio-pika:  {ratio(stub, raw)}")
    print(f"(3)/(3c) runtime / runner on a stub DB:       {ratio(hub, stub)}")
    print(
        "CPU/msg: this process's CPU time per message (consumer, and PostgreSQL's client side); "
        "bench CPU: the same as a share of one core; machine CPU: every process (broker, "
        f"PostgreSQL, anything else running) out of {(os.cpu_count() or 1) * 100} %"
    )


def summary_rows(medians: dict[str, Figures], args: argparse.Namespace) -> list[Row]:
    """The headline rows for ``bench/run.py``."""
    raw, fs, hub, bus, _ = medians.values()
    detail = f"{args.messages} msgs, prefetch {args.prefetch}, quorum queue"

    def cpu(f: Figures) -> str:
        return f"{f.cpu_per_message * 1e6:.0f} µs CPU/msg"

    return [
        Row(BENCH, "(1) raw aio-pika consumer", raw.rate, UNIT, detail=f"{detail}; {cpu(raw)}"),
        Row.compared(
            BENCH,
            "(2) FastStream subscriber",
            fs.rate,
            UNIT,
            reference="(1) raw aio-pika",
            reference_value=raw.rate,
            detail=f"{detail}; {cpu(fs)}",
        ),
        Row.compared(
            BENCH,
            "(3b) hub bus layer, no DB (AmqpBus subscribe + ack)",
            bus.rate,
            UNIT,
            reference="(1) raw aio-pika",
            reference_value=raw.rate,
            goal=0.8,
            detail=f"the runtime cannot run without PostgreSQL: its transport alone; {cpu(bus)}",
        ),
        Row.compared(
            BENCH,
            "(3) hub runtime, inbox+outbox",
            hub.rate,
            UNIT,
            reference="(2) FastStream",
            reference_value=fs.rate,
            goal=1.0,
            detail=(
                "one PostgreSQL transaction per message, commit then ack"
                f"{', one event emitted each' if args.emit else ''}; {cpu(hub)}"
            ),
        ),
    ]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--messages", type=int, default=3000, help="pre-filled per scenario and round")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is shown")
    p.add_argument("--prefetch", type=int, default=64, help="for every consumer")
    p.add_argument("--keyed", action="store_true", help="give each message a key of its own")
    p.add_argument("--emit", action="store_true", help="the hub's actor emits one event each")
    p.add_argument("--timeout", type=float, default=60.0, help="per drain, in seconds")
    p.add_argument("--summary", metavar="FILE", help="write the headline rows there (JSON)")
    return p


async def until_terminated(args: argparse.Namespace) -> None:
    """:func:`main`, cancelled (so it cleans up) on SIGTERM as on Ctrl-C."""
    task = asyncio.current_task()
    assert task is not None
    with suppress(NotImplementedError):  # no signal handlers on Windows
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    await main(args)


if __name__ == "__main__":
    try:
        asyncio.run(until_terminated(_parser().parse_args()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted (the database and the queues were removed)", file=sys.stderr)
        raise SystemExit(130) from None

"""Webhook intake benchmark: signed WooCommerce ``order.created`` deliveries against the edge.

Measures, in one run on one machine, deliveries/s and p50/p99 latency of:

  (a) bound      a bare aiohttp app that reads the body, checks the WooCommerce HMAC and
                 msgspec-decodes the JSON, answering 200 (no database);
  (b) per-request  the full edge, ``intake_group_commit=false``: one transaction per delivery;
  (c) group      the full edge with group commit.

The load generator is another process (this file with ``--load``): an aiohttp client with N
keep-alive connections on loopback, each sending unique, realistically sized (~4 KB) signed
orders back to back. The edge runs in this process with its real runtime (pool, outbox relay,
memory bus). Figures only: nothing here asserts a timing.

    CYPHER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/webhook_intake.py [--connections 64] [--duration 8]

A database ``cypher_bench_<random>`` is created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import msgspec  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.common import Row, write_summary  # noqa: E402

SECRET = "bench-webhook-secret"
PATH = "/webhooks/woocommerce"
SENTINEL = "987654321"  # replaced by each order's id wherever it occurs


# --- the load generator (runs in its own process) -----------------------------------------------


def order_template(lines: int = 9) -> bytes:
    """A WooCommerce ``GET /wc/v3/orders/<id>`` body of about 4 KB with a placeholder id."""
    order = {
        "id": int(SENTINEL),
        "parent_id": 0,
        "number": SENTINEL,
        "order_key": f"wc_order_{SENTINEL}",
        "created_via": "checkout",
        "version": "9.4.0",
        "status": "processing",
        "currency": "RON",
        "date_created_gmt": "2026-11-20T10:14:58",
        "date_modified_gmt": "2026-11-20T10:15:00",
        "discount_total": "0.00",
        "shipping_total": "19.99",
        "total": "1249.50",
        "total_tax": "216.85",
        "prices_include_tax": True,
        "customer_id": 311,
        "customer_note": "Vă rog livrare după ora 17.",
        "billing": {
            "first_name": "Ioana",
            "last_name": "Popescu",
            "company": "Lumina Decor SRL",
            "address_1": "Str. Lalelelor 12",
            "address_2": "Bl. A2, Ap. 14",
            "city": "Cluj-Napoca",
            "state": "CJ",
            "postcode": "400000",
            "country": "RO",
            "email": "ioana.popescu@example.ro",
            "phone": "+40740000000",
        },
        "shipping": {
            "first_name": "Ioana",
            "last_name": "Popescu",
            "address_1": "Str. Lalelelor 12",
            "city": "Cluj-Napoca",
            "state": "CJ",
            "postcode": "400000",
            "country": "RO",
        },
        "payment_method": "netopiapayments",
        "payment_method_title": "Card online (Netopia)",
        "transaction_id": f"NTP-{SENTINEL}",
        "line_items": [
            {
                "id": 10 * n + 1,
                "name": f"Bandă LED 5050 RGB {n + 1} m, 14.4 W/m, IP65",
                "product_id": 4100 + n,
                "variation_id": 0,
                "quantity": n + 1,
                "tax_class": "",
                "subtotal": "105.04",
                "subtotal_tax": "22.06",
                "total": "105.04",
                "total_tax": "22.06",
                "taxes": [{"id": 1, "total": "22.06", "subtotal": "22.06"}],
                "meta_data": [{"id": 90 + n, "key": "culoare", "value": "RGB"}],
                "sku": f"LED-5050-RGB-{n + 1}M",
                "price": 105.04,
            }
            for n in range(lines)
        ],
        "tax_lines": [{"id": 5, "rate_code": "RO-TVA-1", "label": "TVA", "tax_total": "216.85"}],
        "shipping_lines": [{"id": 6, "method_title": "Curier rapid", "total": "19.99"}],
        "meta_data": [{"id": 1, "key": "_billing_cui", "value": "RO4221306"}],
    }
    return json.dumps(order).encode()


@dataclass
class LoadResult:
    """What the generator measured in its window."""

    completed: int
    errors: int
    statuses: dict[str, int]
    latencies_ms: list[float]
    seconds: float
    cpu_seconds: float
    body_bytes: int
    accepted_total: int  # every 200, warm-up and tail included


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time; reads status and body.

    A hand-written client: aiohttp's own client costs about as much CPU per request as the
    bare server does, and would make the generator, not the server, the bound.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._parse()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the server"))

    def _parse(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        length = int(head[at + 17 : head.find(b"\r\n", at + 2) % (len(head) + 1)]) if at >= 0 else 0
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        self.waiter.set_result(int(head[9:12]))

    async def request(self, data: bytes) -> int:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


async def load(url: str, connections: int, warmup: float, duration: float, first_id: int) -> None:
    """Drive ``url`` with ``connections`` workers; print a ``LoadResult`` as JSON."""
    target = urlsplit(url)
    host, port = target.hostname or "127.0.0.1", target.port or 80
    template = order_template()
    key = SECRET.encode()
    head = (
        f"POST {target.path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/json\r\nUser-Agent: WooCommerce/9.4.0 Hookshot (bench)\r\n"
        "X-WC-Webhook-Topic: order.created\r\nX-WC-Webhook-Resource: order\r\n"
        "X-WC-Webhook-Event: created\r\nX-WC-Webhook-ID: 17\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    next_id = first_id
    now = loop.time()
    window_start, window_end = now + warmup, now + warmup + duration
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = accepted_total = 0

    async def worker() -> None:
        nonlocal next_id, errors, accepted_total
        conn: _Connection | None = None
        while loop.time() < window_end:
            order_id = next_id
            next_id += 1
            body = template.replace(SENTINEL.encode(), str(order_id).encode())
            signature = base64.b64encode(hmac.new(key, body, hashlib.sha256).digest())
            request = b"".join(
                (
                    head,
                    b"X-WC-Webhook-Delivery-ID: %x\r\n" % order_id,
                    b"X-WC-Webhook-Signature: ",
                    signature,
                    b"\r\nContent-Length: %d\r\n\r\n" % len(body),
                    body,
                )
            )
            started = loop.time()
            try:
                if conn is None or conn.transport is None or conn.transport.is_closing():
                    _, conn = await loop.create_connection(_Connection, host, port)
                status = await asyncio.wait_for(conn.request(request), 60)
            except (OSError, TimeoutError):
                status, conn = 0, None
            done = loop.time()
            accepted_total += status == 200
            if window_start <= done <= window_end:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status == 200:
                    latencies.append((done - started) * 1000)
                else:
                    errors += 1
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    async def cpu_at_window_start() -> float:
        await asyncio.sleep(max(0.0, window_start - loop.time()))
        return time.process_time()

    marker = asyncio.create_task(cpu_at_window_start())
    await asyncio.gather(*(worker() for _ in range(connections)))
    cpu = time.process_time() - await marker
    result = LoadResult(
        completed=len(latencies),
        errors=errors,
        statuses=statuses,
        latencies_ms=latencies,
        seconds=duration,
        cpu_seconds=cpu,
        body_bytes=len(template),
        accepted_total=accepted_total,
    )
    print(msgspec.json.encode(result).decode())


# --- the servers under test (this process) ------------------------------------------------------


def bound_app(max_body: int) -> web.Application:
    """(a): read, verify, decode, answer: the most any intake could do per request here."""
    from connectors.woocommerce.webhooks import verifier
    from hub.edge.webhooks import SignatureError, read_body

    verify = verifier(SECRET)
    ok = msgspec.json.encode({"success": True, "data": {"status": "accepted"}})

    async def receive(request: web.Request) -> web.Response:
        body = await read_body(request, max_body)
        try:
            verify(request.headers, body)
        except SignatureError:
            return web.Response(status=401)
        msgspec.json.decode(body)
        return web.Response(body=ok, content_type="application/json")

    app = web.Application()
    app.router.add_post(PATH, receive)
    return app


def edge_app(dsn: str, data_dir: str, *, group_commit: bool) -> web.Application:
    """(b) and (c): the real edge with the WooCommerce source."""
    from connectors.woocommerce import webhooks as woocommerce
    from connectors.woocommerce.settings import WooCommerceSettings
    from hub.edge.app import create_app
    from hub.settings import HubSettings, Secret

    settings = HubSettings(
        env="development",
        database_url=Secret(dsn),
        data_dir=data_dir,
        log_level="WARNING",
        intake_group_commit=group_commit,
    )
    config = WooCommerceSettings(webhook_secret=Secret(SECRET))
    return create_app(settings, webhooks=[lambda s: woocommerce.source(s, config=config)])


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yield its webhook URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}{PATH}"
    finally:
        await runner.cleanup()


@dataclass
class Figures:
    """One scenario's line in the table."""

    name: str
    rate: float
    p50: float
    p99: float
    errors: int
    server_cpu: float
    generator_cpu: float
    note: str = ""


async def run_scenario(
    name: str,
    app: web.Application,
    args: argparse.Namespace,
    first_id: int,
    after: Callable[[web.Application, LoadResult], Any] | None = None,
) -> Figures:
    """Serve ``app``, drive it from a generator process, summarise what it measured."""
    async with serving(app) as url:
        cpu0 = time.process_time()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--load",
            url,
            "--connections",
            str(args.connections),
            "--warmup",
            str(args.warmup),
            "--duration",
            str(args.duration),
            "--first-id",
            str(first_id),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await proc.communicate()
        wall = args.warmup + args.duration
        server_cpu = (time.process_time() - cpu0) / wall
        if proc.returncode != 0:
            raise RuntimeError(f"load generator failed ({proc.returncode})")
        result = msgspec.json.decode(out.splitlines()[-1], type=LoadResult)
        note = await after(app, result) if after is not None else ""
    lat = sorted(result.latencies_ms)
    return Figures(
        name=name,
        rate=result.completed / result.seconds,
        p50=statistics.median(lat) if lat else float("nan"),
        p99=lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan"),
        errors=result.errors,
        server_cpu=server_cpu,
        generator_cpu=result.cpu_seconds / result.seconds,
        note=note,
    )


async def edge_check(app: web.Application, result: LoadResult) -> str:
    """Every 200 has its row (and outbox row); how big the group commits were."""
    from hub.edge.keys import HUB

    hub = app[HUB]
    registry = hub.metrics.registry
    transactions = registry.get_sample_value("hub_webhook_intake_batch_size_count") or 0.0
    written = registry.get_sample_value("hub_webhook_intake_batch_size_sum") or 0.0
    commit_time = registry.get_sample_value("hub_webhook_intake_commit_seconds_sum") or 0.0
    async with hub.db.pool.acquire() as conn:
        rows = await conn.fetchval("SELECT count(*) FROM webhook_deliveries")
        pending = await conn.fetchval("SELECT count(*) FROM hub_outbox WHERE published_at IS NULL")
        await conn.execute("TRUNCATE webhook_deliveries, hub_outbox")
    mean = written / transactions if transactions else 0.0
    per_tx = 1000 * commit_time / transactions if transactions else 0.0
    durable = "yes" if rows == result.accepted_total else f"NO ({result.accepted_total} answered)"
    return (
        f"{rows} rows stored for {result.accepted_total} answers 200 (equal: {durable}); "
        f"{int(transactions)} transactions, {mean:.1f} deliveries each, {per_tx:.1f} ms each "
        f"(with the wait for a pooled connection); {pending} outbox rows not yet relayed"
    )


def with_database(dsn: str, name: str) -> str:
    """``dsn`` pointing at database ``name``."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def main(args: argparse.Namespace) -> None:
    """Create the database, run the three scenarios, print the table, drop the database."""
    admin_dsn = os.environ.get("CYPHER_DATABASE_URL")
    if not admin_dsn:
        raise SystemExit("set CYPHER_DATABASE_URL to a PostgreSQL server (a database is created)")
    name = f"cypher_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = with_database(admin_dsn, name)
    size = len(order_template())
    print(
        f"webhook intake benchmark: {args.connections} connections, {args.warmup:g} s warm-up + "
        f"{args.duration:g} s measured per scenario and round, {args.rounds} rounds (median "
        f"shown), {size} B signed order.created bodies, "
        f"{os.cpu_count()} CPUs; generator in its own process",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            scenarios: list[tuple[str, Callable[[], web.Application], Any]] = [
                ("(a) bound: HMAC + decode", lambda: bound_app(2_097_152), None),
                (
                    "(b) edge, commit per request",
                    lambda: edge_app(dsn, data_dir, group_commit=False),
                    edge_check,
                ),
                (
                    "(c) edge, group commit",
                    lambda: edge_app(dsn, data_dir, group_commit=True),
                    edge_check,
                ),
            ]
            rounds: list[list[Figures]] = [[] for _ in scenarios]
            first_id = 10**7
            # Interleaved rounds: a noisy neighbour hurts every scenario alike, not just one.
            for round_no in range(1, args.rounds + 1):
                for runs, (label, build, check) in zip(rounds, scenarios, strict=True):
                    first_id += 10**7
                    figures = await run_scenario(label, build(), args, first_id, check)
                    runs.append(figures)
                    print(
                        f"  round {round_no}: {label:30} {figures.rate:7.0f} deliveries/s",
                        flush=True,
                    )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    medians = [median_of(runs) for runs in rounds]
    print_table(medians)
    write_summary(args.summary, summary_rows(medians))


def summary_rows(figures: list[Figures]) -> list[Row]:
    """The table's headline rows for bench/run.py: (a), then (c) against (a) and (b)."""
    a, b, c = figures
    bench = "webhook intake"

    def detail(f: Figures) -> str:
        return f"p50 {f.p50:.1f} ms, p99 {f.p99:.1f} ms"

    return [
        Row(bench, "(a) bound: HMAC + decode", a.rate, "deliveries/s", detail=detail(a)),
        Row(bench, "(b) edge, commit per request", b.rate, "deliveries/s", detail=detail(b)),
        Row.compared(
            bench,
            "(c) edge, group commit",
            c.rate,
            "deliveries/s",
            reference="(a) bound",
            reference_value=a.rate,
            goal=0.6,
            detail=detail(c),
        ),
        Row.compared(
            bench,
            "(c) edge, group commit",
            c.rate,
            "deliveries/s",
            reference="(b) commit per request",
            reference_value=b.rate,
            goal=2.0,
        ),
    ]


def median_of(runs: list[Figures]) -> Figures:
    """The round with the median rate (its latencies and notes come with it)."""
    ordered = sorted(runs, key=lambda f: f.rate)
    return ordered[(len(ordered) - 1) // 2]


def print_table(figures: list[Figures]) -> None:
    """The figures, then the ratios c/a and c/b."""
    print()
    print(
        f"{'scenario':32} {'deliv/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'server CPU':>10} {'gen CPU':>8}"
    )
    for f in figures:
        print(
            f"{f.name:32} {f.rate:9.0f} {f.p50:8.2f} {f.p99:8.2f} {f.errors:7d} "
            f"{f.server_cpu:10.0%} {f.generator_cpu:8.0%}"
        )
    for f in figures:
        if f.note:
            print(f"  {f.name}: {f.note}")
    a, b, c = figures
    print()
    print(f"c/a (group commit vs the HMAC + decode bound): {c.rate / a.rate:.2f}")
    print(f"c/b (group commit vs one commit per request):  {c.rate / b.rate:.2f}")
    if max(f.generator_cpu for f in figures) > 0.9:
        print(
            "note: the generator used >90% of a CPU in some scenario: there the figure is a "
            "lower bound of what the server could take"
        )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the median is shown")
    p.add_argument("--summary", help="write the headline rows here (bench/run.py)")
    p.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--first-id", type=int, default=1, help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    arguments = _parser().parse_args()
    if arguments.load:
        asyncio.run(
            load(
                arguments.load,
                arguments.connections,
                arguments.warmup,
                arguments.duration,
                arguments.first_id,
            )
        )
    else:
        asyncio.run(main(arguments))

"""Quote benchmark: ``POST /api/v1/prices/quote`` with 20-line carts through the real edge.

Measures quotes/s and p50/p99 latency, in one run on one machine, of:

  reference  the pure domain (``price_cart`` of a 20-line cart, sheets in memory), one core,
             in this process: the most any quote could do here without HTTP, auth and audit;
  warm       the edge with the price cache: every sheet in the process cache (L1);
  shared     the process cache off (``cache_local_max = 0``): 20 gets from the hub cache
             (Redis when ``CYPHER_REDIS_URL`` is set, else the in-process memory cache);
  cold       no cache (``cache_ttl = 0``): every quote reads its sheets with one SQL query;
  edge floor 1-line carts, warm: what the edge costs per quote (authentication, rate limit,
             body, audit entry, answer) with almost no pricing in it.

Every quote is a POST and so writes its audit-trail entry (one INSERT + commit), as every
``/api/v1`` POST does. The load generator is another process (this file with ``--load``):
``--clients`` concurrent aiohttp client tasks on loopback, each sending carts of 20 distinct
random SKUs (of ``--skus``) with random quantities, back to back. Figures only.

    CYPHER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    [CYPHER_REDIS_URL=redis://127.0.0.1:6379/0] \\
        .venv/bin/python bench/price_quote.py [--clients 32] [--duration 5]

A database ``cypher_bench_<random>`` is created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
import msgspec  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.common import Row, write_summary  # noqa: E402

CART_LINES = 20
PATH = "/api/v1/prices/quote"
JWT = "bench-signing-key-0123456789-abcdefghijklmnop"


# --- the load generator (its own process) -------------------------------------------------------


@dataclass
class LoadResult:
    """What the generator measured in its window."""

    completed: int
    errors: int
    statuses: dict[str, int]
    latencies_ms: list[float]
    seconds: float
    cpu_seconds: float


def sku_name(n: int) -> str:
    return f"SKU-{n:06d}"


async def load(
    url: str, token: str, skus: int, clients: int, warmup: float, duration: float, size: int
) -> None:
    """Drive ``url`` with ``clients`` tasks for warm-up + duration; print a LoadResult."""
    rng = random.Random(11)
    loop = asyncio.get_running_loop()
    now = loop.time()
    start, end = now + warmup, now + warmup + duration
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def cart() -> bytes:
        picked = rng.sample(range(skus), size)
        lines = [{"sku": sku_name(n), "quantity": str(rng.randint(1, 120))} for n in picked]
        return json.dumps({"tier": rng.randint(0, 3), "lines": lines}).encode()

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        while loop.time() < end:
            body = cart()
            began = loop.time()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.read()
                    status = resp.status
            except aiohttp.ClientError:
                status = 0
            done = loop.time()
            if start <= done <= end:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if status == 200:
                    latencies.append((done - began) * 1000)
                else:
                    errors += 1

    async def cpu_at_start() -> float:
        await asyncio.sleep(max(0.0, start - loop.time()))
        return time.process_time()

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        marker = asyncio.create_task(cpu_at_start())
        await asyncio.gather(*(client(session) for _ in range(clients)))
        cpu = time.process_time() - await marker
    result = LoadResult(len(latencies), errors, statuses, latencies, duration, cpu)
    print(msgspec.json.encode(result).decode())


# --- the server (this process) ------------------------------------------------------------------


async def prepare(dsn: str, skus: int) -> None:
    """Price inputs for ``skus`` products in 50 categories, ladders and promotions."""
    from actors.pricing import rules_store, store
    from actors.pricing.domain import business_date
    from actors.pricing.rules import PriceInput
    from hub.migrate import migrate

    rng = random.Random(5)
    today = business_date(datetime.now(UTC))
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn, ROOT / "migrations")
        inputs = [
            PriceInput(
                sku=sku_name(n),
                version=1,
                category=f"cat-{n % 50:02d}",
                unit="piece",
                cost=Decimal(rng.randint(100, 60_000)) / 100,
                margin=Decimal(rng.randint(20, 60)) / 100,
                status="active",
            )
            for n in range(skus)
        ]
        await store.apply_inputs(conn, inputs)
        for c in range(0, 50, 2):
            for at, discount in (("10", "0.05"), ("50", "0.08"), ("100", "0.12")):
                await rules_store.create(
                    conn,
                    rules_store.VOLUME_BREAKS,
                    {
                        "scope": "category",
                        "target": f"cat-{c:02d}",
                        "min_quantity": Decimal(at),
                        "discount": Decimal(discount),
                    },
                )
        for c in range(0, 50, 5):
            await rules_store.create(
                conn,
                rules_store.PROMOTIONS,
                {
                    "name": "bench",
                    "scope": "category",
                    "target": f"cat-{c:02d}",
                    "kind": "percent",
                    "value": Decimal("0.15"),
                    "valid_from": today,
                    "valid_to": today + timedelta(days=3),
                },
            )
    finally:
        await conn.close()


async def make_token(dsn: str, settings: object) -> str:
    from hub.auth import Principal, Role, TokenService, create_user

    conn = await asyncpg.connect(dsn)
    try:
        user, _ = await create_user(
            conn, email="bench@ledux.ro", role=Role.sales, password="correct horse battery staple"
        )
    finally:
        await conn.close()
    principal = Principal(kind="user", id=user.id, name=user.email, roles=frozenset({Role.sales}))
    return TokenService.from_settings(settings).issue_access(principal)  # type: ignore[arg-type]


def reference(skus: int, seconds: float = 2.0) -> tuple[float, float, float]:
    """The pure domain on the same kind of carts: quotes/s, p50 and p99 ms, one core."""
    from actors.pricing import domain
    from actors.pricing.messages import CartLine
    from actors.pricing.rules import PriceInput, PriceSheet, RuleBook, VolumeBreak

    rng = random.Random(3)
    breaks = [
        VolumeBreak(
            id=i,
            scope="category",
            target=f"cat-{i % 50:02d}",
            min_quantity=Decimal(10 * (i % 3 + 1)),
            discount=Decimal("0.05"),
        )
        for i in range(0, 75)
    ]
    book = RuleBook(breaks, [], [], Decimal("0.10"))
    sheets: dict[str, PriceSheet] = {
        sku_name(n): book.sheet(
            PriceInput(
                sku=sku_name(n),
                version=1,
                category=f"cat-{n % 50:02d}",
                unit="piece",
                cost=Decimal(rng.randint(100, 60_000)) / 100,
                margin=Decimal(rng.randint(20, 60)) / 100,
                status="active",
            )
        )
        for n in range(skus)
    }
    today = domain.business_date(datetime.now(UTC))
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        lines = [
            CartLine(sku=sku_name(n), quantity=Decimal(rng.randint(1, 120)))
            for n in rng.sample(range(skus), CART_LINES)
        ]
        began = time.perf_counter()
        domain.price_cart(sheets, rng.randint(0, 3), lines, today)
        latencies.append((time.perf_counter() - began) * 1000)
    latencies.sort()
    return len(latencies) / seconds, statistics.median(latencies), p99(latencies)


def p99(ordered: list[float]) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


@asynccontextmanager
async def serving(
    dsn: str, data_dir: str, redis: str | None
) -> AsyncIterator[tuple[str, web.Application]]:
    """The edge with the pricing routes on a free loopback port."""
    from actors.pricing.api import api
    from hub.edge.app import create_app
    from hub.settings import HubSettings, Secret

    settings = HubSettings(
        env="development",
        database_url=Secret(dsn),
        redis_url=Secret(redis) if redis else None,
        bus_prefix=f"bench{secrets.token_hex(3)}",
        data_dir=data_dir,
        log_level="WARNING",
        jwt_secret=Secret(JWT),
        rate_limit_per_minute=10_000_000,
        rate_limit_burst=1_000_000,
    )
    app = create_app(settings, apis=[api])
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}{PATH}", app
    finally:
        await runner.cleanup()


@dataclass
class Figures:
    name: str
    rate: float
    p50: float
    p99: float
    errors: int
    server_cpu: float
    generator_cpu: float
    note: str = ""


async def scenario(
    name: str,
    app: web.Application,
    url: str,
    token: str,
    args: argparse.Namespace,
    lines: int = CART_LINES,
    **pricing: float,
) -> Figures:
    from actors.pricing.runtime import configure
    from actors.pricing.settings import PricingSettings
    from hub.edge.keys import HUB

    rt = configure(app, PricingSettings(**pricing), app[HUB].db)  # type: ignore[arg-type]
    cpu0 = time.process_time()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--load",
        url,
        "--token",
        token,
        "--skus",
        str(args.skus),
        "--clients",
        str(args.clients),
        "--warmup",
        str(args.warmup),
        "--duration",
        str(args.duration),
        "--lines",
        str(lines),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    server_cpu = (time.process_time() - cpu0) / (args.warmup + args.duration)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode})")
    result = msgspec.json.decode(out.splitlines()[-1], type=LoadResult)
    lat = sorted(result.latencies_ms)
    cache = rt.cache
    looked = cache.hits + cache.shared_hits + cache.misses
    note = (
        f"sheets: {cache.hits / looked:.0%} process cache, {cache.shared_hits / looked:.0%} "
        f"shared cache, {cache.misses / looked:.0%} PostgreSQL; statuses {result.statuses}"
        if looked
        else f"statuses {result.statuses}"
    )
    return Figures(
        name,
        result.completed / result.seconds,
        statistics.median(lat) if lat else float("nan"),
        p99(lat),
        result.errors,
        server_cpu,
        result.cpu_seconds / result.seconds,
        note,
    )


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("CYPHER_DATABASE_URL")
    if not admin_dsn:
        raise SystemExit("set CYPHER_DATABASE_URL to a PostgreSQL server (a database is created)")
    redis = os.environ.get("CYPHER_REDIS_URL")
    logging.basicConfig(level=logging.WARNING)
    name = f"cypher_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}"))
    print(
        f"quote benchmark: {CART_LINES}-line carts over {args.skus} SKUs, {args.clients} "
        f"concurrent clients, {args.warmup:g} s warm-up + {args.duration:g} s measured per "
        f"scenario, {os.cpu_count()} CPUs, hub cache: {'Redis' if redis else 'memory'}; "
        "generator in its own process",
        flush=True,
    )
    figures: list[Figures] = []
    try:
        await prepare(dsn, args.skus)
        rate, p50, p99_ = reference(args.skus)
        figures.append(Figures("reference: domain only", rate, p50, p99_, 0, 1.0, 0.0))
        with tempfile.TemporaryDirectory() as data_dir:
            async with serving(dsn, data_dir, redis) as (url, app):
                from hub.edge.keys import SETTINGS

                token = await make_token(dsn, app[SETTINGS])
                runs: list[tuple[str, int, dict[str, float]]] = [
                    ("warm: process cache", CART_LINES, {}),
                    ("shared cache only", CART_LINES, {"cache_local_max": 0}),
                    ("cold: no cache (SQL)", CART_LINES, {"cache_ttl": 0}),
                    ("edge floor: 1-line, warm", 1, {}),
                ]
                for label, size, pricing in runs:
                    figures.append(await scenario(label, app, url, token, args, size, **pricing))
                    print(f"  {label:24} {figures[-1].rate:7.0f} quotes/s", flush=True)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print()
    print(
        f"{'scenario':26} {'quotes/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'server CPU':>10} {'gen CPU':>8}"
    )
    for f in figures:
        print(
            f"{f.name:26} {f.rate:9.0f} {f.p50:8.2f} {f.p99:8.2f} {f.errors:7d} "
            f"{f.server_cpu:10.0%} {f.generator_cpu:8.0%}"
        )
    for f in figures:
        if f.note:
            print(f"  {f.name}: {f.note}")
    warm, cold = figures[1], figures[3]
    ratio = warm.rate / figures[0].rate
    print(f"\nwarm/cold: {warm.rate / cold.rate:.2f}; warm/reference: {ratio:.2f}")
    bench = f"pricing: {CART_LINES}-line quotes"

    def detail(f: Figures) -> str:
        return f"p50 {f.p50:.1f} ms, p99 {f.p99:.1f} ms"

    write_summary(
        args.summary,
        [
            Row(bench, "reference: domain only", figures[0].rate, "quotes/s"),
            Row.compared(
                bench,
                "API, cache warm",
                warm.rate,
                "quotes/s",
                reference="domain only",
                reference_value=figures[0].rate,
                detail=detail(warm),
            ),
            Row.compared(
                bench,
                "API, cache cold (SQL)",
                cold.rate,
                "quotes/s",
                reference="cache warm",
                reference_value=warm.rate,
                detail=detail(cold),
            ),
        ],
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--skus", type=int, default=5_000)
    p.add_argument("--clients", type=int, default=32)
    p.add_argument("--warmup", type=float, default=1.5)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--summary", help="write the headline rows here (bench/run.py)")
    p.add_argument("--load", metavar="URL", help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument("--lines", type=int, default=CART_LINES, help=argparse.SUPPRESS)
    return p


if __name__ == "__main__":
    arguments = _parser().parse_args()
    if arguments.load:
        asyncio.run(
            load(
                arguments.load,
                arguments.token,
                arguments.skus,
                arguments.clients,
                arguments.warmup,
                arguments.duration,
                arguments.lines,
            )
        )
    else:
        asyncio.run(main(arguments))

"""Catalog import/export benchmark: a large CSV through ``POST /api/v1/catalog/import`` (streamed,
batches of 1000), then the same file again (nothing changes), then ``GET /api/v1/catalog/export``.

While the import runs, a probe measures how late the event loop wakes up (a 5 ms sleep in a
loop) and another client lists products every 50 ms, so the figures show what an import costs
the other requests. Figures only: nothing here asserts a timing.

    CYPHER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/catalog_import.py [--rows 50000] [--batch-size 1000]

A database ``cypher_bench_<random>`` is created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

HEADER = "sku;denumire;categorie;um;pret achizitie;adaos;stare;putere;cct;ip;tensiune\n"


def csv_body(rows: int, *, bump: int = 0) -> bytes:
    """``rows`` strips in Romanian spreadsheet style (``;``, decimal commas)."""
    lines = [HEADER]
    for i in range(rows):
        cct = (2700, 3000, 4000, 6500)[i % 4]
        cost = f"{10 + (i % 500) / 10 + bump:.2f}".replace(".", ",")
        lines.append(
            f"BN-{i:06d};Bandă LED 24V 14,4W/m {cct}K IP20 nr. {i};benzi-led;m;{cost};0,35;"
            f"activ;14,4;{cct};IP20;24\n"
        )
    return "".join(lines).encode()


async def chunks(body: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


class Probe:
    """Event-loop lateness and list-request latency while something else runs."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self.latency: list[float] = []
        self._stop = asyncio.Event()

    async def loop_lag(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            self.lateness.append(time.perf_counter() - started - 0.005)

    async def requests(self, session: aiohttp.ClientSession, url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        while not self._stop.is_set():
            started = time.perf_counter()
            async with session.get(url, params={"limit": "50"}, headers=headers) as resp:
                await resp.read()
                assert resp.status == 200
            self.latency.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()

    def report(self) -> str:
        lag = sorted(self.lateness)
        lat = sorted(self.latency)

        def p(xs: list[float], q: float) -> float:
            return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")

        return (
            f"loop lateness p50 {p(lag, 0.5):.1f} ms, p99 {p(lag, 0.99):.1f} ms, max "
            f"{p(lag, 1.0):.1f} ms; list requests ({len(lat)}) p50 {p(lat, 0.5):.1f} ms, "
            f"p99 {p(lat, 0.99):.1f} ms, max {p(lat, 1.0):.1f} ms"
        )


async def run(dsn: str, args: argparse.Namespace) -> None:
    from actors.catalog import store
    from actors.catalog.api import api as catalog_api
    from actors.catalog.categories import Category
    from hub.auth import Role, TokenService, create_user
    from hub.db import init_connection
    from hub.edge.app import create_app
    from hub.settings import HubSettings, Secret

    with tempfile.TemporaryDirectory() as data_dir:
        settings = HubSettings(
            env="development",
            database_url=Secret(dsn),
            data_dir=data_dir,
            log_level="WARNING",
            jwt_secret=Secret("bench-signing-key-0123456789-abcdefghijklmnop"),
            rate_limit_per_minute=100_000,
            rate_limit_burst=100_000,
        )
        app = create_app(settings, apis=[catalog_api])
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}/api/v1/catalog"
        conn = await asyncpg.connect(dsn)
        await init_connection(conn)
        await store.add_category(conn, Category(code="benzi-led", name="Benzi LED"))
        user, _ = await create_user(
            conn, email="bench@ledux.ro", role=Role.admin, password="correct horse battery staple"
        )
        from hub.auth import Principal

        token = TokenService.from_settings(settings).issue_access(
            Principal(kind="user", id=user.id, name="bench", roles=frozenset({Role.admin}))
        )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv"}
        body = csv_body(args.rows)
        params = {"format": "csv", "batch_size": str(args.batch_size)}
        timeout = aiohttp.ClientTimeout(total=3600)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for label, data in (
                    ("first import (creates)", body),
                    ("same file again (nothing changes)", body),
                    ("every cost changed", csv_body(args.rows, bump=1)),
                ):
                    probe = Probe()
                    tasks = [
                        asyncio.create_task(probe.loop_lag()),
                        asyncio.create_task(probe.requests(session, f"{base}/products", token)),
                    ]
                    started = time.perf_counter()
                    async with session.post(
                        f"{base}/import", params=params, data=chunks(data), headers=headers
                    ) as resp:
                        report = (await resp.json())["data"]
                    elapsed = time.perf_counter() - started
                    probe.stop()
                    await asyncio.gather(*tasks)
                    print(
                        f"{label}: {args.rows} rows, {len(data) / 1e6:.1f} MB in {elapsed:.1f} s "
                        f"= {args.rows / elapsed:,.0f} rows/s (created {report['created']}, "
                        f"updated {report['updated']}, unchanged {report['unchanged']}, "
                        f"errors {report['errors_total']})\n    {probe.report()}",
                        flush=True,
                    )
                events = await conn.fetchval(
                    "SELECT count(*) FROM hub_outbox WHERE type = 'catalog.ProductsChanged'"
                )
                print(f"ProductsChanged events written: {events}")
                started = time.perf_counter()
                size = 0
                async with session.get(
                    f"{base}/export", params={"format": "csv"}, headers=headers
                ) as resp:
                    async for chunk in resp.content.iter_chunked(65536):
                        size += len(chunk)
                elapsed = time.perf_counter() - started
                print(
                    f"export: {size / 1e6:.1f} MB in {elapsed:.2f} s "
                    f"= {args.rows / elapsed:,.0f} rows/s"
                )
        finally:
            await conn.close()
            await runner.cleanup()


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("CYPHER_DATABASE_URL")
    if not admin_dsn:
        raise SystemExit("set CYPHER_DATABASE_URL to a PostgreSQL server (a database is created)")
    name = f"cypher_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    print(
        f"catalog import benchmark: {args.rows} rows, batches of {args.batch_size}, "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    try:
        await run(urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}")), args)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    return parser


if __name__ == "__main__":
    asyncio.run(main(_parser().parse_args()))

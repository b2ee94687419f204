"""Bulk repricing benchmark: 50 000 SKUs through the pricing actor's handlers on PostgreSQL.

Each scenario runs the real handler (``Pricing.products_changed`` / ``Pricing.reprice``) in one
transaction with a real ``Context``, its outbox rows flushed as the runtime does, and is timed
from the first statement to the commit. Next to them, in the same run:

  reference   the pure domain loop alone: resolving each SKU's rules and computing its list
              price (tier 0, quantity 1, today) for all SKUs, in memory, no database.

Scenarios (the order matters: each starts from the state the previous one left):

  ingest      the catalog publishes the SKUs in ProductsChanged batches of 500: inputs stored,
              every SKU priced, one PriceChanged each (all new)
  no-op       RepriceProducts(everything): every SKU recomputed, nothing changed, no event
  category    a promotion on one category (1 000 SKUs): only those recomputed and published
  everything  a promotion on every category: all SKUs change, one PriceChanged each

    CYPHER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/repricing.py [--skus 50000] [--categories 50]

A database ``cypher_bench_<random>`` is created on that server and dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import secrets
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from actors.catalog.messages import Attributes, ProductsChanged, ProductSnapshot  # noqa: E402
from actors.pricing import domain, rules_store, store  # noqa: E402
from actors.pricing.actor import Pricing  # noqa: E402
from actors.pricing.messages import RepriceProducts  # noqa: E402
from actors.pricing.rules import PriceInput, RuleBook  # noqa: E402
from actors.pricing.settings import PricingSettings  # noqa: E402
from bench.common import Row, write_summary  # noqa: E402
from hub.actor import Context  # noqa: E402
from hub.db import create_pool  # noqa: E402
from hub.messages import Envelope, Message  # noqa: E402
from hub.migrate import migrate  # noqa: E402
from hub.telemetry import BoundLogger  # noqa: E402

BATCH = 500
log = BoundLogger(logging.getLogger("bench.repricing"))


def catalog(skus: int, categories: int) -> list[ProductSnapshot]:
    """Deterministic products spread over ``categories`` categories."""
    rng = random.Random(7)
    return [
        ProductSnapshot(
            sku=f"SKU-{n:06d}",
            version=1,
            name=f"Product {n}",
            ean=None,
            category=f"cat-{n % categories:03d}",
            unit="metre" if n % categories < categories // 3 else "piece",
            cost=Decimal(rng.randint(100, 60_000)) / 100,
            margin=Decimal(rng.randint(20, 60)) / 100,
            status="active",
            attributes=Attributes(),
        )
        for n in range(skus)
    ]


async def seed_rules(conn: asyncpg.Connection, categories: int) -> None:
    """A volume ladder on a third of the categories, minimum margins on a tenth."""
    for c in range(0, categories, 3):
        for at, discount in (("10", "0.05"), ("50", "0.08"), ("100", "0.12")):
            await rules_store.create(
                conn,
                rules_store.VOLUME_BREAKS,
                {
                    "scope": "category",
                    "target": f"cat-{c:03d}",
                    "min_quantity": Decimal(at),
                    "discount": Decimal(discount),
                },
            )
    for c in range(0, categories, 10):
        await rules_store.create(
            conn,
            rules_store.MIN_MARGINS,
            {"scope": "category", "target": f"cat-{c:03d}", "min_margin": Decimal("0.15")},
        )


async def promote(conn: asyncpg.Connection, category: str, value: str) -> None:
    today = domain.business_date(datetime.now(UTC))
    await rules_store.create(
        conn,
        rules_store.PROMOTIONS,
        {
            "name": f"{category} -{value}",
            "scope": "category",
            "target": category,
            "kind": "percent",
            "value": Decimal(value),
            "valid_from": today,
            "valid_to": today + timedelta(days=7),
        },
    )


class Timed:
    """Accumulates the time spent in some store functions (the handler's phases)."""

    NAMES = ("apply_inputs", "inputs_for_repricing", "rule_book", "list_prices", "save_list_prices")

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}
        for name in self.NAMES:
            setattr(store, name, self._wrap(name, getattr(store, name)))

    def _wrap(self, name: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return await fn(*args, **kw)
            finally:
                self.spent[name] = self.spent.get(name, 0.0) + time.perf_counter() - started

        return timed

    def take(self) -> dict[str, float]:
        spent, self.spent = self.spent, {}
        return spent


async def run(pool: asyncpg.Pool, actor: Pricing, messages: list[Message]) -> tuple[float, float]:
    """Handle ``messages`` one transaction each, as the runtime would; (seconds, flush seconds)."""
    started = time.perf_counter()
    flushing = 0.0
    for message in messages:
        async with pool.acquire() as conn, conn.transaction():
            ctx = Context(conn, Envelope.new(message), log)
            await actor.handler_for(message)(message, ctx)
            t = time.perf_counter()
            await ctx.flush()
            flushing += time.perf_counter() - t
    return time.perf_counter() - started, flushing


async def counts(pool: asyncpg.Pool) -> tuple[int, int]:
    async with pool.acquire() as conn:
        events = await conn.fetchval(
            "SELECT count(*) FROM hub_outbox WHERE type = 'pricing.PriceChanged'"
        )
        await conn.execute("TRUNCATE hub_outbox")
        prices = await conn.fetchval("SELECT count(*) FROM pricing_list_prices")
    return events, prices


def reference(products: list[ProductSnapshot], book: RuleBook) -> float:
    """The pure domain loop over every SKU (rules resolved + list price), in memory."""
    today = domain.business_date(datetime.now(UTC))
    inputs = [
        PriceInput(
            sku=p.sku,
            version=p.version,
            category=p.category,
            unit=p.unit,
            cost=p.cost,
            margin=p.margin,
            status=p.status,
        )
        for p in products
    ]
    started = time.perf_counter()
    prices = domain.list_prices((book.sheet(i) for i in inputs), today)
    elapsed = time.perf_counter() - started
    assert len(prices) == len(products)
    return elapsed


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("CYPHER_DATABASE_URL")
    if not admin_dsn:
        raise SystemExit("set CYPHER_DATABASE_URL to a PostgreSQL server (a database is created)")
    name = f"cypher_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}"))
    print(
        f"repricing benchmark: {args.skus} SKUs in {args.categories} categories, "
        f"{os.cpu_count()} CPUs, PostgreSQL on {urlsplit(admin_dsn).hostname}",
        flush=True,
    )
    try:
        pool = await create_pool(dsn, min_size=1, max_size=2)
        async with pool.acquire() as conn:
            await migrate(conn, ROOT / "migrations")
            await seed_rules(conn, args.categories)
        products = catalog(args.skus, args.categories)
        actor = Pricing(PricingSettings())
        timed = Timed()
        rows: list[tuple[str, float, float, int, int, dict[str, float]]] = []

        async with pool.acquire() as conn:
            book = await store.rule_book(
                conn,
                [
                    PriceInput(
                        sku="",
                        version=0,
                        category=f"cat-{c:03d}",
                        unit="piece",
                        cost=Decimal(0),
                        margin=Decimal(0),
                        status="active",
                    )
                    for c in range(args.categories)
                ],
                Decimal("0.10"),
            )
        ref = min(reference(products, book) for _ in range(3))
        timed.take()

        batches: list[Message] = [
            ProductsChanged(products=tuple(products[i : i + BATCH]))
            for i in range(0, len(products), BATCH)
        ]
        scenarios: list[tuple[str, Callable[[], Awaitable[None]] | None, list[Message]]] = [
            ("ingest (ProductsChanged x500)", None, batches),
            ("no-op (everything)", None, [RepriceProducts(reason="bench", everything=True)]),
        ]
        for label, _, messages in scenarios:
            seconds, flush = await run(pool, actor, messages)
            events, _ = await counts(pool)
            rows.append((label, seconds, flush, args.skus, events, timed.take()))
            print(f"  {label:34} {seconds:6.2f} s, {events} PriceChanged", flush=True)

        async with pool.acquire() as conn:
            await promote(conn, "cat-001", "0.20")
        message = RepriceProducts(reason="bench", categories=("cat-001",))
        seconds, flush = await run(pool, actor, [message])
        events, _ = await counts(pool)
        in_category = sum(1 for p in products if p.category == "cat-001")
        rows.append(("category (1 promotion)", seconds, flush, in_category, events, timed.take()))
        print(f"  {'category (1 promotion)':34} {seconds:6.2f} s, {events} PriceChanged")

        async with pool.acquire() as conn:
            for c in range(args.categories):
                if c != 1:
                    await promote(conn, f"cat-{c:03d}", "0.30")
            await conn.execute("UPDATE pricing_promotions SET value = 0.3 WHERE target = 'cat-001'")
        message = RepriceProducts(reason="bench", everything=True)
        seconds, flush = await run(pool, actor, [message])
        events, stored = await counts(pool)
        rows.append(("everything (all promoted)", seconds, flush, args.skus, events, timed.take()))
        print(f"  {'everything (all promoted)':34} {seconds:6.2f} s, {events} PriceChanged")
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()

    print()
    print(
        f"reference: pure domain loop over {args.skus} SKUs (rules + list price): "
        f"{ref:.2f} s = {args.skus / ref:,.0f} SKUs/s"
    )
    print()
    header = (
        f"{'scenario':30} {'seconds':>8} {'SKUs/s':>9} {'events':>7} {'/ref':>6}  "
        "phases (s): load inputs + rules, old prices, save, outbox, domain (the rest)"
    )
    print(header)
    for label, seconds, flush, checked, events, spent in rows:
        load = spent.get("inputs_for_repricing", 0) + spent.get("rule_book", 0)
        apply = spent.get("apply_inputs", 0)
        old = spent.get("list_prices", 0)
        save = spent.get("save_list_prices", 0)
        rest = seconds - load - apply - old - save - flush
        print(
            f"{label:30} {seconds:8.2f} {checked / seconds:9,.0f} {events:7d} "
            f"{seconds / (ref * checked / args.skus):6.1f}  load {load:.2f} + {apply:.2f} "
            f"(inputs), old {old:.2f}, save {save:.2f}, outbox {flush:.2f}, "
            f"domain+other {rest:.2f}"
        )
    print(f"\nlist prices stored at the end: {stored}")
    label, seconds, _, checked, events, _ = rows[-1]
    write_summary(
        args.summary,
        [
            Row(
                "pricing: bulk repricing",
                f"{args.skus:,} SKUs, all promoted",
                seconds,
                "s",
                detail=f"{checked / seconds:,.0f} SKUs/s, {events} PriceChanged",
                reference="pure domain loop",
                reference_value=ref,
                ratio=seconds / ref,
            )
        ],
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--skus", type=int, default=50_000)
    p.add_argument("--summary", help="write the headline rows here (bench/run.py)")
    p.add_argument("--categories", type=int, default=50)
    return p


if __name__ == "__main__":
    asyncio.run(main(_parser().parse_args()))

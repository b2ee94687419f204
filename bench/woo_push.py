"""WooCommerce push benchmark: the connector actor pushing changed prices and stock to the shop.

The real connector actor (``connectors/woocommerce/actor.py``, ``push.py``) in a hub on the
memory bus (as ``tests/integration/woocommerce_actor`` runs it; those tests also run on
RabbitMQ) pushes to the real WooCommerce simulator (``connectors/woocommerce/simulator.py``)
over loopback HTTP. The shop holds ``max(sizes) + 500`` simple products, plus variable products
and variations. Each scenario publishes ``PriceChanged``/``StockChanged`` events, waits until
the connector has recorded them, then sends ``PushProducts`` (what the push window's timer
sends; the window itself is set far away, as in the tests) and waits until the push is over.

For each scenario it prints the API calls the simulator received (its own request log), split
into batch writes and lookups, against the minimum ``ceil(N/100)`` (a WooCommerce batch takes
at most 100 items), the wall time of the push, products/s, and checks: every product of the
shop holds exactly the values the hub wants (the events' values; the seeded ones for products
nobody changed), the hub's own rows agree, and no product was saved that did not need to be
(its ``date_modified`` moved; the simulator's clock ticks a second per save, as in the tests).

Scenarios (in this order: each starts from the state the previous one left):

  cold 1, cold 100   the first pushes: the hub knows no shop product id yet (lookups)
  N = --sizes        N SKUs changed (even ones a price, odd ones a stock figure), ids known
  mixed              1000 SKUs: prices for 600, stock for 600, 200 of them both; 50 prices
                     changed twice; 50 stock events arriving after a newer one; 100 "changes"
                     to the value the shop already holds (nothing to push)
  variations         250 simple products and 25 SKUs held by variable products/variations
                     (the connector pushes simple products only)
  not in shop        250 SKUs of the shop and 50 the shop does not sell, twice

    CYPHER_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/woo_push.py [--sizes 1,99,100,101,1000,5000] [--summary FILE]

A database ``cypher_bench_<random>`` is created on that server and dropped at the end.
Figures only: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import secrets
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from aiohttp import web  # noqa: E402

from actors.inventory.messages import StockChanged  # noqa: E402
from actors.pricing.messages import PriceChanged  # noqa: E402
from bench.common import Row, write_summary  # noqa: E402
from connectors.woocommerce import product_store, push  # noqa: E402
from connectors.woocommerce.actor import build  # noqa: E402
from connectors.woocommerce.messages import PushProducts  # noqa: E402
from connectors.woocommerce.settings import WooCommerceSettings  # noqa: E402
from connectors.woocommerce.simulator import (  # noqa: E402
    Request,
    WooCommerceSimulator,
    create_app,
    demo_catalog,
)
from hub.bootstrap import Hub, Resources, open_hub  # noqa: E402
from hub.messages import Envelope, Message, encode  # noqa: E402
from hub.ratelimit import MemoryRateLimiter  # noqa: E402
from hub.settings import HubSettings, Secret  # noqa: E402

KEY, SECRET = "ck_bench", "cs_bench"
VAT = Decimal("0.21")
CENT = Decimal("0.01")
BATCH_LIMIT = 100  # WooCommerce's woocommerce_rest_batch_items_limit
SPARE = 500  # shop products no scenario of the sizes touches
PARENTS, VARIATIONS_EACH = 5, 4  # variable products, variations of each
BENCH = "woocommerce push"


# --- what the shop should hold --------------------------------------------------------------------


@dataclass
class Want:
    """The values of one SKU the shop should show (the hub's; the seeded ones until changed)."""

    regular: Decimal | None
    sale: Decimal | None
    stock: int | None
    version: int = 0  # the highest StockChanged.version sent for it


def shop_values(product: dict[str, Any]) -> tuple[Decimal | None, Decimal | None, int | None]:
    """(regular, sale, stock) as a shop product shows them ("" → None)."""
    regular, sale = product["regular_price"], product["sale_price"]
    stock = product["stock_quantity"] if product["manage_stock"] else None
    return (Decimal(regular) if regular else None, Decimal(sale) if sale else None, stock)


def want_values(want: Want) -> tuple[Decimal | None, Decimal | None, int | None]:
    return (want.regular, want.sale, want.stock)


def price_event(sku: str, net: Decimal, sale: Decimal | None = None) -> PriceChanged:
    return PriceChanged(
        sku=sku,
        list_net=net,
        list_gross=(net * (1 + VAT)).quantize(CENT),
        sale_net=sale,
        sale_gross=(sale * (1 + VAT)).quantize(CENT) if sale is not None else None,
        vat_rate=VAT,
        previous_list_net=None,
        reason="bench",
    )


def stock_event(sku: str, published: int, version: int) -> StockChanged:
    return StockChanged(
        sku=sku, available=Decimal(published + 2), published=Decimal(published), version=version
    )


@dataclass
class Shop:
    """The simulator, its SKUs by kind and what every SKU should show."""

    sim: WooCommerceSimulator
    simple: list[str]
    unsupported: list[str]  # held by variable products and variations
    want: dict[str, Want]
    by_sku: dict[str, dict[str, Any]]  # the simulator's own records (live)
    index: dict[str, int]  # position of a simple product's SKU in ``simple``
    absent: list[str] = field(default_factory=list)  # SKUs the shop does not sell

    def apply(self, event: PriceChanged | StockChanged) -> None:
        """What the hub will want after ``event`` (unsupported and absent SKUs: nothing)."""
        want = self.want.get(event.sku)
        if want is None:
            return
        if isinstance(event, PriceChanged):
            want.regular, want.sale = push.wanted_price(event, include_tax=False)
        elif event.version > want.version:
            want.stock, want.version = push.wanted_stock(event), event.version


def seed_shop(simple: int) -> Shop:
    """The simulator with ``simple`` demo products, variable products and their variations."""
    sim = WooCommerceSimulator(keys={KEY: (SECRET, "read_write")})
    # a second per save, as the tests' clock: a save that changed nothing still moves the date
    start, ticks = datetime.now(UTC), iter(range(10**9))
    sim.store.clock = lambda: start + timedelta(seconds=next(ticks))
    products = [sim.add_product(**fields) for fields in demo_catalog(simple)]
    unsupported: list[str] = []
    for p in range(1, PARENTS + 1):
        parent = sim.add_product(
            name=f"Banda LED variabila {p}", sku=f"LDX-V{p:02d}", type="variable"
        )
        unsupported.append(parent["sku"])
        for v in range(1, VARIATIONS_EACH + 1):
            variation = sim.add_product(
                name=f"Banda LED variabila {p} - {v} m",
                sku=f"LDX-V{p:02d}-{v}M",
                type="variation",
                regular_price=f"{20 * v}.00",
                manage_stock=True,
                stock_quantity=10 * v,
            )
            # a variation's parent cannot be set through the REST fields the simulator takes
            sim.store.records["product"][variation["id"]]["parent_id"] = parent["id"]
            unsupported.append(variation["sku"])
    by_sku = {r["sku"]: r for r in sim.store.records["product"].values()}
    want = {}
    for p in products:
        regular, sale, stock = shop_values(p)
        want[p["sku"]] = Want(regular, sale, stock)
    simple_skus = [p["sku"] for p in products]
    index = {sku: i for i, sku in enumerate(simple_skus)}
    return Shop(sim, simple_skus, unsupported, want, by_sku, index)


# --- scenarios ------------------------------------------------------------------------------------


@dataclass
class Scenario:
    """Events to publish; the figure's N is what should reach the shop."""

    name: str
    events: list[PriceChanged | StockChanged]
    note: str = ""


def base_price(index: int) -> Decimal:
    return Decimal(f"{19 + (index + 1) % 50}.90")  # demo_catalog's price of product index + 1


def changed(shop: Shop, round_no: int, skus: list[str], kinds: str = "alternate") -> list[Any]:
    """An event per SKU with a value it never had: price (even positions) or stock (odd)."""
    events: list[Any] = []
    for position, sku in enumerate(skus):
        index = shop.index.get(sku, position)
        if kinds == "price" or (kinds == "alternate" and position % 2 == 0):
            net = base_price(index) + round_no
            sale = net - 2 if index % 10 == round_no % 10 else None
            events.append(price_event(sku, net, sale))
        else:
            want = shop.want.get(sku)
            version = (want.version if want else 0) + 1
            events.append(stock_event(sku, (index + 1) % 40 + round_no, version))
    return events


def mixed(shop: Shop, round_no: int, n: int) -> Scenario:
    """Prices and stock for overlapping SKUs, repeats, out-of-order and no-op events."""
    skus = shop.simple[:n]
    p_end, s_start = n * 6 // 10, n * 4 // 10
    events: list[Any] = []
    for i, sku in enumerate(skus[: n // 20]):  # priced twice: the second price is the one
        events.append(price_event(sku, base_price(i) + 500))
    events += changed(shop, round_no, skus[:p_end], "price")
    newer = [shop.want[s].version + 2 for s in skus[s_start:]]
    events += [
        stock_event(sku, (i + 1) % 40 + round_no, version)
        for i, (sku, version) in enumerate(zip(skus[s_start:], newer, strict=True), s_start)
    ]
    events += [  # an older figure delivered after the newer one: changes nothing
        stock_event(sku, 999, version - 1)
        for sku, version in zip(skus[s_start : s_start + n // 20], newer, strict=False)
    ]
    for sku in shop.simple[n : n + n // 10]:  # "changes" to what the shop holds already
        want = shop.want[sku]
        assert want.regular is not None
        events.append(price_event(sku, want.regular, want.sale))
    overlap = p_end - s_start
    return Scenario(
        "mixed",
        events,
        f"{p_end} prices + {n - s_start} stock ({overlap} SKUs both), {n // 20} priced twice, "
        f"{n // 20} stale stock events, {n // 10} no-op prices",
    )


# --- the hub and the shop -------------------------------------------------------------------------


@dataclass
class ShopClock:
    """Time the simulator spent answering (it runs in this process, on this event loop)."""

    busy: float = 0.0
    spans: list[tuple[float, float]] = field(default_factory=list)  # (start, end) per request


def timed(clock: ShopClock) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            ended = time.perf_counter()
            clock.busy += ended - started
            clock.spans.append((started, ended))

    return middleware


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port; yield its base URL."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def hub_settings(dsn: str, data_dir: str, timer_poll: float) -> HubSettings:
    """The hub's defaults (``timer_poll_interval`` paces the runs of a push over 1000 SKUs)."""
    return HubSettings(
        env="development",
        database_url=Secret(dsn),
        data_dir=data_dir,
        log_level="WARNING",
        timer_poll_interval=timer_poll,
    )


def connector_settings(url: str, per_second: float) -> WooCommerceSettings:
    """The tests' settings (tests/integration/woocommerce_actor/conftest.py), a longer timeout."""
    return WooCommerceSettings(
        base_url=url,
        consumer_key=Secret(KEY),
        consumer_secret=Secret(SECRET),
        timeout=30.0,
        per_second=per_second,
        burst=100,
        push_window=3600.0,  # the bench sends PushProducts itself, once everything is recorded
        poll_interval=3600.0,
    )


async def publish(hub: Hub, message: Message, key: str) -> Envelope:
    env = Envelope.new(message, key=key)
    await hub.bus.publish(env, encode(message))
    return env


async def until(
    check: Callable[[], Awaitable[bool]], what: str, limit: float = 120.0, every: float = 0.01
) -> float:
    """Poll ``check`` until true; the time it became true (``time.perf_counter``)."""
    deadline = time.perf_counter() + limit
    while not await check():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"waited {limit:g} s for {what}")
        await asyncio.sleep(every)
    return time.perf_counter()


async def handled(conn: asyncpg.Connection, ids: list[Any]) -> bool:
    count = await conn.fetchval(
        "SELECT count(*) FROM hub_inbox WHERE actor = 'woocommerce' AND message_id = ANY($1)", ids
    )
    return bool(count == len(ids))


async def push_over(conn: asyncpg.Connection, started: datetime) -> bool:
    """No push run waits or runs: every PushProducts since ``started`` handled, none due soon."""
    return bool(
        await conn.fetchval(
            """
            SELECT NOT EXISTS (
                SELECT 1 FROM hub_timers WHERE name = $1 AND due_at < now() + interval '60 s'
            ) AND NOT EXISTS (
                SELECT 1 FROM hub_outbox o WHERE o.type = 'woocommerce.PushProducts'
                AND o.created_at >= $2 AND NOT EXISTS (
                    SELECT 1 FROM hub_inbox i
                    WHERE i.actor = 'woocommerce' AND i.message_id = o.message_id))
            """,
            push.PUSH_TIMER,
            started,
        )
    )


# --- one scenario ---------------------------------------------------------------------------------


@dataclass
class Figures:
    """One scenario's line."""

    name: str
    n: int  # products whose values had to change in the shop
    minimum: int
    batches: int
    lookups: int  # GET requests (SKU lookups, listings)
    other: int
    items: int  # batch items sent
    record_s: float
    push_s: float
    shop_busy_s: float
    max_gap_s: float  # longest time between one request's answer and the next request
    runs: int  # PushProducts handled
    saved: int  # products whose date_modified moved (should be N)
    needless_saves: int  # products saved that did not need to change
    needless_fields: int  # fields sent with the value the shop held already
    wrong: int  # products not holding the values they should
    hub_wrong: int  # hub rows disagreeing with the shop
    statuses: str
    note: str = ""

    @property
    def calls(self) -> int:
        return self.batches + self.lookups + self.other

    @property
    def rate(self) -> float:
        return self.n / self.push_s if self.push_s else 0.0


async def run_scenario(
    hub: Hub, conn: asyncpg.Connection, shop: Shop, clock: ShopClock, scenario: Scenario
) -> Figures:
    """Publish, wait until recorded, push, wait until over; count and check."""
    sim = shop.sim
    before = {
        r["id"]: (shop_values(r), r["date_modified_gmt"])
        for r in sim.store.records["product"].values()
    }
    for event in scenario.events:
        shop.apply(event)
    expected = {
        shop.by_sku[sku]["id"]: want
        for sku, want in shop.want.items()
        if want_values(want) != before[shop.by_sku[sku]["id"]][0]
    }
    first_request, busy0, first_span = len(sim.requests), clock.busy, len(clock.spans)

    t0 = await conn.fetchval("SELECT clock_timestamp()")
    envs = [await publish(hub, e, key=e.sku) for e in scenario.events]
    ids = [e.message_id for e in envs]
    # polled slowly (a query over every id), timed by the handlers' own inbox rows
    await until(lambda: handled(conn, ids), f"{scenario.name}: events recorded", every=0.1)
    last = await conn.fetchval(
        "SELECT max(handled_at) FROM hub_inbox WHERE actor = 'woocommerce' "
        "AND message_id = ANY($1)",
        ids,
    )

    started = datetime.now(UTC)
    t1 = time.perf_counter()
    trigger = await publish(hub, PushProducts(), key=push.PUSH_KEY)
    done = await until(
        lambda: _push_done(conn, trigger, started), f"{scenario.name}: the push", every=0.005
    )
    requests = sim.requests[first_request:]
    runs = await conn.fetchval(
        "SELECT count(*) FROM hub_outbox WHERE type = 'woocommerce.PushProducts' "
        "AND created_at >= $1",
        started,
    )
    after = {r["id"]: r for r in sim.store.records["product"].values()}
    return Figures(
        name=scenario.name,
        n=len(expected),
        minimum=math.ceil(len(expected) / BATCH_LIMIT),
        batches=sum(1 for r in requests if r.method == "POST" and r.path == "/products/batch"),
        lookups=sum(1 for r in requests if r.method == "GET"),
        other=sum(1 for r in requests if not (r.method == "GET" or r.path == "/products/batch")),
        items=sum(r.items or 0 for r in requests if r.path == "/products/batch"),
        record_s=(last - t0).total_seconds() if ids else 0.0,
        push_s=done - t1,
        shop_busy_s=clock.busy - busy0,
        max_gap_s=_longest_gap(clock.spans[first_span:]),
        runs=1 + int(runs),
        saved=sum(1 for ident, (_, m) in before.items() if after[ident]["date_modified_gmt"] != m),
        needless_saves=sum(
            1
            for ident, (_, modified) in before.items()
            if after[ident]["date_modified_gmt"] != modified and ident not in expected
        ),
        needless_fields=_needless_fields(requests, before),
        wrong=_wrong(shop),
        hub_wrong=await _hub_wrong(conn, shop),
        statuses=_statuses(requests),
        note=scenario.note,
    )


async def _push_done(conn: asyncpg.Connection, trigger: Envelope, started: datetime) -> bool:
    return await handled(conn, [trigger.message_id]) and await push_over(conn, started)


def _longest_gap(spans: list[tuple[float, float]]) -> float:
    return max((b[0] - a[1] for a, b in itertools.pairwise(spans)), default=0.0)


def _needless_fields(requests: list[Request], before: dict[int, Any]) -> int:
    """Fields of the batch items that set the value the product held before the scenario."""
    count = 0
    for r in requests:
        for item in (r.body or {}).get("update", []) if r.path == "/products/batch" else []:
            (regular, sale, stock), _ = before[item["id"]]
            held = {
                "regular_price": regular,
                "sale_price": sale,
                "stock_quantity": stock,
                "manage_stock": stock is not None,
            }
            for name, value in item.items():
                if name in ("regular_price", "sale_price"):
                    value = Decimal(value) if value else None
                if name != "id" and held.get(name) == value:
                    count += 1
    return count


def _wrong(shop: Shop) -> int:
    """Products of the shop not holding what they should: every SKU, changed or not."""
    wrong = sum(
        1 for sku, want in shop.want.items() if shop_values(shop.by_sku[sku]) != want_values(want)
    )
    return wrong + sum(
        1 for sku in shop.unsupported if shop_values(shop.by_sku[sku]) != _seeded(sku)
    )


def _seeded(sku: str) -> tuple[Decimal | None, Decimal | None, int | None]:
    if sku.endswith("M"):  # a variation: LDX-Vpp-vM
        v = int(sku.rsplit("-", 1)[1][:-1])
        return (Decimal(f"{20 * v}.00"), None, 10 * v)
    return (None, None, None)


async def _hub_wrong(conn: asyncpg.Connection, shop: Shop) -> int:
    """SKUs whose wanted values (the hub's rows) differ from what the shop holds, or are
    still due, or, for a product the connector does not push, are not recorded as refused."""
    rows = await conn.fetch(
        "SELECT sku, regular_price, sale_price, stock_quantity, refused, missing_since, "
        f"({product_store.DUE}) AS due FROM woo_products"
    )
    wrong = 0
    for row in rows:
        product = shop.by_sku.get(row["sku"])
        if product is None:
            wrong += row["missing_since"] is None and row["sku"] in shop.absent
        elif row["sku"] in shop.unsupported:
            wrong += row["refused"] is None and row["regular_price"] is not None
        else:
            regular, sale, stock = shop_values(product)
            wrong += bool(
                row["due"]
                or (row["regular_price"] is not None and row["regular_price"] != regular)
                or (row["regular_price"] is not None and row["sale_price"] != sale)
                or (row["stock_quantity"] is not None and row["stock_quantity"] != stock)
            )
    return wrong


def _statuses(requests: list[Request]) -> str:
    seen: dict[str, int] = {}
    for r in requests:
        seen[str(r.status)] = seen.get(str(r.status), 0) + 1
    return ", ".join(f"{v} x {k}" for k, v in sorted(seen.items()))


# --- the run --------------------------------------------------------------------------------------


def with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


async def main(args: argparse.Namespace) -> None:
    admin_dsn = os.environ.get("CYPHER_DATABASE_URL")
    if not admin_dsn:
        raise SystemExit("set CYPHER_DATABASE_URL to a PostgreSQL server (a database is created)")
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not sizes or sizes[0] < 1:
        raise SystemExit("--sizes: positive numbers, comma separated")
    mixed_n = 1000
    simple = max(sizes[-1], mixed_n + mixed_n // 10, 1001) + SPARE
    print(
        f"woocommerce push benchmark: sizes {', '.join(map(str, sizes))}; a shop of {simple} "
        f"simple products + {PARENTS} variable products with {PARENTS * VARIATIONS_EACH} "
        f"variations; memory bus; client limit {args.per_second:g} requests/s; timer poll "
        f"{args.timer_poll:g} s; "
        f"{os.cpu_count()} CPUs",
        flush=True,
    )
    t = time.perf_counter()
    shop = seed_shop(simple)
    print(f"  shop seeded in {time.perf_counter() - t:.1f} s", flush=True)
    clock = ShopClock()
    app = create_app(shop.sim)
    app.middlewares.append(timed(clock))

    name = f"cypher_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = with_database(admin_dsn, name)
    figures: list[Figures] = []
    try:
        async with serving(app) as url, _hub(dsn, url, args) as hub:
            conn = await asyncpg.connect(dsn)
            try:
                for scenario in _plan(shop, sizes, mixed_n):
                    f = await run_scenario(hub, conn, shop, clock, scenario)
                    figures.append(f)
                    print(
                        f"  {f.name:14} N={f.n:5d}: {f.calls:3d} calls ({f.batches} batch, "
                        f"{f.lookups} GET) vs {f.minimum:3d}; push {f.push_s:6.2f} s, "
                        f"{f.rate:6.0f} products/s; wrong {f.wrong}, needless saves "
                        f"{f.needless_saves}",
                        flush=True,
                    )
            finally:
                await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    print_table(figures)
    write_summary(args.summary, summary_rows(figures, sizes[-1]))


def _plan(shop: Shop, sizes: list[int], mixed_n: int) -> Any:
    """The scenarios, each built when its turn comes (from the state the previous one left)."""
    simple = shop.simple
    round_no = 0

    def next_round() -> int:
        nonlocal round_no
        round_no += 1
        return round_no

    yield Scenario(
        "cold 1", changed(shop, next_round(), simple[:1], "price"), "no product id known: lookup"
    )
    yield Scenario(
        "cold 100",
        changed(shop, next_round(), simple[1:101], "price"),
        "no product id known: lookups",
    )
    for n in sizes:
        yield Scenario(
            f"N = {n}", changed(shop, next_round(), simple[:n]), "half prices, half stock"
        )
    yield mixed(shop, next_round(), mixed_n)
    plain = simple[-250:]
    yield Scenario(
        "variations",
        changed(shop, next_round(), plain, "price")
        + [price_event(sku, Decimal("77.00")) for sku in shop.unsupported],
        f"{len(plain)} simple + {len(shop.unsupported)} variable/variation SKUs",
    )
    shop.absent = [f"LDX-X{n:04d}" for n in range(1, 51)]
    for label in ("not in shop", "not in shop 2"):
        yield Scenario(
            label,
            changed(shop, next_round(), simple[-500:-250], "price")
            + [price_event(sku, Decimal("55.00") + round_no) for sku in shop.absent],
            f"250 SKUs of the shop + {len(shop.absent)} it does not sell",
        )


@asynccontextmanager
async def _hub(dsn: str, url: str, args: argparse.Namespace) -> AsyncIterator[Hub]:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = hub_settings(dsn, data_dir, args.timer_poll)

        def factory(resources: Resources) -> Any:
            return build(
                connector_settings(url, args.per_second),
                resources.db,
                limiter=MemoryRateLimiter(),
            )

        async with open_hub(settings, actors=[factory]) as hub:
            yield hub


def print_table(figures: list[Figures]) -> None:
    print()
    print(
        f"{'scenario':14} {'N':>5} {'min':>4} {'calls':>5} {'batch':>5} {'GET':>4} {'items':>5} "
        f"{'saved':>5} {'runs':>4} {'record s':>8} {'push s':>7} {'prod/s':>7} {'shop s':>6} "
        f"{'gap s':>6} {'needless':>8} {'wrong':>5} {'hub':>4}"
    )
    for f in figures:
        print(
            f"{f.name:14} {f.n:5d} {f.minimum:4d} {f.calls:5d} {f.batches:5d} {f.lookups:4d} "
            f"{f.items:5d} {f.saved:5d} {f.runs:4d} {f.record_s:8.2f} {f.push_s:7.2f} "
            f"{f.rate:7.0f} {f.shop_busy_s:6.2f} {f.max_gap_s:6.2f} "
            f"{f.needless_saves + f.needless_fields:8d} {f.wrong:5d} {f.hub_wrong:4d}"
        )
    print(LEGEND)
    for f in figures:
        print(f"  {f.name}: {f.note}; answers {f.statuses}")


LEGEND = """
  N         products whose values had to change in the shop; min = ceil(N/100)
  calls     every request the simulator logged during the push: batch POSTs + GETs + other
  items     batch items sent; saved = shop products whose date_modified moved
  runs      PushProducts handled (a run takes at most 1000 SKUs; more: the next run by timer)
  record s  publishing the events until the connector has recorded them all
  push s    from PushProducts to the last run handled; prod/s = N / push s
  shop s    time the simulator (same process, same event loop) spent answering
  gap s     the longest pause between one answer and the next request
  needless  products saved that needed no change + fields sent with the value already held
  wrong     shop products (every SKU) not holding what they should
  hub       the hub's rows that disagree with the shop, are still due, or are not recorded
            refused/missing when they should be
"""


def summary_rows(figures: list[Figures], largest: int) -> list[Row]:
    rows = []
    for f in figures:
        if f.name in (f"N = {largest}", "mixed"):
            rows.append(
                Row.compared(
                    BENCH,
                    f"API calls, {f.name}" if f.name == "mixed" else f"API calls, N = {f.n}",
                    f.calls,
                    "calls",
                    reference="ceil(N/100)",
                    reference_value=f.minimum,
                    goal=1.0,
                    lower_is_better=True,
                    detail=(
                        f"{f.batches} batch + {f.lookups} GET, push {f.push_s:.2f} s, "
                        f"{f.rate:.0f} products/s, {f.wrong} wrong, "
                        f"{f.needless_saves + f.needless_fields} needless"
                    ),
                )
            )
    return rows


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sizes", default="1,99,100,101,1000,5000", help="N, comma separated")
    p.add_argument("--summary", metavar="FILE", help="write the headline rows there (JSON)")
    p.add_argument(
        "--per-second",
        type=float,
        default=1000.0,
        help="the client's request limit (the tests' 1000; the shop's default setting is 5)",
    )
    p.add_argument(
        "--timer-poll",
        type=float,
        default=HubSettings().timer_poll_interval,
        help="the hub's timer_poll_interval in seconds (default: the hub's default)",
    )
    return p


if __name__ == "__main__":
    asyncio.run(main(_parser().parse_args()))

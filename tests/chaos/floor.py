"""The shop floor with the hub as real processes: ``cypher-hub serve`` subprocesses on a database
of their own, RabbitMQ and Redis, and the WooCommerce, SmartBill and SendGrid simulators on
loopback in this process (so the test reads and steers them directly). The shop's orders are
placed in the WooCommerce simulator, whose signed webhooks reach the hub's edge as in
production; what comes out is read at the source: SmartBill's books, SendGrid's accepted mail,
the shop's records, and the hub's database.

Used by the fault suite (``tests/chaos``) and by the pipeline benchmark (``bench/pipeline.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiohttp
import asyncpg
from aiohttp import web

from connectors.sandbox.people import address, cui
from connectors.sendgrid.simulator import SendGridSimulator
from connectors.sendgrid.simulator import create_app as sendgrid_app
from connectors.smartbill.simulator import API, RateLimit, SmartBillSimulator
from connectors.woocommerce.simulator import WooCommerceSimulator
from connectors.woocommerce.simulator import create_app as woo_app
from hub import seeds
from hub.db import init_connection
from tests.chaos.proxy import FaultProxy
from tests.integration.inventory.support import receive
from tests.integration.orders.support import products, snapshot
from tests.support import eventually

ROOT = Path(__file__).resolve().parents[2]
HUB = [sys.executable, "-c", "import sys; from hub.cli import main; sys.exit(main())"]
WOO_KEY, WOO_SECRET, HOOK_SECRET = "ck_chaos", "cs_chaos", "wh-chaos-secret"
SB_USER, SB_TOKEN, SB_CIF = "api@ledux.ro", "chaos-token", "RO18547290"
SG_KEY = "SG.chaos"
SKUS = {  # sku -> (cost, margin): net = cost x (1 + margin)
    f"LED-{n:03d}": (Decimal(10 + 7 * n), Decimal("0.40")) for n in range(1, 11)
}
OPENING_STOCK = Decimal(1_000_000)
# SmartBill's limit at a tenth of its time scale (30 calls a second instead of 30 in ten
# seconds), and the hub's own limit under it by the same rule as the real one (5 + 20 x 1 <= 30)
REAL_LIMIT = RateLimit(calls=30, window=1.0, block=4.0)
HUB_SMARTBILL_LIMIT = {"per_second": "20", "burst": "5", "limit_calls": "30", "limit_window": "1"}
UNLIMITED = RateLimit(calls=1_000_000, window=1.0, block=1.0)
HUB_UNLIMITED = {
    "per_second": "100000",
    "burst": "1000",
    "limit_calls": "1000000",
    "limit_window": "1",
}


ACTORS = (
    "catalog",
    "pricing",
    "inventory",
    "orders",
    "quotations",
    "notifications",
    "invoicing",
    "sendgrid",
    "whatsapp",
    "woocommerce",
)
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def bus_queues(prefix: str) -> list[str]:
    """The queues the hub declares under ``prefix`` (each actor's and its delay queues)."""
    return [
        name
        for actor in ACTORS
        for name in (
            f"{prefix}.{actor}",
            *(f"{prefix}.{actor}.retry.{round(d * 1000)}ms" for d in RETRY_DELAYS),
        )
    ]


async def clear_bus(prefix: str, *, delete: bool) -> None:
    """Purge (between scenarios) or delete (at the end) the hub's queues under ``prefix``.
    Scenarios share one prefix: every run declaring 50 new quorum queues wears RabbitMQ down
    on this machine (it stopped answering handshakes after a few hundred)."""
    connection = await aio_pika.connect(AMQP_URL, timeout=30)
    try:
        for name in bus_queues(prefix):
            channel = await connection.channel()
            try:
                if delete:
                    await channel.queue_delete(name)
                else:
                    queue = await channel.declare_queue(name, passive=True)
                    await queue.purge()
            except aio_pika.exceptions.ChannelClosed:
                pass  # not declared (yet)
            finally:
                if not channel.is_closed:
                    await channel.close()
        if delete:
            channel = await connection.channel()
            await channel.exchange_delete(f"{prefix}.messages")
    finally:
        await connection.close()


def profiled(stats: Path) -> list[str]:
    """The hub's command under cProfile, its stats written to ``stats`` when it stops."""
    code = (
        "import cProfile, sys\n"
        "from hub.cli import main\n"
        "profile = cProfile.Profile()\n"
        "profile.enable()\n"
        "try:\n"
        "    code = main()\n"
        "finally:\n"
        "    profile.disable()\n"
        f"    profile.dump_stats({str(stats)!r})\n"
        "sys.exit(code)\n"
    )
    return [sys.executable, "-c", code]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


@dataclass
class Placed:
    """A shop order as placed: its shop id, how it is paid and its customer's address."""

    shop_id: int
    method: str  # "card" | "transfer"
    email: str
    lines: dict[str, int]  # sku -> quantity
    at: float  # time.time() when the shop saved it

    @property
    def hub_id(self) -> str:
        return f"woo-{self.shop_id}"

    @property
    def document(self) -> str:
        """The SmartBill document the rules ask for: card → invoice, bank transfer → proforma."""
        return "invoice" if self.method == "card" else "estimate"

    @property
    def document_email(self) -> str:
        """The category of the email carrying that document."""
        return "invoice_issued" if self.method == "card" else "proforma_issued"


class HubProcess:
    """One ``cypher-hub serve`` process; its output goes to ``log_path``."""

    def __init__(
        self, name: str, env: dict[str, str], log_path: Path, command: Sequence[str] = HUB
    ) -> None:
        self.name, self.env, self.log_path, self.command = name, env, log_path, list(command)
        self.port = int(env["CYPHER_HTTP_PORT"])
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, *, timeout: float = 60.0) -> None:
        """Start it and wait until ``/health/ready`` says ready."""
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n===== start {self.starts} at {datetime.now(UTC).isoformat()}\n".encode())
        log.flush()
        self.proc = await asyncio.create_subprocess_exec(
            *self.command, "serve", cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        await self.wait_ready(timeout)

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while True:
                if self.proc is not None and self.proc.returncode is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}"
                    )
                with contextlib.suppress(aiohttp.ClientError, OSError, asyncio.TimeoutError):
                    async with http.get(self.url + "/health/ready", timeout=2) as r:
                        if r.status == 200 and (await r.json())["status"] == "ready":
                            return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} not ready in {timeout:g} s:\n{self.tail()}")
                await asyncio.sleep(0.2)

    async def kill(self) -> None:
        """``kill -9``: no shutdown, whatever was in flight is cut off."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM and wait for the graceful shutdown (SIGKILL past ``timeout``)."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            await self.kill()

    def tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no output)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class Options:
    """How the floor runs: processes, limits, and how quickly the hub retries."""

    hubs: int = 1
    amqp_proxy: bool = False  # the hubs reach RabbitMQ through a FaultProxy
    smartbill_limit: RateLimit = field(default_factory=lambda: RateLimit(**vars(REAL_LIMIT)))
    hub_smartbill_limit: dict[str, str] = field(default_factory=lambda: dict(HUB_SMARTBILL_LIMIT))
    smartbill_timeout: float = 1.0
    log_level: str = "INFO"
    bus_prefix: str | None = None  # shared by scenarios (purged first); None: own, deleted
    extra_env: dict[str, str] = field(default_factory=dict)
    profile: Path | None = None  # run the first hub under cProfile, its stats written here


class Floor:
    """The running floor: simulators, hub processes, a connection to the hub's database."""

    def __init__(self, options: Options, workdir: Path, admin_dsn: str) -> None:
        self.options = options
        self.workdir = workdir
        self.admin_dsn = admin_dsn
        self.db_name = f"cypher_chaos_{secrets.token_hex(4)}"
        self.dsn = with_database(admin_dsn, self.db_name)
        self.prefix = options.bus_prefix or f"chaos{secrets.token_hex(3)}"
        self.woo = WooCommerceSimulator(keys={WOO_KEY: (WOO_SECRET, "read_write")})
        self.smartbill = SmartBillSimulator(
            username=SB_USER, token=SB_TOKEN, rate=options.smartbill_limit, hold_seconds=3.0
        )
        self.sendgrid = SendGridSimulator(api_keys={SG_KEY})
        self.sendgrid.faults.hold_seconds = 3.0
        self.hubs: list[HubProcess] = []
        self.amqp: FaultProxy | None = None
        self.edges: FaultProxy | None = None
        self.conn: asyncpg.Connection | None = None
        self.placed: list[Placed] = []
        self.product_ids: dict[str, int] = {}
        self.urls: dict[str, str] = {}
        self._rng = random.Random(20261129)
        self._numbers = itertools.count(1)
        self.events_delivered = 0  # SendGrid events the edge took

    # --- setting up -----------------------------------------------------------------------

    async def _serve(self, stack: AsyncExitStack, name: str, app: web.Application) -> None:
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self.urls[name] = f"http://127.0.0.1:{port}"

    async def open(self, stack: AsyncExitStack) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await admin.close()
        stack.push_async_callback(self._drop_database)
        if self.options.bus_prefix is None:
            stack.push_async_callback(clear_bus, self.prefix, delete=True)
        else:
            await clear_bus(self.prefix, delete=False)
        # every change in the shop in a second of its own (WordPress dates have one-second
        # resolution; the intake's dedupe key holds date_modified_gmt)
        start, ticks = datetime.now(UTC), itertools.count()
        self.woo.store.clock = lambda: start + timedelta(seconds=next(ticks))
        for sku, (cost, margin) in SKUS.items():
            net = (cost * (1 + margin)).quantize(Decimal("0.01"))
            self.product_ids[sku] = self.woo.add_product(
                name=f"Produs {sku}",
                sku=sku,
                regular_price=str(net),
                manage_stock=True,
                stock_quantity=0,
            )["id"]
        await self._serve(stack, "woocommerce", woo_app(self.woo))
        await self._serve(stack, "smartbill", self.smartbill.app())
        await self._serve(stack, "sendgrid", sendgrid_app(self.sendgrid))
        stack.callback(self.smartbill.release)
        stack.callback(self.sendgrid.release)
        if self.options.amqp_proxy:
            self.amqp = await FaultProxy([("127.0.0.1", 5672)]).start()
            stack.push_async_callback(self.amqp.close)
        ports = [free_port() for _ in range(self.options.hubs)]
        self.hubs = [
            HubProcess(f"hub{n + 1}", self._env(port), self.workdir / f"hub{n + 1}.log")
            for n, port in enumerate(ports)
        ]
        if self.options.profile is not None:
            self.hubs[0].command = profiled(self.options.profile)
        stack.push_async_callback(self._stop_hubs)
        await self._migrate_and_seed()
        # the shop's webhooks go to the edges in turn (a load balancer skipping a dead one)
        self.edges = await FaultProxy([("127.0.0.1", p) for p in ports]).start()
        stack.push_async_callback(self.edges.close)
        for hub in self.hubs:
            await hub.start()
        hooks = f"http://127.0.0.1:{self.edges.port}/webhooks/woocommerce"
        for topic in ("order.created", "order.updated", "product.updated"):
            hook = self.woo.add_webhook(topic, hooks, HOOK_SECRET)
            status = await self.woo.webhooks.ping(hook.id)
            assert status == 200, f"the edge refused the webhook ping ({status})"
        stack.push_async_callback(self.woo.webhooks.flush)
        pump = asyncio.create_task(self._event_webhook())
        stack.push_async_callback(_cancel, pump)
        self.conn = await asyncpg.connect(self.dsn)
        await init_connection(self.conn)
        stack.push_async_callback(self._close_conn)
        await self._wait_catalog()

    def _env(self, port: int) -> dict[str, str]:
        amqp_port = self.amqp.port if self.amqp is not None else 5672
        env = {k: v for k, v in os.environ.items() if not k.startswith("CYPHER_")}
        sb = {
            "base_url": self.urls["smartbill"] + API,
            "username": SB_USER,
            "token": SB_TOKEN,
            "cif": SB_CIF,
            "invoice_series": "LDX",
            "proforma_series": "LDXP",
            "timeout": str(self.options.smartbill_timeout),
            "block_seconds": str(self.options.smartbill_limit.block),
            "breaker_reset_timeout": "0.5",
            "attempts": "1",
            **self.options.hub_smartbill_limit,
        }
        woo = {
            "base_url": self.urls["woocommerce"],
            "consumer_key": WOO_KEY,
            "consumer_secret": WOO_SECRET,
            "webhook_secret": HOOK_SECRET,
            "timeout": "3",
            "per_second": "1000",
            "burst": "100",
            "retry_backoff": "0.1",
            "retry_max_backoff": "1",
            "breaker_reset_timeout": "1",
            "push_window": "0.5",
            "poll_interval": "3",
            "poll_overlap": "5",
        }
        sg = {
            "base_url": self.urls["sendgrid"],
            "api_key": SG_KEY,
            "timeout": "1.5",
            "per_second": "1000",
            "burst": "100",
            "retry_backoff": "0.2",
            "retry_max_backoff": "1",
            "reconcile_after": "5",  # well above the Event Webhook's delay (the pump's ~1 s)
            "breaker_reset_timeout": "0.5",
            "webhook_public_key": self.sendgrid.public_key,
        }
        invoicing = {"retry_backoff": "0.2", "retry_max_backoff": "1", "reconcile_after": "1.2"}
        env.update(
            {
                "CYPHER_CONFIG": str(ROOT / "tests" / "empty.toml"),
                "CYPHER_ENV": "test",
                "CYPHER_DATABASE_URL": self.dsn,
                "CYPHER_AMQP_URL": AMQP_URL.replace(":5672/", f":{amqp_port}/"),
                "CYPHER_REDIS_URL": "redis://127.0.0.1:6379/0",
                "CYPHER_HTTP_HOST": "127.0.0.1",
                "CYPHER_HTTP_PORT": str(port),
                "CYPHER_DATA_DIR": str(self.workdir / "data"),
                "CYPHER_BUS_PREFIX": self.prefix,
                "CYPHER_QUEUE_EXPIRES": "900",
                "CYPHER_RETRY_DELAYS": ",".join(str(d) for d in RETRY_DELAYS),
                "CYPHER_SANDBOX": "off",
                "CYPHER_DEMO_DATA": "off",
                "CYPHER_LOG_LEVEL": self.options.log_level,
                "CYPHER_SHUTDOWN_TIMEOUT": "10",
                "CYPHER_JWT_SECRET": "chaos-jwt-secret-of-32-characters-at-least",
            }
        )
        for section, values in (
            ("SMARTBILL", sb),
            ("WOOCOMMERCE", woo),
            ("SENDGRID", sg),
            ("INVOICING", invoicing),
        ):
            env.update({f"CYPHER_{section}_{k.upper()}": v for k, v in values.items()})
        env.update(self.options.extra_env)
        return env

    async def _migrate_and_seed(self) -> None:
        """Migrate with the hub's own command, then the catalog and a deep opening stock,
        written to the outbox as a seed would: the hubs publish them when they start."""
        env = self.hubs[0].env
        done = await asyncio.to_thread(
            subprocess.run, [*HUB, "migrate"], cwd=ROOT, env=env, capture_output=True
        )
        assert done.returncode == 0, done.stderr.decode()
        catalog = products(
            *(
                snapshot(sku, name=f"Produs {sku}", cost=str(cost), margin=str(margin))
                for sku, (cost, margin) in SKUS.items()
            )
        )
        conn = await asyncpg.connect(self.dsn)
        await init_connection(conn)
        try:
            async with conn.transaction():
                await seeds.emit(conn, catalog, key="catalog")
            await receive(conn, [(sku, "HQ", OPENING_STOCK) for sku in SKUS], publish=True)
        finally:
            await conn.close()

    async def _event_webhook(self) -> None:
        """SendGrid's Event Webhook: a second or so after SendGrid queues an email, its
        ``processed`` and ``delivered`` events reach the hub's edge in signed batches; a batch
        the edge does not take is sent again later (SendGrid retries for 24 hours)."""
        url = f"http://127.0.0.1:{self.edges.port if self.edges else 0}/webhooks/sendgrid"
        sent = 0
        pending: list[dict[str, Any]] = []
        while True:
            await asyncio.sleep(1.0)
            fresh = self.sendgrid.accepted[sent:]
            sent += len(fresh)
            for mail in fresh:
                pending.extend(self.sendgrid.events_for(mail, "processed", "delivered"))
            while pending:
                batch, rest = pending[:200], pending[200:]
                try:
                    status = await self.sendgrid.deliver_events(url, batch)
                except (aiohttp.ClientError, OSError):
                    status = 0
                if not 200 <= status < 300:
                    break  # again at the next tick
                pending = rest
                self.events_delivered += len(batch)

    async def reconnect(self) -> None:
        """A new connection to the hub's database (after PostgreSQL restarted)."""
        if self.conn is not None:
            self.conn.terminate()

        async def connect() -> asyncpg.Connection | None:
            try:
                conn = await asyncpg.connect(self.dsn)
            except (OSError, asyncpg.PostgresError):
                return None
            await init_connection(conn)
            return conn

        self.conn = await eventually(connect, timeout=60, interval=0.25, what="PostgreSQL back")

    async def _wait_catalog(self) -> None:
        async def known() -> bool:
            assert self.conn is not None
            return bool(
                await self.conn.fetchval(
                    "SELECT (SELECT count(*) FROM order_products) = $1 "
                    "AND (SELECT count(*) FROM pricing_list_prices) = $1 "
                    "AND (SELECT count(*) FROM inventory_skus WHERE unit IS NOT NULL) = $1",
                    len(SKUS),
                )
            )

        await eventually(
            known,
            timeout=60,
            interval=0.25,
            what="the catalog known to orders, pricing and inventory",
        )

    async def _close_conn(self) -> None:
        if self.conn is not None:
            await self.conn.close()

    async def _stop_hubs(self) -> None:
        await asyncio.gather(*(h.stop() for h in self.hubs))

    async def _drop_database(self) -> None:
        admin = await asyncpg.connect(self.admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            await admin.close()

    # --- the shop's customers -------------------------------------------------------------

    def place(self, transfer_share: float = 0.2) -> Placed:
        """One customer checks out: a card order (paid) or a company's bank-transfer order."""
        rng, n = self._rng, next(self._numbers)
        chosen = rng.sample(sorted(SKUS), rng.choice((1, 1, 2, 2, 3)))
        lines = {sku: rng.randint(1, 4) for sku in chosen}
        method = "transfer" if rng.random() < transfer_share else "card"
        email = f"client{n}@chaos.example.ro"
        billing = {**address(rng, "Ana", f"Client{n}"), "email": email}
        fields: dict[str, Any] = {
            "billing": billing,
            "shipping": {k: v for k, v in billing.items() if k != "email"},
            "line_items": [
                {"product_id": self.product_ids[sku], "quantity": qty} for sku, qty in lines.items()
            ],
        }
        if method == "card":
            fields.update(
                payment_method="stripe",
                payment_method_title="Card",
                set_paid=True,
                status="processing",
                transaction_id=f"ch_{n:012d}",
            )
        else:
            billing["company"] = f"Client{n} Instal SRL"
            fields.update(
                payment_method="bacs",
                payment_method_title="Transfer bancar",
                status="on-hold",
                meta_data=[
                    {"key": "_billing_cui", "value": cui(rng)},
                    {"key": "_billing_nr_reg_com", "value": f"J40/{n}/2020"},
                ],
            )
        order = self.woo.place_order(**fields)
        placed = Placed(order["id"], method, email, lines, time.time())
        self.placed.append(placed)
        return placed

    async def burst(self, count: int, rate: float | None = None) -> list[Placed]:
        """``count`` orders, at ``rate`` a second (None: as fast as the shop takes them)."""
        out: list[Placed] = []
        started = time.monotonic()
        for n in range(count):
            out.append(self.place())
            if rate:
                delay = started + (n + 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif n % 20 == 19:
                await asyncio.sleep(0)  # let the webhooks go out as the shop's do
        return out

    # --- watching -------------------------------------------------------------------------

    def emails_by_category(self) -> dict[tuple[str, str], int]:
        """Emails SendGrid accepted, by (recipient, category)."""
        counts: dict[tuple[str, str], int] = {}
        for mail in self.sendgrid.accepted:
            for to in mail.to:
                for category in mail.categories or [""]:
                    counts[to, category] = counts.get((to, category), 0) + 1
        return counts


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@asynccontextmanager
async def running_floor(options: Options, workdir: Path, admin_dsn: str) -> AsyncIterator[Floor]:
    """A floor set up and running; everything stopped and the database dropped afterwards."""
    floor = Floor(options, workdir, admin_dsn)
    async with AsyncExitStack() as stack:
        await floor.open(stack)
        yield floor

"""The shop floor of the end-to-end tests: the WooCommerce, SmartBill and SendGrid simulators on
loopback, and the hub's edge on PostgreSQL, RabbitMQ and Redis with the real WooCommerce
connector, orders, pricing, inventory, invoicing, notifications and SendGrid actors. The shop's
webhooks are signed by the WooCommerce simulator and go through the edge's intake, as in
production; nothing between the shop and SmartBill is a stand-in."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
from aiohttp.test_utils import TestServer

from actors.inventory.actor import InventoryActor
from actors.invoicing.actor import build as invoicing_actor
from actors.invoicing.settings import InvoicingSettings
from actors.notifications.actor import NotificationsActor
from actors.orders.actor import OrdersActor
from actors.orders.api import api as orders_api
from actors.pricing.actor import Pricing
from actors.pricing.settings import PricingSettings
from connectors.sendgrid.actor import build as sendgrid_connector
from connectors.sendgrid.settings import SendGridSettings
from connectors.sendgrid.simulator import SendGridSimulator
from connectors.sendgrid.simulator import create_app as sendgrid_app
from connectors.smartbill.client import build_client
from connectors.smartbill.settings import SmartBillSettings
from connectors.smartbill.sim_books import SimDocument
from connectors.smartbill.simulator import API, RateLimit, SmartBillSimulator
from connectors.woocommerce import webhooks as woo_webhooks
from connectors.woocommerce.actor import build as woo_connector
from connectors.woocommerce.settings import WooCommerceSettings
from connectors.woocommerce.simulator import WooCommerceSimulator
from connectors.woocommerce.simulator import create_app as woo_app
from hub.breaker import Breaker
from hub.db import Database
from hub.edge.keys import HUB
from hub.messages import Envelope, encode
from hub.ratelimit import MemoryRateLimiter
from hub.settings import Secret
from tests.e2e.api_support import Edge
from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.inventory.support import receive
from tests.integration.notifications.support import SETTINGS as NOTIFY_SETTINGS
from tests.integration.notifications.support import TABLES as NOTIFY_TABLES
from tests.integration.orders.support import ORDER_TABLES, PRICING_TABLES, products, snapshot
from tests.support import eventually

WOO_KEY, WOO_SECRET, HOOK_SECRET = "ck_ledux_hub", "cs_ledux_hub", "wh-e2e-secret"
SB_USER, SB_TOKEN, SB_CIF = "api@ledux.ro", "sim-token", "RO18547290"
SG_KEY = "SG.e2e-key"
# SmartBill's limit at a tenth of its time scale (30 calls a second instead of 30 in ten
# seconds), and the hub's own limit under it by the same rule as the real one (5 + 20 x 1 <= 30)
LIMIT = RateLimit(calls=30, window=1.0, block=4.0)
HUB_LIMIT = {"per_second": 20.0, "burst": 5, "limit_calls": 30, "limit_window": 1.0}
CATALOG = products(
    snapshot("STRIP-5050", name="Bandă LED 5050 12V 14,4W/m", cost="10.00", margin="0.35"),
    snapshot("DRV-100W", name="Sursă alimentare 12V 100W", cost="50.00", margin="0.40"),
    snapshot("PROFIL-2M", name="Profil aluminiu 2m", cost="20.00", margin="0.50"),
)
NET = {"STRIP-5050": "13.50", "DRV-100W": "70.00", "PROFIL-2M": "30.00"}  # cost x (1 + margin)
STOCK = {"STRIP-5050": "400", "DRV-100W": "150", "PROFIL-2M": "300"}
CONSUMER = {
    "first_name": "Maria",
    "last_name": "Ionescu",
    "address_1": "Str. Lalelelor 12",
    "address_2": "ap. 4",
    "city": "Cluj-Napoca",
    "state": "CJ",
    "postcode": "400000",
    "country": "RO",
    "email": "maria@example.ro",
    "phone": "0744555666",
}
COMPANY = {
    **CONSUMER,
    "first_name": "Andrei",
    "last_name": "Stan",
    "company": "Lumina Instal SRL",
    "address_1": "Șoseaua Ștefan cel Mare 12",
    "address_2": "Sector 2",
    "city": "București",
    "state": "B",
    "postcode": "020000",
    "email": "office@lumina-instal.ro",
}
COMPANY_META = [
    {"key": "_billing_cui", "value": "RO18547290"},
    {"key": "_billing_nr_reg_com", "value": "J40/1234/2020"},
]


def line(sku: str, quantity: int) -> dict[str, Any]:
    """A line item as the shop's checkout makes it, at the hub's net price."""
    return {"sku": sku, "quantity": quantity, "price": NET[sku]}


@dataclass
class Floor:
    """The running shop floor and what the tests read and steer."""

    edge: Edge
    woo: WooCommerceSimulator
    smartbill: SmartBillSimulator
    sendgrid: SendGridSimulator
    woo_products: dict[str, int]  # SKU -> the shop's product id

    @property
    def conn(self) -> asyncpg.Connection:
        return self.edge.conn

    def hub_id(self, shop_order: dict[str, Any]) -> str:
        """The hub's id of a shop order."""
        return f"woo-{shop_order['id']}"

    async def states(self, orders: Sequence[dict[str, Any]]) -> dict[str, str]:
        """The hub's state of each shop order (by hub id) the hub knows."""
        rows = await self.conn.fetch(
            "SELECT id, state FROM orders WHERE id = ANY($1)", [self.hub_id(o) for o in orders]
        )
        return {r["id"]: r["state"] for r in rows}

    def shop_status(self, shop_order: dict[str, Any]) -> str:
        """The status the shop shows now."""
        return str(self.woo.store.records["order"][shop_order["id"]]["status"])

    def documents_of(self, order_id: str, kind: str = "invoice") -> list[SimDocument]:
        """The SmartBill documents of ``kind`` made for a hub order (its request id is in
        their observations)."""
        request = f"{'proforma' if kind == 'estimate' else kind}:{order_id}"
        return [
            d
            for d in self.smartbill.documents(kind)
            if f"({request})" in str(d.body.get("observations"))
            or f"({request}:" in str(d.body.get("observations"))
        ]


def busiest_window(times: Sequence[float], window: float) -> int:
    """The most calls in any ``window`` seconds (a sliding window, stricter than SmartBill's)."""
    ordered, most, first = sorted(times), 0, 0
    for last, at in enumerate(ordered):
        while at - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most


@asynccontextmanager
async def shop_floor(
    start_api: Callable[..., Awaitable[Edge]],
    db: Database,
    conn: asyncpg.Connection,
    *,
    smartbill_timeout: float = 2.0,
    invoicing: InvoicingSettings | None = None,
) -> AsyncIterator[Floor]:
    """Everything running, the catalog known to every context, stock received, the shop's
    products and webhooks set up."""
    await conn.execute(
        f"TRUNCATE {ORDER_TABLES}, {PRICING_TABLES}, {NOTIFY_TABLES}, sendgrid_deliveries, "
        "invoicing_documents, woo_orders, woo_customers, woo_products CASCADE"
    )
    await conn.execute(
        "UPDATE woo_sync SET push_due_at = NULL, push_failures = 0, push_error = NULL, "
        "poll_cursor = NULL, polled_at = NULL, poll_error = NULL"
    )
    await clean_inventory(conn)
    woo = WooCommerceSimulator(keys={WOO_KEY: (WOO_SECRET, "read_write")})
    # every change in the shop in a second of its own (WordPress dates have one-second
    # resolution; the intake's dedupe key holds date_modified_gmt)
    start, ticks = datetime.now(UTC), itertools.count()
    woo.store.clock = lambda: start + timedelta(seconds=next(ticks))
    woo_products = {
        sku: woo.add_product(
            name=f"Produs {sku}",
            sku=sku,
            regular_price=NET[sku],
            manage_stock=True,
            stock_quantity=0,
        )["id"]
        for sku in NET
    }
    smartbill = SmartBillSimulator(
        username=SB_USER, token=SB_TOKEN, rate=RateLimit(**_limit()), hold_seconds=5.0
    )
    sendgrid = SendGridSimulator(api_keys={SG_KEY})
    async with AsyncExitStack() as stack:
        woo_server = await stack.enter_async_context(TestServer(woo_app(woo), host="127.0.0.1"))
        sb_server = await stack.enter_async_context(TestServer(smartbill.app(), host="127.0.0.1"))
        sg_server = await stack.enter_async_context(
            TestServer(sendgrid_app(sendgrid), host="127.0.0.1")
        )
        sb_settings = SmartBillSettings(
            username=SB_USER,
            token=Secret(SB_TOKEN),
            cif=SB_CIF,
            base_url=str(sb_server.make_url(API)),
            invoice_series="LDX",
            proforma_series="LDXP",
            timeout=smartbill_timeout,
            block_seconds=LIMIT.block,
            breaker_reset_timeout=0.5,
            attempts=1,
            **HUB_LIMIT,  # type: ignore[arg-type]
        )
        sb_client = build_client(sb_settings, limiter=MemoryRateLimiter())
        stack.push_async_callback(sb_client.close)
        woo_settings = WooCommerceSettings(
            base_url=str(woo_server.make_url("")).rstrip("/"),
            consumer_key=Secret(WOO_KEY),
            consumer_secret=Secret(WOO_SECRET),
            webhook_secret=Secret(HOOK_SECRET),
            timeout=5.0,
            per_second=1000.0,
            burst=100,
            retry_backoff=0.05,
            retry_max_backoff=0.2,
            push_window=0.5,
            poll_interval=3600.0,
        )
        actors = (
            woo_connector(
                woo_settings,
                db,
                limiter=MemoryRateLimiter(),
                breaker=Breaker("woocommerce-e2e", fail_max=50, reset_timeout=0.2),
            ),
            OrdersActor(),
            Pricing(PricingSettings()),
            InventoryActor(),
            invoicing_actor(
                invoicing or InvoicingSettings(retry_backoff=0.1, retry_max_backoff=0.5),
                sb_settings,
                db,
                sb_client,
            ),
            NotificationsActor(NOTIFY_SETTINGS),
            sendgrid_connector(
                SendGridSettings(
                    api_key=Secret(SG_KEY), base_url=str(sg_server.make_url("")).rstrip("/")
                ),
                db,
                limiter=MemoryRateLimiter(),
            ),
        )
        edge = await start_api(
            apis=[orders_api],
            webhooks=[lambda hub: woo_webhooks.source(hub, config=woo_settings)],
            actors=actors,
        )
        floor = Floor(edge, woo, smartbill, sendgrid, woo_products)
        try:
            await _set_up(floor)
            yield floor
        finally:
            smartbill.release()
            sendgrid.release()
            await woo.webhooks.flush()
            await edge.client.close()  # the hub stops before the client and the pool close


def _limit() -> dict[str, float | int]:
    return {"calls": LIMIT.calls, "window": LIMIT.window, "block": LIMIT.block}


async def _set_up(floor: Floor) -> None:
    url = str(floor.edge.client.make_url("/webhooks/woocommerce"))
    for topic in ("order.created", "order.updated", "product.updated"):
        hook = floor.woo.add_webhook(topic, url, HOOK_SECRET)
        assert await floor.woo.webhooks.ping(hook.id) == 200, "the edge refused the ping"
    env = Envelope.new(CATALOG, key="catalog", actor="user:5")
    await floor.edge.client.app[HUB].bus.publish(env, encode(CATALOG))
    await eventually(
        lambda: floor.conn.fetchval(
            "SELECT (SELECT count(*) FROM order_products) = 3 "
            "AND (SELECT count(*) FROM pricing_list_prices) = 3 "
            "AND (SELECT count(*) FROM inventory_skus WHERE unit IS NOT NULL) = 3"
        ),
        what="the catalog known to orders, pricing and inventory",
    )
    await receive(floor.conn, [(sku, "HQ", qty) for sku, qty in STOCK.items()], publish=True)


def shop_stock(floor: Floor) -> dict[str, Decimal]:
    """The stock each shop product shows."""
    records = floor.woo.store.records["product"]
    return {sku: Decimal(records[pid]["stock_quantity"]) for sku, pid in floor.woo_products.items()}

"""Helpers of the WooCommerce connector actor tests: the edge's stand-in, a recorder of what the
connector asks and announces, and shop orders to place."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg
from aiohttp import web

from actors.orders.messages import CancelOrder, PlaceOrder
from actors.pricing.actor import Pricing
from actors.pricing.settings import PricingSettings
from connectors.woocommerce import webhooks
from connectors.woocommerce.messages import (
    OrderParked,
    OrderTotalsMismatch,
    ShopOrderCancelled,
)
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.edge.webhooks import SignatureError
from hub.messages import Envelope, Message, encode
from tests.integration.orders.support import products, snapshot
from tests.support import eventually

KEY, SECRET = "ck_ledux_hub", "cs_ledux_hub"
CATALOG = products(
    snapshot("STRIP-5050", name="Bandă LED 5050 12V", cost="10.00", margin="0.35"),  # 13.50
    snapshot("DRV-100W", name="Sursă 12V 100W", cost="50.00", margin="0.40"),  # 70.00
)
BILLING = {
    "first_name": "Ioana",
    "last_name": "Popescu",
    "address_1": "Str. Lalelelor 12",
    "address_2": "ap. 4",
    "city": "Cluj-Napoca",
    "state": "CJ",
    "postcode": "400000",
    "country": "RO",
    "email": "ioana@example.ro",
    "phone": "0740000000",
}
COMPANY_META = [
    {"key": "_billing_cui", "value": "RO18547290"},
    {"key": "_billing_nr_reg_com", "value": "J40/1234/2020"},
]


@dataclass
class Intake:
    """Stands in for the edge's intake: checks the signature, drops a delivery whose dedupe key
    it has seen, publishes ``WebhookReceived`` on the hub's bus as the outbox would."""

    secret: str = "wh-secret-ledux"
    hub: Hub | None = None
    keys: set[str] = field(default_factory=set)
    published: list[Message] = field(default_factory=list)
    envelopes: list[Envelope] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/woocommerce", self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            webhooks.verifier(self.secret)(request.headers, body)
        except SignatureError:
            return web.Response(status=401)
        key = webhooks.dedupe_key(request.headers, body)
        if key not in self.keys and self.hub is not None:
            self.keys.add(key)
            translation = webhooks.message(request.headers, body)
            self.published.append(translation.message)
            self.envelopes.append(await publish(self.hub, translation.message, key=translation.key))
        return web.Response(status=200)


class Flags(Actor, name="woo-test-flags"):
    """Whoever listens to the connector's flags (ops, notifications)."""

    def __init__(self) -> None:
        self.placed: list[PlaceOrder] = []
        self.parked: list[OrderParked] = []
        self.mismatches: list[OrderTotalsMismatch] = []
        self.cancelled: list[ShopOrderCancelled] = []

    @handler
    async def flagged(
        self, msg: OrderParked | OrderTotalsMismatch | ShopOrderCancelled, ctx: Context
    ) -> None:
        if isinstance(msg, OrderParked):
            self.parked.append(msg)
        elif isinstance(msg, OrderTotalsMismatch):
            self.mismatches.append(msg)
        else:
            self.cancelled.append(msg)


class Recorder(Flags, name="woo-test-recorder"):
    """The flags, and a stand-in for the orders context: the PlaceOrder and CancelOrder
    commands it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.cancels: list[CancelOrder] = []

    @handler
    async def place(self, msg: PlaceOrder, ctx: Context) -> None:
        self.placed.append(msg)

    @handler
    async def cancel(self, msg: CancelOrder, ctx: Context) -> None:
        self.cancels.append(msg)

    def orders(self, order_id: str) -> list[PlaceOrder]:
        """The PlaceOrder commands received for one order id."""
        return [m for m in self.placed if m.order_id == order_id]


async def publish(hub: Hub, message: Message, *, key: str | None = None) -> Envelope:
    """Publish ``message`` on the hub's bus."""
    env = Envelope.new(message, key=key)
    await hub.bus.publish(env, encode(message))
    return env


async def handled(conn: asyncpg.Connection, *envelopes: Envelope) -> bool:
    """True once the connector has handled every one of these messages (its inbox holds them)."""
    count = await conn.fetchval(
        "SELECT count(*) FROM hub_inbox WHERE actor = 'woocommerce' AND message_id = ANY($1)",
        [e.message_id for e in envelopes],
    )
    return bool(count == len(envelopes))


async def start(
    start_hub: Any, intake: Intake, conn: asyncpg.Connection, *actors: Actor, **overrides: Any
) -> Hub:
    """The hub with the real pricing actor (the catalog's two products known) and ``actors``;
    the intake publishes on it."""
    hub: Hub
    hub, _ = await start_hub(Pricing(PricingSettings()), *actors, **overrides)
    intake.hub = hub
    await publish(hub, CATALOG, key="catalog")
    await eventually(
        lambda: conn.fetchval("SELECT count(*) = 2 FROM pricing_list_prices"),
        what="the catalog priced",
    )
    return hub


def line(sku: str, quantity: int, price: str) -> dict[str, Any]:
    """A line item as the shop's checkout makes it (unit price net of VAT)."""
    return {"sku": sku, "quantity": quantity, "price": price}


async def woo_row(conn: asyncpg.Connection, shop_order_id: int) -> dict[str, Any] | None:
    """The connector's row of a shop order."""
    row = await conn.fetchrow("SELECT * FROM woo_orders WHERE shop_order_id = $1", shop_order_id)
    return dict(row) if row is not None else None


async def outbox_count(conn: asyncpg.Connection, type_: str, key: str) -> int:
    """Messages of ``type_`` written under ``key`` (what the hub published)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM hub_outbox WHERE type = $1 AND envelope->>'key' = $2", type_, key
    )
    return count


def money(value: str) -> Decimal:
    return Decimal(value)

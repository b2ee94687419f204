"""The order-to-invoice flow ends with the customer's email: a card order placed through the bus
is priced, reserved and confirmed by the real orders, pricing and inventory actors; the real
invoicing actor issues its invoice in the SmartBill simulator; the customer gets the order
confirmation (email and, opted in, a WhatsApp template) and the invoice email with SmartBill's
PDF attached, through the real notifications actor and SendGrid/WhatsApp connectors and their
simulators. Everything exactly once, on RabbitMQ and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer

from actors.inventory.actor import InventoryActor
from actors.invoicing.actor import build as invoicing_actor
from actors.invoicing.settings import InvoicingSettings
from actors.notifications.actor import NotificationsActor
from actors.orders.actor import OrdersActor
from actors.orders.messages import Customer
from actors.pricing.actor import Pricing
from actors.pricing.settings import PricingSettings
from connectors.sendgrid.actor import build as sendgrid_connector
from connectors.sendgrid.settings import SendGridSettings
from connectors.sendgrid.simulator import SendGridSimulator, create_app
from connectors.smartbill.client import build_client
from connectors.smartbill.settings import SmartBillSettings
from connectors.smartbill.simulator import API, SmartBillSimulator
from connectors.whatsapp.actor import build as whatsapp_connector
from connectors.whatsapp.settings import WhatsAppSettings
from connectors.whatsapp.simulator import WhatsAppSimulator
from hub.db import Database
from hub.edge.keys import HUB
from hub.messages import Envelope, Message, encode
from hub.ratelimit import MemoryRateLimiter
from hub.settings import Secret
from tests.e2e.api_support import Edge
from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.inventory.support import receive
from tests.integration.notifications.support import SETTINGS, TABLES, save_customer
from tests.integration.orders.support import ORDER_TABLES, PRICING_TABLES, place, products, snapshot
from tests.support import eventually

SG_KEY, WA_TOKEN, PHONE_ID = "SG.flow-key", "EAAG-flow", "1000000001"
SB_USER, SB_TOKEN, SB_CIF = "api@ledux.ro", "sim-token", "RO18547290"
CATALOG = products(
    snapshot("STRIP", name="Bandă LED 5050 12V 14.4W/m", unit="metre", cost="10.00"),
    snapshot("DRIVER", name="Sursă alimentare 12V 100W", cost="50.00", margin="0.40"),
)


@dataclass
class Shop:
    edge: Edge
    smartbill: SmartBillSimulator
    sendgrid: SendGridSimulator
    whatsapp: WhatsAppSimulator

    @property
    def conn(self) -> asyncpg.Connection:
        return self.edge.conn

    async def publish(self, message: Message, key: str) -> None:
        env = Envelope.new(message, key=key, actor="user:5")
        await self.edge.client.app[HUB].bus.publish(env, encode(message))


@pytest.fixture
async def shop(
    start_api: Callable[..., Awaitable[Edge]], actor_db: Database, db_conn: asyncpg.Connection
) -> AsyncIterator[Shop]:
    await db_conn.execute(
        f"TRUNCATE {ORDER_TABLES}, {PRICING_TABLES}, {TABLES}, sendgrid_deliveries, "
        "whatsapp_deliveries, invoicing_documents CASCADE"
    )
    await clean_inventory(db_conn)
    smartbill = SmartBillSimulator(username=SB_USER, token=SB_TOKEN)
    sendgrid = SendGridSimulator(api_keys={SG_KEY})
    whatsapp = WhatsAppSimulator(
        token=WA_TOKEN, phone_number_id=PHONE_ID, templates={"order_confirmed_v1": 3}
    )
    db = actor_db
    async with (
        TestServer(smartbill.app(), host="127.0.0.1") as sb_server,
        TestServer(create_app(sendgrid), host="127.0.0.1") as sg_server,
        TestServer(whatsapp.app(), host="127.0.0.1") as wa_server,
    ):
        sb_settings = SmartBillSettings(
            username=SB_USER,
            token=Secret(SB_TOKEN),
            cif=SB_CIF,
            base_url=str(sb_server.make_url(API)),
            invoice_series="LDX",
            proforma_series="LDXP",
            timeout=2.0,
        )
        client = build_client(sb_settings, limiter=MemoryRateLimiter())
        invoicing = invoicing_actor(
            InvoicingSettings(retry_backoff=0.1, retry_max_backoff=0.5), sb_settings, db, client
        )
        sendgrid_actor = sendgrid_connector(
            SendGridSettings(
                api_key=Secret(SG_KEY), base_url=str(sg_server.make_url("")).rstrip("/")
            ),
            db,
            limiter=MemoryRateLimiter(),
        )
        whatsapp_actor = whatsapp_connector(
            WhatsAppSettings(
                access_token=Secret(WA_TOKEN),
                phone_number_id=PHONE_ID,
                base_url=str(wa_server.make_url("")).rstrip("/"),
            ),
            db,
            limiter=MemoryRateLimiter(),
        )
        edge = await start_api(
            actors=(
                OrdersActor(),
                Pricing(PricingSettings()),
                InventoryActor(),
                invoicing,
                NotificationsActor(SETTINGS),
                sendgrid_actor,
                whatsapp_actor,
            )
        )
        try:
            yield Shop(edge, smartbill, sendgrid, whatsapp)
        finally:
            smartbill.release()
            sendgrid.release()
            whatsapp.release()
            await edge.client.close()  # the hub stops before the actors' pool closes
            await client.close()


async def _known(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT (SELECT count(*) FROM order_products) = 2 "
            "AND (SELECT count(*) FROM pricing_list_prices) = 2 "
            "AND (SELECT count(*) FROM inventory_skus WHERE unit IS NOT NULL) = 2"
        )
    )


async def test_a_card_order_ends_with_one_invoice_and_its_pdf_in_the_customers_inbox(
    shop: Shop,
) -> None:
    await shop.publish(CATALOG, key="catalog")
    await eventually(lambda: _known(shop.conn), what="the catalog known to every context")
    await receive(shop.conn, [("STRIP", "HQ", "20"), ("DRIVER", "HQ", "10")])
    await save_customer(shop.conn, "C-500", email="maria@lumina.ro", phone="40744555666")
    customer = Customer(
        kind="consumer",
        name="Maria Ionescu",
        email="maria@lumina.ro",
        phone="0744 555 666",
        customer_id="C-500",
    )
    order = place("o-flow-1", ("STRIP", "8"), ("DRIVER", "3"), payment="card", customer=customer)
    for _ in range(2):  # the shop's retry: placing twice changes nothing
        await shop.publish(order, key="order:o-flow-1")

    def invoice_email() -> Any:
        return next((a for a in shop.sendgrid.accepted if a.categories == ["invoice_issued"]), None)

    mail = await eventually(invoice_email, timeout=45, what="the invoice email in SendGrid")

    [invoice] = shop.smartbill.documents("invoice")
    number = f"{invoice.series} {invoice.number}"
    assert number in mail.subject
    [(filename, content_type, pdf)] = mail.attachments
    assert content_type == "application/pdf" and pdf.startswith(b"%PDF")
    assert invoice.series in filename and invoice.number in filename
    assert mail.to == ["maria@lumina.ro"]
    gross = await shop.conn.fetchval("SELECT gross FROM orders WHERE id = 'o-flow-1'")
    assert gross is not None and f"{gross:.2f}".replace(".", ",") in mail.content["text/plain"]

    # the confirmation went by email and WhatsApp (opted in), each once; one invoice in all
    await eventually(
        lambda: len(shop.whatsapp.accepted) == 1 and len(shop.sendgrid.accepted) == 2,
        what="confirmation by email and WhatsApp",
    )
    [wa] = shop.whatsapp.accepted
    assert wa["to"] == "40744555666" and wa["body"]["template"]["name"] == "order_confirmed_v1"
    categories = sorted(a.categories[0] for a in shop.sendgrid.accepted)
    assert categories == ["invoice_issued", "order_confirmed"]
    assert len(shop.smartbill.documents()) == 1
    assert await shop.conn.fetchval("SELECT state FROM orders WHERE id = 'o-flow-1'") == (
        "confirmed"
    )

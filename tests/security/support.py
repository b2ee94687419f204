"""Helpers of the security tests: two B2B customers' records made through the real routes and
actors, and a search of captured log records for secrets."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from actors.catalog.messages import ProductsChanged
from actors.notifications import chat
from actors.notifications.messages import NotifyCustomer
from connectors.whatsapp import webhooks as whatsapp
from connectors.whatsapp.messages import WebhookReceived
from hub.edge.keys import HUB
from hub.messages import Envelope, Message, encode
from tests.e2e.api_support import Edge
from tests.integration.inventory.support import clean as clean_inventory
from tests.integration.notifications.support import TABLES as NOTIFICATION_TABLES
from tests.integration.orders.support import ORDER_TABLES, PRICING_TABLES, products, snapshot
from tests.integration.quotations.support import clean as clean_quotations
from tests.support import eventually

ALPHA, BETA = "C-ALPHA", "C-BETA"
PHONES = {ALPHA: "40744111222", BETA: "40755333444"}
# Cost and margin no customer may learn: distinctive, so a leak is found by searching for them.
COST, MARGIN = "17.39", "0.4321"
CATALOG = products(
    snapshot("STRIP-1", name="Bandă LED 5050 12V", unit="metre", cost=COST, margin=MARGIN),
    snapshot("LAMP-1", name="Proiector LED 50W", cost="8.17", margin="0.5"),
)
CHAT_TABLES = (
    "notification_chat_messages, notification_chat_statuses, notification_chat_conversations"
)
BILLING = {
    "name": "Lumina Instal SRL",
    "street": "Șoseaua Ștefan cel Mare 12",
    "city": "București",
    "county": "Sector 2",
}


async def clean_contexts(conn: asyncpg.Connection) -> None:
    """Empty the tables of the contexts the portal runs."""
    await conn.execute(f"TRUNCATE {ORDER_TABLES} CASCADE")
    await conn.execute(f"TRUNCATE {PRICING_TABLES} RESTART IDENTITY")
    await clean_inventory(conn)
    await clean_quotations(conn)
    await conn.execute(f"TRUNCATE {CHAT_TABLES}, {NOTIFICATION_TABLES} CASCADE")


async def publish(edge: Edge, message: Message, *, key: str | None = None) -> None:
    """Publish ``message`` on the edge's bus, as another context would."""
    await edge.client.app[HUB].bus.publish(Envelope.new(message, key=key), encode(message))


async def learn_catalog(edge: Edge, catalog: ProductsChanged) -> None:
    """Publish the catalog and wait until orders, pricing, inventory and quotations know it."""
    await publish(edge, catalog, key="catalog")
    count = len(catalog.products)
    await eventually(
        lambda: edge.conn.fetchval(
            "SELECT (SELECT count(*) FROM order_products) = $1 "
            "AND (SELECT count(*) FROM pricing_list_prices) = $1 "
            "AND (SELECT count(*) FROM inventory_skus WHERE unit IS NOT NULL) = $1 "
            "AND (SELECT count(*) FROM quotation_products) = $1",
            count,
        ),
        what="the catalog known to orders, pricing, inventory and quotations",
    )


def order_body(customer_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A B2B order of 3 m of strip, paid by bank transfer."""
    return {
        "customer": {
            "kind": "company",
            "name": "Lumina Instal SRL",
            "cui": "RO18547290",
            "email": "office@lumina.ro",
            "customer_id": customer_id,
        },
        "billing": BILLING,
        "payment_method": "bank_transfer",
        "lines": [{"sku": "STRIP-1", "quantity": "3"}],
        **extra,
    }


def quote_body(customer_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A quote for 10 m of strip."""
    return {
        "customer": {
            "kind": "company",
            "name": "Lumina Design SRL",
            "email": "ioana@lumina.ro",
            "cui": "RO18547290",
            "customer_id": customer_id,
            "address": {**BILLING, "name": "Lumina Design SRL"},
        },
        "lines": [{"sku": "STRIP-1", "quantity": "10"}],
        **extra,
    }


async def stored_order(conn: asyncpg.Connection, customer_id: str, state: str) -> str:
    """An order of ``customer_id`` in ``state``, written as the orders actor stores one."""
    order_id = f"ord-{customer_id}-{state}"
    await conn.execute(
        "INSERT INTO orders (id, number, source, customer_id, customer, billing, shipping, "
        "payment_method, state, placed_by, placed_at, updated_at) "
        "VALUES ($1, $1, 'api', $2, $3, $4, $4, 'bank_transfer', $5, 'test', now(), now())",
        order_id,
        customer_id,
        order_body(customer_id)["customer"],
        BILLING,
        state,
    )
    return order_id


async def place_order(edge: Edge, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Place an order and wait until it is priced and its stock asked for; its full view."""
    status, envelope, _ = await edge.call("POST", "/api/v1/orders", token=token, json=body)
    assert status == 202, envelope
    location = envelope["data"]["location"]

    async def settled() -> dict[str, Any] | None:
        status, seen, _ = await edge.call("GET", location, token=token)
        data: dict[str, Any] = seen["data"]  # 404 until the orders actor stored it
        return data if status == 200 and data["state"] != "pending" else None

    found: dict[str, Any] = await eventually(settled, what=f"{location} priced and reserved")
    return found


async def create_quote(edge: Edge, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a quote and wait until it is priced; its full view."""
    status, envelope, resp = await edge.call("POST", "/api/v1/quotations", token=token, json=body)
    assert status == 202, envelope
    location = resp.headers["Location"]

    async def priced() -> dict[str, Any] | None:
        _, seen, _ = await edge.call("GET", location, token=token)
        data: dict[str, Any] = seen["data"]
        return data if data["pricing"] == "priced" else None

    found: dict[str, Any] = await eventually(priced, what=f"{location} priced")
    return found


async def notify_in_app(edge: Edge, customer_id: str, key: str) -> str:
    """An in-app notification for the customer, through the notifications actor; its id."""
    msg = NotifyCustomer(
        notification_key=key,
        template="order_delivered",
        data={"order_id": key, "number": key, "customer_name": "Ana Ionescu"},
        customer_id=customer_id,
        channels=("in_app",),
    )
    await publish(edge, msg, key=customer_id)
    found: str = await eventually(
        lambda: edge.conn.fetchval(
            "SELECT i.id FROM notification_in_app i "
            "JOIN notification_deliveries d USING (delivery_id) "
            "JOIN notification_notifications n ON n.id = d.notification_id "
            "WHERE n.notification_key = $1",
            key,
        ),
        what=f"in-app notification {key}",
    )
    return found


async def customer_writes_on_whatsapp(conn: asyncpg.Connection, phone: str, text: str) -> None:
    """Meta tells the hub that ``phone`` wrote ``text`` (as the notifications actor stores it)."""
    at = int(datetime.now(UTC).timestamp()) - 60
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "40212345678", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Client"}, "wa_id": phone}],
        "messages": [
            {
                "from": phone,
                "id": f"wamid.{phone}.{at}",
                "timestamp": str(at),
                "type": "text",
                "text": {"body": text},
            }
        ],
    }
    body = msgspec.json.encode(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    )
    event = whatsapp.message({}, body).message
    assert isinstance(event, WebhookReceived)
    async with conn.transaction():
        await chat.on_webhook(conn, event, datetime.now(UTC))


# --- logs -----------------------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    """The value an HTTP Basic ``Authorization`` header carries for these credentials."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def record_text(record: logging.LogRecord) -> str:
    """Everything a log handler could write of ``record``: the message, its arguments, its
    structured extras and its traceback."""
    parts = [record.getMessage(), repr(record.args), repr(record.__dict__)]
    if record.exc_info and record.exc_info[1] is not None:
        parts.append(logging.Formatter().formatException(record.exc_info))
    if record.exc_text:
        parts.append(record.exc_text)
    return "\n".join(parts)


def leaks(records: list[logging.LogRecord], secrets: dict[str, str]) -> list[str]:
    """``name: logger: message`` for each secret found in a record (empty: none leaked)."""
    found = []
    for record in records:
        text = record_text(record)
        for name, value in secrets.items():
            if value and value in text:
                found.append(f"{name}: {record.name}: {record.getMessage()[:200]}")
    return found

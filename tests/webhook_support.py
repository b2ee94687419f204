"""Webhook test helpers: signing as each partner does, realistic payloads, row queries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

import asyncpg
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

WOO_SECRET = "wc-secret-9f2c"
META_SECRET = "meta-app-secret-77aa"
VERIFY_TOKEN = "ledux-verify-token"


# --- signing, as the senders do ---------------------------------------------------------------


def woo_signature(body: bytes, secret: str = WOO_SECRET) -> str:
    """``X-WC-Webhook-Signature``: base64 of the raw HMAC-SHA256."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def meta_signature(body: bytes, secret: str = META_SECRET) -> str:
    """``X-Hub-Signature-256``: ``sha256=`` + lowercase hex HMAC-SHA256."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sendgrid_signature(key: ec.EllipticCurvePrivateKey, timestamp: str, body: bytes) -> str:
    """``X-Twilio-Email-Event-Webhook-Signature``: base64 DER ECDSA/SHA-256 of timestamp + body."""
    return base64.b64encode(key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def public_key_b64(key: ec.EllipticCurvePrivateKey) -> str:
    """The verification key as SendGrid shows it: base64 DER SubjectPublicKeyInfo."""
    der = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(der).decode()


# --- payloads ---------------------------------------------------------------------------------


def woo_order(order_id: int, *, modified: str = "2026-11-20T10:15:00", lines: int = 3) -> bytes:
    """An ``order.created``/``updated`` body shaped like ``GET /wc/v3/orders/<id>``."""
    order = {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_{order_id:08x}",
        "status": "processing",
        "currency": "RON",
        "prices_include_tax": True,
        "date_created_gmt": "2026-11-20T10:14:58",
        "date_modified_gmt": modified,
        "total": "1249.50",
        "total_tax": "216.85",
        "customer_id": 311,
        "billing": {
            "first_name": "Ioana",
            "last_name": "Popescu",
            "company": "",
            "address_1": "Str. Lalelelor 12",
            "city": "Cluj-Napoca",
            "state": "CJ",
            "postcode": "400000",
            "country": "RO",
            "email": "ioana@example.ro",
            "phone": "+40740000000",
        },
        "shipping": {"first_name": "Ioana", "last_name": "Popescu", "city": "Cluj-Napoca"},
        "payment_method": "netopiapayments",
        "transaction_id": f"NTP-{order_id}",
        "line_items": [
            {
                "id": order_id * 10 + n,
                "name": f"Banda LED 5050 RGB {n} m",
                "sku": f"LED-5050-RGB-{n}",
                "quantity": n + 1,
                "total": "249.90",
                "total_tax": "43.37",
                "meta_data": [{"key": "culoare", "value": "RGB"}],
            }
            for n in range(lines)
        ],
        "meta_data": [{"id": 1, "key": "_billing_cui", "value": "RO4221306"}],
    }
    return json.dumps(order).encode()


def woo_headers(
    body: bytes, *, topic: str = "order.created", secret: str = WOO_SECRET
) -> dict[str, str]:
    """The headers WooCommerce sends with a delivery, signed with ``secret``."""
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "User-Agent": "WooCommerce/9.4.0 Hookshot (WordPress/6.7)",
        "X-WC-Webhook-Source": "https://ledux.ro/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-ID": "17",
        "X-WC-Webhook-Delivery-ID": "4c2b1e8f0c4b9d1a",
        "X-WC-Webhook-Signature": woo_signature(body, secret),
    }


def meta_notification(
    *,
    messages: Sequence[tuple[str, str]] = (),
    statuses: Sequence[tuple[str, str, str]] = (),
) -> bytes:
    """A WhatsApp notification: ``messages`` as (wamid, from), ``statuses`` (wamid, status, to)."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "40311000000", "phone_number_id": "1045"},
    }
    if messages:
        value["contacts"] = [{"wa_id": m[1], "profile": {"name": "Client"}} for m in messages]
        value["messages"] = [
            {
                "from": sender,
                "id": wamid,
                "timestamp": "1763633700",
                "type": "text",
                "text": {"body": "Bun\u0103 ziua, aveți banda în stoc?"},
            }
            for wamid, sender in messages
        ]
    if statuses:
        value["statuses"] = [
            {"id": wamid, "status": status, "timestamp": "1763633701", "recipient_id": to}
            for wamid, status, to in statuses
        ]
    notification = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "2101", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(notification).encode()  # ensure_ascii: escaped unicode, as Meta sends


def sendgrid_events(*event_ids: str) -> bytes:
    """An Event Webhook batch with one ``delivered`` event per id."""
    return json.dumps(
        [
            {
                "email": "client@example.ro",
                "timestamp": 1763633700,
                "event": "delivered",
                "sg_event_id": event_id,
                "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
                "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
                "response": "250 OK",
            }
            for event_id in event_ids
        ]
    ).encode()


async def rows(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The stored deliveries, in id order."""
    return await conn.fetch("SELECT * FROM webhook_deliveries ORDER BY id")


async def outbox(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    """The outbox rows, in id order."""
    return await conn.fetch("SELECT * FROM hub_outbox ORDER BY id")

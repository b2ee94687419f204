"""Helpers of the notifications tests: a stand-in for the SendGrid and WhatsApp connectors that
answers the way they do, a publisher, and readers of the notifications' tables."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import asyncpg

from actors.notifications.settings import NotificationsSettings
from connectors.sendgrid.messages import EmailAccepted, EmailFailed, SendEmail
from connectors.whatsapp.messages import SendWhatsApp, WhatsAppAccepted
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode

TABLES = (
    "notification_in_app, notification_deliveries, notification_notifications, "
    "notification_recipients, notification_provider_events, notification_suppressions, "
    "notification_order_contacts"
)
SETTINGS = NotificationsSettings(staff_emails=("depozit@ledux.ro", "achizitii@ledux.ro"))


class Connectors(Actor, name="notifications-connectors"):
    """Answers ``SendEmail`` / ``SendWhatsApp`` as the connectors do: each delivery id sent at
    most once (a repeat is answered again without sending), ``EmailAccepted`` with an
    X-Message-Id, ``WhatsAppAccepted`` with a wamid. ``fail`` lists addresses SendGrid answers
    503 for (an ``EmailFailed`` that sent nothing)."""

    def __init__(self) -> None:
        self.emails: dict[str, SendEmail] = {}
        self.whatsapps: dict[str, SendWhatsApp] = {}
        self.sends: dict[str, int] = defaultdict(int)
        self.fail: set[str] = set()

    @handler
    async def email(self, msg: SendEmail, ctx: Context) -> None:
        if msg.to_email in self.fail:
            ctx.emit(
                EmailFailed(delivery_id=msg.delivery_id, reason="503", permanent=False, status=503)
            )
            return
        if msg.delivery_id not in self.emails:
            self.sends[msg.to_email] += 1
            self.emails[msg.delivery_id] = msg
        ctx.emit(
            EmailAccepted(
                delivery_id=msg.delivery_id,
                message_id=f"xmsg{len(self.emails)}{msg.delivery_id[-12:].replace('.', '')}",
                accepted_at=datetime.now(UTC),
            )
        )

    @handler
    async def whatsapp(self, msg: SendWhatsApp, ctx: Context) -> None:
        if msg.delivery_id not in self.whatsapps:
            self.sends[msg.to] += 1
            self.whatsapps[msg.delivery_id] = msg
        ctx.emit(
            WhatsAppAccepted(
                delivery_id=msg.delivery_id,
                wamid=f"wamid.{msg.delivery_id}",
                wa_id=msg.to,
                accepted_at=datetime.now(UTC),
            )
        )

    def emails_to(self, address: str) -> list[SendEmail]:
        """The emails sent to ``address``."""
        return [m for m in self.emails.values() if m.to_email == address]


async def clean(conn: asyncpg.Connection) -> None:
    """Empty the notifications' tables."""
    await conn.execute(f"TRUNCATE {TABLES} CASCADE")


async def send(hub: Hub, message: Message, *, key: str | None = None) -> Envelope:
    """Publish ``message`` on the hub's bus."""
    env = Envelope.new(message, key=key, actor="user:1")
    await hub.bus.publish(env, encode(message))
    return env


async def notification(conn: asyncpg.Connection, key: str) -> dict[str, Any] | None:
    """The notification with this key, with its deliveries' channel → status."""
    row = await conn.fetchrow(
        "SELECT id, status, reason FROM notification_notifications WHERE notification_key = $1",
        key,
    )
    if row is None:
        return None
    deliveries = await conn.fetch(
        "SELECT channel, status, provider_id FROM notification_deliveries "
        "WHERE notification_id = $1 ORDER BY delivery_id",
        row["id"],
    )
    return {
        **dict(row),
        "deliveries": {d["channel"]: d["status"] for d in deliveries},
        "providers": {d["channel"]: d["provider_id"] for d in deliveries},
    }


async def settled(conn: asyncpg.Connection, key: str, channels: int) -> dict[str, Any] | None:
    """The notification once none of its ``channels`` deliveries waits for the connector."""
    n = await notification(conn, key)
    if n is None or len(n["deliveries"]) != channels:
        return None
    return n if "requested" not in n["deliveries"].values() else None


async def save_customer(conn: asyncpg.Connection, customer_id: str, **kw: Any) -> None:
    """Store a customer's preferences (WhatsApp opted in unless told otherwise)."""
    values: dict[str, Any] = {
        "email": f"{customer_id.lower()}@example.ro",
        "phone": "40744123456",
        "language": "ro",
        "email_enabled": True,
        "whatsapp_opt_in": True,
        "in_app_enabled": True,
        "marketing_consent": True,
        **kw,
    }
    await conn.execute(
        "INSERT INTO notification_recipients (customer_id, email, phone, language, email_enabled, "
        "whatsapp_opt_in, in_app_enabled, marketing_consent, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())",
        customer_id,
        *values.values(),
    )

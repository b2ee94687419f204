"""SQL of the notifications: notifications and their deliveries, provider events, suppressions.

Recipients, in-app messages and the orders' contacts are in :mod:`~actors.notifications.people`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from actors.notifications.messages import NotifyCustomer
from hub.db import record_to


class Delivery(msgspec.Struct, kw_only=True):
    """One message on one channel (a retry is another delivery)."""

    delivery_id: str
    notification_id: str
    channel: str
    address: str
    attempt: int
    status: str
    provider_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    history: list[dict[str, Any]]


class Notification(msgspec.Struct, kw_only=True):
    """What was asked (the request itself kept for retries) and what became of it."""

    id: str
    notification_key: str
    template: str
    customer_id: str | None
    language: str
    status: str
    reason: str | None
    created_at: datetime


_DELIVERY = ", ".join(Delivery.__struct_fields__)
_NOTIFICATION = ", ".join(Notification.__struct_fields__)


async def claim(
    conn: asyncpg.Connection,
    notification_id: str,
    req: NotifyCustomer,
    language: str,
    now: datetime,
) -> bool:
    """Insert the notification; False when its key was handled already (nothing to do)."""
    inserted = await conn.fetchval(
        "INSERT INTO notification_notifications (id, notification_key, template, customer_id, "
        "language, status, request, created_at) VALUES ($1, $2, $3, $4, $5, 'sent', $6, $7) "
        "ON CONFLICT (notification_key) DO NOTHING RETURNING true",
        notification_id,
        req.notification_key,
        req.template,
        req.customer_id,
        language,
        msgspec.json.decode(msgspec.json.encode(req)),
        now,
    )
    return bool(inserted)


async def conclude(
    conn: asyncpg.Connection, notification_id: str, status: str, reason: str
) -> None:
    """Record that the notification was ``skipped`` or ``failed``, and why."""
    await conn.execute(
        "UPDATE notification_notifications SET status = $2, reason = $3 WHERE id = $1",
        notification_id,
        status,
        reason,
    )


async def notification(conn: asyncpg.Connection, notification_id: str) -> Notification | None:
    """The notification with this id, or None."""
    row = await conn.fetchrow(
        f"SELECT {_NOTIFICATION} FROM notification_notifications "
        "WHERE id = $1 OR notification_key = $1",
        notification_id,
    )
    return None if row is None else record_to(Notification, row)


async def request(conn: asyncpg.Connection, notification_id: str) -> NotifyCustomer:
    """The request a notification was made from."""
    raw = await conn.fetchval(
        "SELECT request FROM notification_notifications WHERE id = $1", notification_id
    )
    return msgspec.json.decode(msgspec.json.encode(raw), type=NotifyCustomer)


async def add_delivery(
    conn: asyncpg.Connection,
    *,
    delivery_id: str,
    notification_id: str,
    channel: str,
    address: str,
    attempt: int,
    status: str,
    now: datetime,
) -> None:
    """Record a delivery before asking the connector for it."""
    await conn.execute(
        "INSERT INTO notification_deliveries (delivery_id, notification_id, channel, address, "
        "attempt, status, created_at, updated_at, history) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$7, $8)",
        delivery_id,
        notification_id,
        channel,
        address,
        attempt,
        status,
        now,
        [{"status": status, "at": now.isoformat(), "detail": ""}],
    )


async def delivery(
    conn: asyncpg.Connection, delivery_id: str, *, lock: bool = False
) -> Delivery | None:
    """The delivery with this id, or None."""
    sql = f"SELECT {_DELIVERY} FROM notification_deliveries WHERE delivery_id = $1"
    row = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), delivery_id)
    return None if row is None else record_to(Delivery, row)


async def delivery_by_provider(conn: asyncpg.Connection, provider_id: str) -> Delivery | None:
    """The delivery SendGrid's message id (or its prefix before the first dot) or a wamid names."""
    row = await conn.fetchrow(
        f"SELECT {_DELIVERY} FROM notification_deliveries "
        "WHERE provider_id = $1 OR provider_id = split_part($1, '.', 1) LIMIT 1 FOR UPDATE",
        provider_id,
    )
    return None if row is None else record_to(Delivery, row)


async def deliveries(conn: asyncpg.Connection, notification_id: str) -> list[Delivery]:
    """A notification's deliveries, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_DELIVERY} FROM notification_deliveries WHERE notification_id = $1 "
        "ORDER BY created_at, delivery_id",
        notification_id,
    )
    return [record_to(Delivery, r) for r in rows]


async def set_status(
    conn: asyncpg.Connection,
    delivery_id: str,
    status: str,
    now: datetime,
    *,
    detail: str = "",
    provider_id: str | None = None,
    error: str | None = None,
) -> None:
    """Move a delivery to ``status`` (the caller checked it is a move forward)."""
    await conn.execute(
        "UPDATE notification_deliveries SET status = $2, updated_at = $3, "
        "provider_id = coalesce($5, provider_id), error = coalesce($6, error), "
        "history = history || jsonb_build_array(jsonb_build_object("
        "'status', $2::text, 'at', $3::timestamptz, 'detail', $4::text)) "
        "WHERE delivery_id = $1",
        delivery_id,
        status,
        now,
        detail,
        provider_id,
        error,
    )


async def set_provider(conn: asyncpg.Connection, delivery_id: str, provider_id: str) -> None:
    """Keep the provider's id of a delivery (its status may have moved on already)."""
    await conn.execute(
        "UPDATE notification_deliveries SET provider_id = $2 WHERE delivery_id = $1",
        delivery_id,
        provider_id,
    )


async def first_event(conn: asyncpg.Connection, event_id: str, kind: str, now: datetime) -> bool:
    """Remember a provider event; False when it was applied before."""
    inserted = await conn.fetchval(
        "INSERT INTO notification_provider_events (event_id, kind, received_at) "
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true",
        event_id,
        kind,
        now,
    )
    return bool(inserted)


async def suppression(conn: asyncpg.Connection, email: str | None) -> str | None:
    """Why this address is suppressed, or None."""
    if not email:
        return None
    reason: str | None = await conn.fetchval(
        "SELECT reason FROM notification_suppressions WHERE address = lower($1)", email
    )
    return reason


async def suppress(conn: asyncpg.Connection, email: str, reason: str, now: datetime) -> None:
    """Suppress an address; a delivery reason (bounce, spam) replaces an unsubscribe."""
    await conn.execute(
        "INSERT INTO notification_suppressions (address, reason, at) VALUES (lower($1), $2, $3) "
        "ON CONFLICT (address) DO UPDATE SET reason = EXCLUDED.reason, at = EXCLUDED.at "
        "WHERE notification_suppressions.reason = 'unsubscribe'",
        email,
        reason,
        now,
    )

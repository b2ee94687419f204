"""SQL of the WhatsApp chat: conversations by phone, their messages, statuses received.

The conversation's customer is looked up in ``notification_recipients`` when it is created; the
trigger of migration 0014 keeps it right when a recipient's phone changes later.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
import msgspec

from hub.errors import NotFound


class Conversation(msgspec.Struct, frozen=True, kw_only=True):
    """One customer phone's chat: who it is and when they last wrote."""

    phone: str
    customer_id: str | None
    contact_name: str | None
    last_inbound_at: datetime | None
    last_inbound_wamid: str | None


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message of a conversation, inbound or a staff reply."""

    id: str
    direction: str
    wamid: str | None
    type: str
    body: str
    reply_to: str | None
    at: datetime
    status: str | None
    status_at: datetime | None
    error: str | None
    author: str | None
    delivery_id: str | None


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    """What a reply needs to know of the customer."""

    customer_id: str
    phone: str | None
    whatsapp_opt_in: bool


_COLUMNS = (
    "id, direction, wamid, type, body, reply_to, at, status, status_at, error, author, delivery_id"
)


async def open_conversation(
    conn: asyncpg.Connection, phone: str, contact_name: str | None, now: datetime
) -> None:
    """Create the phone's conversation (linked to its customer, if known) or refresh the name."""
    await conn.execute(
        """
        INSERT INTO notification_chat_conversations
               (phone, customer_id, contact_name, created_at, updated_at)
        VALUES ($1, (SELECT customer_id FROM notification_recipients WHERE phone = $1
                      ORDER BY updated_at DESC, customer_id LIMIT 1), $2, $3, $3)
        ON CONFLICT (phone) DO UPDATE
           SET contact_name = COALESCE(EXCLUDED.contact_name,
                                       notification_chat_conversations.contact_name),
               updated_at = EXCLUDED.updated_at
        """,
        phone,
        contact_name,
        now,
    )


async def add_inbound(
    conn: asyncpg.Connection,
    *,
    id: str,
    phone: str,
    wamid: str,
    type: str,
    body: str,
    reply_to: str | None,
    at: datetime,
    now: datetime,
) -> bool:
    """Store an inbound message; False when its wamid is already stored (a redelivery)."""
    stored = await conn.fetchval(
        """
        INSERT INTO notification_chat_messages
               (id, phone, direction, wamid, type, body, reply_to, at, created_at)
        VALUES ($1, $2, 'in', $3, $4, $5, $6, $7, $8)
        ON CONFLICT (wamid) DO NOTHING
        RETURNING true
        """,
        id,
        phone,
        wamid,
        type,
        body,
        reply_to,
        at,
        now,
    )
    if stored:
        # Messages may arrive out of order: the window counts from the latest one.
        await conn.execute(
            """
            UPDATE notification_chat_conversations
               SET last_inbound_at = $2, last_inbound_wamid = $3
             WHERE phone = $1 AND (last_inbound_at IS NULL OR last_inbound_at < $2)
            """,
            phone,
            at,
            wamid,
        )
    return bool(stored)


async def conversation(conn: asyncpg.Connection, phone: str) -> Conversation | None:
    """The phone's conversation, if the customer ever wrote or was answered."""
    row = await conn.fetchrow(
        "SELECT phone, customer_id, contact_name, last_inbound_at, last_inbound_wamid "
        "FROM notification_chat_conversations WHERE phone = $1",
        phone,
    )
    return Conversation(**dict(row)) if row is not None else None


async def recipient(conn: asyncpg.Connection, customer_id: str) -> Recipient:
    """The customer's phone and consent; ``NotFound`` for a customer the hub does not know."""
    row = await conn.fetchrow(
        "SELECT customer_id, phone, whatsapp_opt_in FROM notification_recipients "
        "WHERE customer_id = $1",
        customer_id,
    )
    if row is None:
        raise NotFound(f"no customer {customer_id!r} among the notification recipients")
    return Recipient(**dict(row))


async def add_reply(
    conn: asyncpg.Connection,
    *,
    id: str,
    phone: str,
    delivery_id: str,
    body: str,
    reply_to: str | None,
    author: str,
    now: datetime,
) -> None:
    """Store a staff reply as queued, before the command that sends it is emitted."""
    await conn.execute(
        """
        INSERT INTO notification_chat_messages
               (id, phone, direction, type, body, reply_to, at, status, status_at, author,
                delivery_id, created_at)
        VALUES ($1, $2, 'out', 'text', $3, $4, $5, 'queued', $5, $6, $7, $5)
        """,
        id,
        phone,
        body,
        reply_to,
        now,
        author,
        delivery_id,
    )


async def record_status(
    conn: asyncpg.Connection,
    *,
    wamid: str,
    status: str,
    at: datetime,
    error: str | None,
    now: datetime,
) -> bool:
    """Remember ``<wamid>:<status>``; False when it was already received."""
    stored = await conn.fetchval(
        """
        INSERT INTO notification_chat_statuses (status_id, wamid, status, at, error, received_at)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (status_id) DO NOTHING
        RETURNING true
        """,
        f"{wamid}:{status}",
        wamid,
        status,
        at,
        error,
        now,
    )
    return bool(stored)


async def statuses_of(
    conn: asyncpg.Connection, wamid: str
) -> list[tuple[str, datetime, str | None]]:
    """The statuses received for ``wamid``, oldest first: ``(status, at, error)``."""
    rows = await conn.fetch(
        "SELECT status, at, error FROM notification_chat_statuses WHERE wamid = $1 "
        "ORDER BY at, received_at",
        wamid,
    )
    return [(r["status"], r["at"], r["error"]) for r in rows]


async def outbound_by(
    conn: asyncpg.Connection, *, wamid: str | None = None, delivery_id: str | None = None
) -> tuple[str, str] | None:
    """``(id, status)`` of the reply with this wamid or delivery id, locked for the update."""
    row = await conn.fetchrow(
        "SELECT id, status FROM notification_chat_messages "
        "WHERE direction = 'out' AND (wamid = $1 OR delivery_id = $2) FOR UPDATE",
        wamid,
        delivery_id,
    )
    return (row["id"], row["status"]) if row is not None else None


async def set_status(
    conn: asyncpg.Connection, id: str, status: str, at: datetime, error: str | None
) -> None:
    """Move a reply to ``status`` (the caller has checked the move goes forward)."""
    await conn.execute(
        "UPDATE notification_chat_messages SET status = $2, status_at = $3, "
        "error = COALESCE($4, error) WHERE id = $1",
        id,
        status,
        at,
        error,
    )


async def set_wamid(conn: asyncpg.Connection, id: str, wamid: str) -> None:
    """Meta accepted the reply under ``wamid``."""
    await conn.execute("UPDATE notification_chat_messages SET wamid = $2 WHERE id = $1", id, wamid)


async def messages(
    conn: asyncpg.Connection, phone: str, *, after: tuple[datetime, str] | None, limit: int
) -> list[ChatMessage]:
    """Up to ``limit`` messages of the conversation, oldest first, after ``(at, id)``."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM notification_chat_messages "
        "WHERE phone = $1 AND ($2::timestamptz IS NULL OR (at, id) > ($2, $3)) "
        "ORDER BY at, id LIMIT $4",
        phone,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [ChatMessage(**dict(r)) for r in rows]

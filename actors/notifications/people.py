"""SQL of who is written to: recipients' preferences, in-app messages, orders' contacts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from actors.notifications.domain import Recipient
from hub.db import record_to
from hub.errors import DomainError


class PhoneTaken(DomainError):
    """The phone is another recipient's: a phone opens its holder's WhatsApp conversation, so
    it belongs to one customer only."""

    code = "phone_taken"


class InApp(msgspec.Struct, kw_only=True):
    """A message shown in the customer's portal."""

    id: str
    customer_id: str
    title: str
    body: str
    link: str | None
    created_at: datetime
    read_at: datetime | None


class OrderContact(msgspec.Struct, kw_only=True):
    """Who placed an order (from ``orders.OrderPlaced``), for the order's later events."""

    order_id: str
    number: str
    customer_id: str | None
    name: str
    email: str | None
    phone: str | None
    language: str
    gross: Decimal
    currency: str
    placed_at: datetime


_RECIPIENT = ", ".join(Recipient.__struct_fields__)
_IN_APP = ", ".join(InApp.__struct_fields__)
_CONTACT = ", ".join(OrderContact.__struct_fields__)


async def recipient(conn: asyncpg.Connection, customer_id: str) -> Recipient | None:
    """A known customer's preferences, or None."""
    row = await conn.fetchrow(
        f"SELECT {_RECIPIENT} FROM notification_recipients WHERE customer_id = $1", customer_id
    )
    return None if row is None else record_to(Recipient, row)


async def save_recipient(conn: asyncpg.Connection, r: Recipient, now: datetime) -> None:
    """Create or replace a customer's preferences; :class:`PhoneTaken` if another recipient
    holds the phone (the unique index decides, also between concurrent saves)."""
    try:
        await conn.execute(
            f"INSERT INTO notification_recipients ({_RECIPIENT}, updated_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (customer_id) DO UPDATE SET "
            "email = $2, phone = $3, language = $4, email_enabled = $5, whatsapp_opt_in = $6, "
            "in_app_enabled = $7, marketing_consent = $8, updated_at = $9",
            *(getattr(r, f) for f in Recipient.__struct_fields__),
            now,
        )
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != "notification_recipients_phone":
            raise
        raise PhoneTaken(
            f"the phone number {r.phone} is already saved for another customer; a number "
            "belongs to one customer only (it opens that customer's WhatsApp conversation). "
            "If it is yours now, ask us to move it"
        ) from None


async def withdraw_marketing(conn: asyncpg.Connection, email: str, now: datetime) -> int:
    """Turn marketing consent off for every customer with this address; how many changed."""
    result: str = await conn.execute(
        "UPDATE notification_recipients SET marketing_consent = false, updated_at = $2 "
        "WHERE lower(email) = lower($1) AND marketing_consent",
        email,
        now,
    )
    return int(result.split()[-1])


async def add_in_app(conn: asyncpg.Connection, item: InApp, delivery_id: str) -> None:
    """Store an in-app message (delivered as soon as it is stored)."""
    await conn.execute(
        f"INSERT INTO notification_in_app ({_IN_APP}, delivery_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        *(getattr(item, f) for f in InApp.__struct_fields__),
        delivery_id,
    )


async def in_app_page(
    conn: asyncpg.Connection,
    customer_id: str | None,
    *,
    before: str | None,
    limit: int,
    unread: bool = False,
) -> list[InApp]:
    """In-app messages newest first (``customer_id`` None: everyone's), ids below ``before``."""
    rows = await conn.fetch(
        f"SELECT {_IN_APP} FROM notification_in_app "
        "WHERE ($1::text IS NULL OR customer_id = $1) AND ($2::text IS NULL OR id < $2) "
        "AND (NOT $4 OR read_at IS NULL) ORDER BY id DESC LIMIT $3",
        customer_id,
        before,
        limit,
        unread,
    )
    return [record_to(InApp, r) for r in rows]


async def in_app(conn: asyncpg.Connection, item_id: str) -> InApp | None:
    """One in-app message, or None."""
    row = await conn.fetchrow(f"SELECT {_IN_APP} FROM notification_in_app WHERE id = $1", item_id)
    return None if row is None else record_to(InApp, row)


async def mark_read(conn: asyncpg.Connection, item_id: str, now: datetime) -> InApp | None:
    """Mark an in-app message read (the first reading counts); None if there is none."""
    row = await conn.fetchrow(
        "UPDATE notification_in_app SET read_at = coalesce(read_at, $2) WHERE id = $1 "
        f"RETURNING {_IN_APP}",
        item_id,
        now,
    )
    return None if row is None else record_to(InApp, row)


async def save_contact(conn: asyncpg.Connection, c: OrderContact) -> None:
    """Remember who placed an order (a repeated event changes nothing)."""
    await conn.execute(
        f"INSERT INTO notification_order_contacts ({_CONTACT}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (order_id) DO NOTHING",
        *(getattr(c, f) for f in OrderContact.__struct_fields__),
    )


async def contact(conn: asyncpg.Connection, order_id: str) -> OrderContact | None:
    """Who placed this order, or None if its ``OrderPlaced`` has not arrived."""
    row = await conn.fetchrow(
        f"SELECT {_CONTACT} FROM notification_order_contacts WHERE order_id = $1", order_id
    )
    return None if row is None else record_to(OrderContact, row)

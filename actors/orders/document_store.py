"""SQL of the documents asked of invoicing for an order, and of the payments recorded for it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Literal

import asyncpg
import msgspec

from actors.invoicing.messages import DocumentKind, DocumentLine
from hub.db import record_to

Status = Literal["requested", "issued", "failed", "parked"]


class Document(msgspec.Struct, kw_only=True):
    """A document asked for: its request id is its idempotency key with invoicing."""

    request_id: str
    order_id: str
    kind: DocumentKind
    status: Status
    shipment_id: str | None
    return_id: str | None
    invoice_request_id: str | None
    lines: list[DocumentLine]
    series: str | None
    number: str | None
    gross: Decimal | None
    error: str | None
    requested_at: datetime
    issued_at: datetime | None


_DOCUMENT = ", ".join(Document.__struct_fields__)


async def documents(conn: asyncpg.Connection, order_id: str) -> list[Document]:
    """The order's documents, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_DOCUMENT} FROM order_documents WHERE order_id = $1 "
        "ORDER BY requested_at, request_id",
        order_id,
    )
    return [record_to(Document, r) for r in rows]


async def has_kind(conn: asyncpg.Connection, order_id: str, kind: DocumentKind) -> bool:
    """Whether a document of ``kind`` was ever asked for the order (whatever became of it)."""
    found = await conn.fetchval(
        "SELECT true FROM order_documents WHERE order_id = $1 AND kind = $2 LIMIT 1",
        order_id,
        kind,
    )
    return found is True


async def add_document(
    conn: asyncpg.Connection,
    order_id: str,
    request_id: str,
    kind: DocumentKind,
    lines: Sequence[DocumentLine],
    *,
    at: datetime,
    shipment_id: str | None = None,
    return_id: str | None = None,
    invoice_request_id: str | None = None,
) -> bool:
    """Record a document about to be asked for; False if it was asked for already (the same
    request id, or the same kind for the same order, shipment and return)."""
    done = await conn.fetchval(
        "INSERT INTO order_documents (request_id, order_id, kind, shipment_id, return_id, "
        "invoice_request_id, lines, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT DO NOTHING RETURNING true",
        request_id,
        order_id,
        kind,
        shipment_id,
        return_id,
        invoice_request_id,
        list(lines),
        at,
    )
    return done is True


async def mark_issued(
    conn: asyncpg.Connection,
    request_id: str,
    order_id: str,
    *,
    series: str,
    number: str,
    gross: Decimal,
    issued_at: datetime,
) -> bool:
    """The document exists (also after a failure someone resolved); False if unknown."""
    done = await conn.fetchval(
        "UPDATE order_documents SET status = 'issued', series = $3, number = $4, gross = $5, "
        "issued_at = $6, error = NULL WHERE request_id = $1 AND order_id = $2 RETURNING true",
        request_id,
        order_id,
        series,
        number,
        gross,
        issued_at,
    )
    return done is True


async def mark_failed(
    conn: asyncpg.Connection, request_id: str, order_id: str, *, parked: bool, error: str
) -> bool:
    """The document could not be issued (or nobody knows: ``parked``); an issued one stays
    issued. False if unknown or already issued."""
    done = await conn.fetchval(
        "UPDATE order_documents SET status = $3, error = $4 "
        "WHERE request_id = $1 AND order_id = $2 AND status <> 'issued' RETURNING true",
        request_id,
        order_id,
        "parked" if parked else "failed",
        error,
    )
    return done is True


# --- payments ---------------------------------------------------------------------------------


async def payment_order(conn: asyncpg.Connection, payment_id: str) -> str | None:
    """The order a payment was recorded for, if it was."""
    found: str | None = await conn.fetchval(
        "SELECT order_id FROM order_payments WHERE id = $1", payment_id
    )
    return found


async def add_payment(
    conn: asyncpg.Connection,
    order_id: str,
    payment_id: str,
    amount: Decimal,
    *,
    received_at: datetime,
    reference: str | None,
    by: str,
    at: datetime,
) -> Decimal:
    """Record a payment and add it to the order's paid total; return the new total."""
    await conn.execute(
        "INSERT INTO order_payments (id, order_id, amount, received_at, reference, recorded_by, "
        "recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        payment_id,
        order_id,
        amount,
        received_at,
        reference,
        by,
        at,
    )
    total: Decimal = await conn.fetchval(
        "UPDATE orders SET paid = paid + $2, updated_at = $3, version = version + 1 "
        "WHERE id = $1 RETURNING paid",
        order_id,
        amount,
        at,
    )
    return total

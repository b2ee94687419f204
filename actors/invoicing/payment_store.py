"""SQL of the payment poll (migrations/0017_invoicing_collections.sql): which documents are
watched, adopted invoices, and what SmartBill showed paid. Everything here runs in the poll
handler's transaction, with the messages it emits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import asyncpg

from actors.invoicing.store import _COLUMNS, Document, _row


def adopted_id(proforma_request_id: str) -> str:
    """The request_id an adopted invoice has until its order's IssueInvoice claims it."""
    return f"adopted:{proforma_request_id}"


async def expire(conn: asyncpg.Connection, before: datetime) -> int:
    """Stop watching documents issued before ``before``; how many."""
    done = await conn.execute(
        "UPDATE invoicing_documents SET watch = 'expired', updated_at = now() "
        "WHERE watch = 'open' AND state = 'issued' AND issued_at < $1",
        before,
    )
    return int(done.split()[-1])


async def watched(conn: asyncpg.Connection, limit: int) -> list[Document]:
    """Issued documents whose payments are polled, the longest unpolled first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM invoicing_documents WHERE watch = 'open' AND state = 'issued' "
        "ORDER BY polled_at NULLS FIRST, issued_at LIMIT $1",
        limit,
    )
    return [d for d in map(_row, rows) if d is not None]


async def order_invoice(conn: asyncpg.Connection, order_id: str) -> Document | None:
    """The order's invoice (the whole order's, not a shipment's), whatever its state."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM invoicing_documents WHERE order_id = $1 "
            "AND kind = 'invoice' AND shipment_id IS NULL",
            order_id,
        )
    )


async def polled(
    conn: asyncpg.Connection,
    request_id: str,
    at: datetime,
    *,
    watch: str | None = None,
    error: str | None = None,
) -> None:
    """The document was looked at (``watch``: its new watch state)."""
    await conn.execute(
        "UPDATE invoicing_documents SET polled_at = $2, watch = COALESCE($3, watch), "
        "last_error = COALESCE($4, last_error), updated_at = now() WHERE request_id = $1",
        request_id,
        at,
        watch,
        error,
    )


async def adopt(
    conn: asyncpg.Connection,
    proforma: Document,
    *,
    series: str,
    number: str,
    gross: Decimal,
    at: datetime,
) -> bool:
    """Record the invoice made of ``proforma`` in SmartBill Cloud as its order's invoice
    (False: the order has an invoice row already)."""
    done = await conn.fetchval(
        "INSERT INTO invoicing_documents (request_id, order_id, kind, state, request, series, "
        "number, gross, issued_at, origin, from_request_id, watch, polled_at) "
        "VALUES ($1, $2, 'invoice', 'issued', $3, $4, $5, $6, $7, 'smartbill', $8, 'open', $7) "
        "ON CONFLICT DO NOTHING RETURNING true",
        adopted_id(proforma.request_id),
        proforma.order_id,
        proforma.request,
        series,
        number,
        gross,
        at,
        proforma.request_id,
    )
    return bool(done)


async def paid(
    conn: asyncpg.Connection, request_id: str, was: Decimal, now: Decimal, *, settled: bool
) -> bool:
    """``now`` is what SmartBill shows paid and orders is told; False if another poll moved it
    from ``was`` meanwhile (then nothing is emitted)."""
    done = await conn.fetchval(
        "UPDATE invoicing_documents SET paid_recorded = $3, "
        "watch = CASE WHEN $4 THEN 'done' ELSE watch END, updated_at = now() "
        "WHERE request_id = $1 AND paid_recorded = $2 RETURNING true",
        request_id,
        was,
        now,
        settled,
    )
    return bool(done)

"""SQL of the invoicing context: ``invoicing_documents`` (migrations/0016_invoicing.sql).

Intents and outcomes are written on their own connection and committed at once (not in the
handler's transaction): the record of a POST must survive whatever happens to the handler. Only
:func:`announce` and :func:`notify` run in the handler's transaction, with the emit they guard.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import asyncpg
import msgspec

from hub.db import xact_lock

OPEN = ("intent", "issuing")


class Document(msgspec.Struct, frozen=True, kw_only=True):
    """One request_id's state."""

    request_id: str
    order_id: str
    kind: str
    shipment_id: str | None
    invoice_request_id: str | None
    state: str
    request: bytes
    series: str | None
    expected_number: str | None
    number: str | None
    gross: Decimal
    attempts: int
    next_at: datetime | None
    last_error: str | None
    announced: bool
    notified: bool
    issued_at: datetime | None
    created_at: datetime
    origin: str = "hub"  # "smartbill": made in SmartBill Cloud from our proforma, adopted
    from_request_id: str | None = None  # an adopted invoice's proforma
    watch: str = "none"  # payments polled: none, open, done, parked, expired
    paid_recorded: Decimal = Decimal(0)  # collected in SmartBill and told to orders
    polled_at: datetime | None = None


_COLUMNS = ", ".join(Document.__struct_fields__)


def _row(record: asyncpg.Record | None) -> Document | None:
    return (
        None if record is None else Document(**{k: record[k] for k in Document.__struct_fields__})
    )


async def add(
    conn: asyncpg.Connection,
    *,
    request_id: str,
    order_id: str,
    kind: str,
    request: bytes,
    gross: Decimal,
    shipment_id: str | None = None,
    invoice_request_id: str | None = None,
    watch: str = "none",
) -> bool:
    """Record a new request as an intent; False when it (or its order's document) is known.
    ``watch`` "open": once issued, its payments are polled (proformas, cash on delivery)."""
    done = await conn.fetchval(
        "INSERT INTO invoicing_documents (request_id, order_id, kind, shipment_id, "
        "invoice_request_id, state, request, gross, watch) "
        "VALUES ($1, $2, $3, $4, $5, 'intent', $6, $7, $8) "
        "ON CONFLICT DO NOTHING RETURNING true",
        request_id,
        order_id,
        kind,
        shipment_id,
        invoice_request_id,
        request,
        gross,
        watch,
    )
    return bool(done)


async def get(conn: asyncpg.Connection, request_id: str) -> Document | None:
    """The document request, if known."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM invoicing_documents WHERE request_id = $1", request_id
        )
    )


async def same_order(
    conn: asyncpg.Connection, order_id: str, kind: str, shipment_id: str | None
) -> Document | None:
    """The order's document of ``kind`` (per shipment), whatever its request_id."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM invoicing_documents WHERE order_id = $1 AND kind = $2 "
            "AND COALESCE(shipment_id, '') = COALESCE($3, '')",
            order_id,
            kind,
            shipment_id,
        )
    )


async def lock(conn: asyncpg.Connection, request_id: str) -> Document | None:
    """The row, locked for the rest of the transaction (one issuer at a time)."""
    return _row(
        await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM invoicing_documents WHERE request_id = $1 FOR UPDATE",
            request_id,
        )
    )


async def claim_series(conn: asyncpg.Connection, request_id: str, series: str) -> bool | str:
    """intent → issuing in ``series``, unless another document of the series is ``issuing``
    (in flight, or its answer lost and not reconciled yet). A reconciliation can only tell
    which number is ours if nothing else was issued in the series meanwhile, so a series holds
    one document in doubt at a time, across processes (an advisory lock per series makes the
    check and the claim one step). True: claimed; False: not in ``intent`` any more (another
    delivery took it); a request id: the document holding the series."""
    await xact_lock(conn, f"invoicing-series:{series}")
    holder: str | None = await conn.fetchval(
        "SELECT request_id FROM invoicing_documents "
        "WHERE series = $1 AND state = 'issuing' AND request_id <> $2 LIMIT 1",
        series,
        request_id,
    )
    if holder is not None:
        return holder
    done = await conn.fetchval(
        "UPDATE invoicing_documents SET state = 'issuing', series = $2, expected_number = NULL, "
        "attempts = attempts + 1, next_at = NULL, waiting_series = NULL, updated_at = now() "
        "WHERE request_id = $1 AND state = 'intent' RETURNING true",
        request_id,
        series,
    )
    return bool(done)


async def wait_series(
    conn: asyncpg.Connection, request_id: str, series: str, at: datetime, reason: str
) -> None:
    """Queue the document for ``series`` (busy): back to ``intent``, woken by the document that
    frees the series (:func:`next_waiting`), or by its own timer at ``at`` at the latest."""
    await conn.execute(
        "UPDATE invoicing_documents SET state = 'intent', next_at = $3, last_error = $4, "
        "waiting_series = $2, updated_at = now() WHERE request_id = $1 AND state = ANY($5)",
        request_id,
        series,
        at,
        reason,
        list(OPEN),
    )


async def next_waiting(conn: asyncpg.Connection, series: str) -> asyncpg.Record | None:
    """The document waiting longest for ``series`` (request_id, order_id), if the series is
    free now (no document of it in flight or in doubt)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT request_id, order_id FROM invoicing_documents "
        "WHERE waiting_series = $1 AND state = 'intent' AND NOT EXISTS ("
        "  SELECT 1 FROM invoicing_documents WHERE series = $1 AND state = 'issuing') "
        "ORDER BY created_at LIMIT 1",
        series,
    )
    return row


async def expect(conn: asyncpg.Connection, request_id: str, expected: str) -> None:
    """The series' next number, read after the claim and committed before the POST."""
    await conn.execute(
        "UPDATE invoicing_documents SET expected_number = $2, updated_at = now() "
        "WHERE request_id = $1 AND state = 'issuing'",
        request_id,
        expected,
    )


async def issued(
    conn: asyncpg.Connection, request_id: str, series: str, number: str, at: datetime
) -> bool:
    """The document exists: its series and number."""
    done = await conn.fetchval(
        "UPDATE invoicing_documents SET state = 'issued', series = $2, number = $3, "
        "issued_at = $4, next_at = NULL, last_error = NULL, updated_at = now() "
        "WHERE request_id = $1 AND state = ANY($5) RETURNING true",
        request_id,
        series,
        number,
        at,
        list(OPEN),
    )
    return bool(done)


async def found_in_smartbill(
    conn: asyncpg.Connection,
    request_id: str,
    series: str,
    number: str,
    gross: Decimal,
    at: datetime,
) -> bool:
    """An invoice request answered by the invoice the accountant made of its proforma in
    SmartBill Cloud (found before our POST): issued, adopted, its payments not polled (the
    order was paid in the hub already)."""
    done = await conn.fetchval(
        "UPDATE invoicing_documents SET state = 'issued', series = $2, number = $3, gross = $4, "
        "issued_at = $5, origin = 'smartbill', watch = 'none', next_at = NULL, "
        "last_error = NULL, updated_at = now() "
        "WHERE request_id = $1 AND state = 'intent' RETURNING true",
        request_id,
        series,
        number,
        gross,
        at,
    )
    return bool(done)


async def claim(conn: asyncpg.Connection, adopted_id: str, request_id: str, request: bytes) -> bool:
    """An adopted invoice becomes the one the order's IssueInvoice asked for (its request_id
    and command), so that repeats, the email and credit notes find it like any other."""
    done = await conn.fetchval(
        "UPDATE invoicing_documents SET request_id = $2, request = $3, updated_at = now() "
        "WHERE request_id = $1 AND origin = 'smartbill' RETURNING true",
        adopted_id,
        request_id,
        request,
    )
    return bool(done)


async def final(conn: asyncpg.Connection, request_id: str, state: str, reason: str) -> bool:
    """``failed`` (refused) or ``parked`` (unknown outcome), with the reason."""
    done = await conn.fetchval(
        "UPDATE invoicing_documents SET state = $2, last_error = $3, next_at = NULL, "
        "updated_at = now() WHERE request_id = $1 AND state = ANY($4) RETURNING true",
        request_id,
        state,
        reason,
        list(OPEN),
    )
    return bool(done)


async def later(
    conn: asyncpg.Connection, request_id: str, state: str, at: datetime, reason: str
) -> None:
    """Not done now: ``intent`` (nothing made: retry) or ``issuing`` (reconcile) at ``at``."""
    await conn.execute(
        "UPDATE invoicing_documents SET state = $2, next_at = $3, last_error = $4, "
        "updated_at = now() WHERE request_id = $1 AND state = ANY($5)",
        request_id,
        state,
        at,
        reason,
        list(OPEN),
    )


async def wait_notify(conn: asyncpg.Connection, request_id: str, at: datetime, reason: str) -> None:
    """The document's PDF could not be read yet: the email waits until ``at`` (in the
    handler's transaction, which may hold the row after :func:`announce`)."""
    await conn.execute(
        "UPDATE invoicing_documents SET next_at = $2, last_error = $3, updated_at = now() "
        "WHERE request_id = $1",
        request_id,
        at,
        reason,
    )


async def announce(conn: asyncpg.Connection, request_id: str) -> bool:
    """Mark the outcome as emitted (in the handler's transaction); False if it was already."""
    done = await conn.fetchval(
        "UPDATE invoicing_documents SET announced = true "
        "WHERE request_id = $1 AND NOT announced RETURNING true",
        request_id,
    )
    return bool(done)


async def notify(conn: asyncpg.Connection, request_id: str) -> bool:
    """Mark the document email as asked for (in the handler's transaction); False if it was."""
    done = await conn.fetchval(
        "UPDATE invoicing_documents SET notified = true, next_at = NULL "
        "WHERE request_id = $1 AND NOT notified RETURNING true",
        request_id,
    )
    return bool(done)

"""SQL of the orders API's reads: the order list and one order in full. Plain reads, no locks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from actors.orders import views
from hub.edge.api import Sorting

ORDER_SORT = Sorting(views.OrderSort, placed_at="o.placed_at", tiebreak="o.id")

_SUMMARY = """
    SELECT o.id, o.number, o.state, o.source, o.external_ref, o.customer_id,
           o.customer->>'name' AS customer_name, o.payment_method, o.gross, o.paid, o.currency,
           o.placed_at, o.updated_at
    FROM orders o
"""


async def list_orders(
    conn: asyncpg.Connection,
    q: views.OrderQuery,
    *,
    customer_scope: str | None,
    after: tuple[datetime, str] | None,
) -> list[views.OrderSummary]:
    """One page (``q.limit + 1`` rows, to tell whether another follows) of matching orders."""
    customer = customer_scope if customer_scope is not None else q.customer_id
    args: list[Any] = [
        q.state,
        customer,
        q.source,
        q.payment_method,
        q.sku,
        q.number,
        q.since,
        q.until,
    ]
    where = """
        WHERE ($1::text IS NULL OR o.state = $1)
          AND ($2::text IS NULL OR o.customer_id = $2)
          AND ($3::text IS NULL OR o.source = $3)
          AND ($4::text IS NULL OR o.payment_method = $4)
          AND ($5::text IS NULL OR EXISTS (
                SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.sku = $5))
          AND ($6::text IS NULL OR o.number = $6 OR o.external_ref = $6)
          AND ($7::timestamptz IS NULL OR o.placed_at >= $7)
          AND ($8::timestamptz IS NULL OR o.placed_at < $8)
    """
    if after is not None:
        args.extend(after)
        where += f" AND {ORDER_SORT.after(q.sort, len(args) - 1, len(args))}"
    args.append(q.limit + 1)
    sql = f"{_SUMMARY} {where} {ORDER_SORT.order_by(q.sort)} LIMIT ${len(args)}"
    rows = await conn.fetch(sql, *args)
    return [views.OrderSummary(**dict(r)) for r in rows]


async def owner(conn: asyncpg.Connection, order_id: str) -> str | None:
    """The customer an order belongs to (None: a guest's, or no such order)."""
    found: str | None = await conn.fetchval(
        "SELECT customer_id FROM orders WHERE id = $1", order_id
    )
    return found


async def order_detail(conn: asyncpg.Connection, order_id: str) -> dict[str, Any] | None:
    """Everything about one order, as plain values (None: no such order)."""
    row = await conn.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)
    if row is None:
        return None
    out = dict(row)
    out["lines"] = [
        dict(r)
        for r in await conn.fetch(
            "SELECT line_no, sku, name, unit, quantity, shipped, returned, unit_net, line_net, "
            "vat_rate, line_vat, line_gross, breakdown FROM order_lines WHERE order_id = $1 "
            "ORDER BY line_no",
            order_id,
        )
    ]
    out["transitions"] = [
        dict(r)
        for r in await conn.fetch(
            "SELECT from_state, to_state, at, by, reason FROM order_transitions "
            "WHERE order_id = $1 ORDER BY id",
            order_id,
        )
    ]
    out["shipments"] = [
        dict(r)
        for r in await conn.fetch(
            "SELECT id, status, requested, sent, tracking, refusal, created_by, created_at, "
            "sent_at FROM order_shipments WHERE order_id = $1 ORDER BY created_at, id",
            order_id,
        )
    ]
    out["returns"] = [
        dict(r)
        for r in await conn.fetch(
            "SELECT id, status, lines, reason, warehouse, requested_by, requested_at, "
            "received_by, received_at FROM order_returns WHERE order_id = $1 "
            "ORDER BY requested_at, id",
            order_id,
        )
    ]
    out["payments"] = [
        dict(r)
        for r in await conn.fetch(
            "SELECT id, amount, received_at, reference, recorded_by, recorded_at "
            "FROM order_payments WHERE order_id = $1 ORDER BY received_at, id",
            order_id,
        )
    ]
    out["documents"] = [
        dict(r)
        for r in await conn.fetch(
            "SELECT request_id, kind, status, shipment_id, return_id, series, number, gross, "
            "error, requested_at, issued_at FROM order_documents WHERE order_id = $1 "
            "ORDER BY requested_at, request_id",
            order_id,
        )
    ]
    return out

"""The orders' read routes: the order list (filters, cursor pages) and one order in full.

A B2B customer sees only its own orders: the list is scoped to it, and another customer's order
answers exactly like a missing one (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from actors.orders import domain, queries, views
from actors.pricing import domain as pricing
from actors.pricing.messages import PriceStep
from hub.auth import Role
from hub.edge.api import STAFF, Api, Call, Page, decode_cursor, encode_cursor
from hub.errors import NotFound

reads = Api("orders")
READERS = {*STAFF, Role.b2b_customer, Role.service}


async def order_owner(call: Call[Any, Any]) -> str | None:
    """The customer owning the order in the path (the edge compares it with a B2B caller's)."""
    async with call.db.pool.acquire() as conn:
        return await queries.owner(conn, call.param("order_id"))


@reads.get(
    "/api/v1/orders",
    name="orders.list",
    roles=READERS,
    summary="List orders",
    query=views.OrderQuery,
    response=list[views.OrderSummary],
)
async def list_orders(call: Call[None, views.OrderQuery]) -> Page[views.OrderSummary]:
    """Newest first by default; filter by state, customer, source, payment method, SKU, number
    (ours or the shop's) and placement time. A B2B customer gets only its own orders."""
    q = call.query
    after = decode_cursor(q.cursor, datetime, str) if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await queries.list_orders(
            conn,
            q,
            customer_scope=call.customer_scope,
            after=(after[0], after[1]) if after else None,
        )
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    cursor = encode_cursor(rows[-1].placed_at, rows[-1].id) if more else None
    return Page(rows, cursor)


@reads.get(
    "/api/v1/orders/{order_id}",
    name="orders.get",
    roles=READERS,
    summary="Show an order in full",
    response=views.OrderView,
    owner=order_owner,
    entity="order",
)
async def get_order(call: Call[None, None]) -> views.OrderView:
    """Customer, addresses, lines with their price breakdown (a B2B customer's without the cost
    and margins), the history of its states (who, when, why), shipments, returns, payments and
    documents, and the states it may move to."""
    async with call.db.pool.acquire() as conn:
        found = await queries.order_detail(conn, call.param("order_id"))
    if found is None:
        raise NotFound(f"no order {call.param('order_id')!r}")
    found["allowed"] = list(domain.allowed(domain.OrderState(found["state"])))
    if call.customer_scope is not None:
        for line in found["lines"]:
            line["breakdown"] = _for_customer(line["breakdown"])
    keep = set(views.OrderView.__struct_fields__)
    view: views.OrderView = msgspec.convert(
        {k: v for k, v in found.items() if k in keep}, views.OrderView, strict=False
    )
    return view


def _for_customer(breakdown: list[Any] | None) -> list[Any] | None:
    """A stored breakdown (its JSON) as a customer sees it (``pricing.for_customer``)."""
    if breakdown is None:
        return None
    steps = msgspec.convert(breakdown, tuple[PriceStep, ...])
    shown: list[Any] = msgspec.to_builtins(pricing.for_customer(steps))
    return shown

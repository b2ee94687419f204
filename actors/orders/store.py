"""SQL of orders: the order row and its lines, the transition history, the product names it
learns from the catalog. Shipments and returns (and the quantities they move) are in
``shipment_store.py``, documents and payments in ``document_store.py``.

Every change to an order first locks its row (:func:`lock`): the order's messages come keyed
``order:<id>`` but the inventory's answers are keyed by the reservation and API calls carry no
key at all, so the row lock is what makes them take turns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import asyncpg
import msgspec

from actors.catalog.messages import ProductSnapshot
from actors.orders.domain import OrderState, Transition
from actors.orders.messages import Address, Customer, PaymentMethod, Source
from actors.orders.validation import norm
from actors.pricing.messages import CartTotals, PricedLine, PriceStep
from hub.db import record_to
from hub.errors import NotFound

Reservation = Literal["none", "requested", "complete", "short", "released", "fulfilled"]
Pricing = Literal["pending", "priced", "failed"]
Unit = Literal["piece", "metre"]


class Order(msgspec.Struct, kw_only=True):
    """An order as stored."""

    id: str
    number: str
    source: Source
    external_ref: str | None
    quotation_id: str | None
    customer_id: str | None
    customer: Customer
    billing: Address
    shipping: Address
    payment_method: PaymentMethod
    state: OrderState
    pricing: Pricing
    reservation: Reservation
    hold: str | None
    tier: int | None
    priced_on: date | None
    currency: str
    net: Decimal | None
    vat: Decimal | None
    gross: Decimal | None
    paid: Decimal
    prepaid: bool
    note: str | None
    placed_by: str
    placed_at: datetime
    updated_at: datetime
    version: int
    shipping_net: Decimal = Decimal(0)  # the delivery charge, part of net / vat / gross
    shipping_vat: Decimal = Decimal(0)

    @property
    def paid_in_full(self) -> bool:
        """Recorded payments cover the gross total."""
        return self.gross is not None and self.paid >= self.gross


class Line(msgspec.Struct, kw_only=True):
    """An order line: what was ordered, its price once known, what shipped and came back."""

    line_no: int
    sku: str
    name: str
    quantity: Decimal
    unit: Unit
    unit_net: Decimal | None = None
    line_net: Decimal | None = None
    vat_rate: Decimal | None = None
    line_vat: Decimal | None = None
    line_gross: Decimal | None = None
    breakdown: tuple[PriceStep, ...] | None = None
    shipped: Decimal = Decimal(0)
    returned: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        self.quantity, self.shipped, self.returned = (
            norm(self.quantity),
            norm(self.shipped),
            norm(self.returned),
        )

    def priced(self) -> PricedLine:
        """The line as the pricing engine gave it (only once priced)."""
        assert self.unit_net is not None and self.line_net is not None
        assert self.vat_rate is not None and self.line_vat is not None
        assert self.line_gross is not None
        return PricedLine(
            sku=self.sku,
            quantity=self.quantity,
            unit=self.unit,
            unit_net=self.unit_net,
            line_net=self.line_net,
            vat_rate=self.vat_rate,
            line_vat=self.line_vat,
            line_gross=self.line_gross,
            breakdown=self.breakdown or (),
        )


_ORDER = ", ".join(Order.__struct_fields__)
_LINE = ", ".join(Line.__struct_fields__)


async def lock(conn: asyncpg.Connection, order_id: str) -> Order:
    """The order, its row locked until the transaction ends; :class:`NotFound` if unknown."""
    found = await find(conn, order_id)
    if found is None:
        raise NotFound(f"no order {order_id!r}")
    return found


async def find(conn: asyncpg.Connection, order_id: str) -> Order | None:
    """The order, its row locked until the transaction ends, or None."""
    row = await conn.fetchrow(f"SELECT {_ORDER} FROM orders WHERE id = $1 FOR UPDATE", order_id)
    return record_to(Order, row) if row is not None else None


async def state_of(conn: asyncpg.Connection, order_id: str) -> OrderState:
    """Where the order stands (no lock); :class:`NotFound` if unknown."""
    state = await conn.fetchval("SELECT state FROM orders WHERE id = $1", order_id)
    if state is None:
        raise NotFound(f"no order {order_id!r}")
    return OrderState(state)


async def exists(conn: asyncpg.Connection, order_id: str) -> bool:
    """True if an order with this id was placed."""
    found = await conn.fetchval("SELECT true FROM orders WHERE id = $1", order_id)
    return found is True


async def with_external_ref(conn: asyncpg.Connection, source: str, ref: str) -> str | None:
    """The id of the order the shop (``source``) knows as ``ref``, if any."""
    found: str | None = await conn.fetchval(
        "SELECT id FROM orders WHERE source = $1 AND external_ref = $2", source, ref
    )
    return found


class NewOrder(msgspec.Struct, kw_only=True):
    """What placing stores."""

    id: str
    source: Source
    external_ref: str | None
    quotation_id: str | None
    customer: Customer
    billing: Address
    shipping: Address
    payment_method: PaymentMethod
    hold: str | None
    prepaid: bool
    note: str | None
    placed_by: str
    placed_at: datetime
    shipping_net: Decimal = Decimal(0)


async def insert(conn: asyncpg.Connection, new: NewOrder, lines: Sequence[Line]) -> Order:
    """Store a new pending order and its lines, numbered ``CMD-000123``; return it locked."""
    await conn.execute(
        """
        INSERT INTO orders (id, number, source, external_ref, quotation_id, customer_id, customer,
                            billing, shipping, payment_method, hold, prepaid, note, placed_by,
                            placed_at, updated_at, shipping_net)
        VALUES ($1, 'CMD-' || lpad(nextval('orders_number_seq')::text, 6, '0'), $2, $3, $4, $5,
                $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)
        """,
        new.id,
        new.source,
        new.external_ref,
        new.quotation_id,
        new.customer.customer_id,
        new.customer,
        new.billing,
        new.shipping,
        new.payment_method,
        new.hold,
        new.prepaid,
        new.note,
        new.placed_by,
        new.placed_at,
        new.shipping_net,
    )
    await conn.executemany(
        "INSERT INTO order_lines (order_id, line_no, sku, name, quantity, unit) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        [(new.id, x.line_no, x.sku, x.name, x.quantity, x.unit) for x in lines],
    )
    return await lock(conn, new.id)


async def lines(conn: asyncpg.Connection, order_id: str) -> list[Line]:
    """The order's lines, in order."""
    rows = await conn.fetch(
        f"SELECT {_LINE} FROM order_lines WHERE order_id = $1 ORDER BY line_no", order_id
    )
    return [record_to(Line, r) for r in rows]


async def save_prices(
    conn: asyncpg.Connection,
    order_id: str,
    priced: Sequence[PricedLine],
    totals: CartTotals,
    *,
    tier: int | None,
    on: date,
    at: datetime,
) -> None:
    """Store each line's price and breakdown and the order's totals; pricing is done. The
    order's shipping charge gets the VAT rate of its lines (delivery follows the goods) and is
    added to the totals."""
    await conn.executemany(
        "UPDATE order_lines SET unit = $3, unit_net = $4, line_net = $5, vat_rate = $6, "
        "line_vat = $7, line_gross = $8, breakdown = $9 WHERE order_id = $1 AND sku = $2",
        [
            (
                order_id,
                x.sku,
                x.unit,
                x.unit_net,
                x.line_net,
                x.vat_rate,
                x.line_vat,
                x.line_gross,
                x.breakdown,
            )
            for x in priced
        ],
    )
    rate = max((x.vat_rate for x in priced), default=Decimal(0))
    await conn.execute(
        "UPDATE orders SET pricing = 'priced', tier = $2, priced_on = $3, currency = $4, "
        "shipping_vat = round(shipping_net * $9, 2), net = $5 + shipping_net, "
        "vat = $6 + round(shipping_net * $9, 2), "
        "gross = $7 + shipping_net + round(shipping_net * $9, 2), "
        "updated_at = $8, version = version + 1 WHERE id = $1",
        order_id,
        tier,
        on,
        totals.currency,
        totals.net,
        totals.vat,
        totals.gross,
        at,
        rate,
    )


async def set_pricing(conn: asyncpg.Connection, order_id: str, pricing: Pricing) -> None:
    """Record how pricing went."""
    await conn.execute("UPDATE orders SET pricing = $2 WHERE id = $1", order_id, pricing)


async def set_reservation(
    conn: asyncpg.Connection, order_id: str, reservation: Reservation, at: datetime
) -> None:
    """Record where the order's stock reservation stands."""
    await conn.execute(
        "UPDATE orders SET reservation = $2, updated_at = $3 WHERE id = $1",
        order_id,
        reservation,
        at,
    )


async def record_transition(conn: asyncpg.Connection, order_id: str, move: Transition) -> None:
    """Move the order to its new state and keep the move in its history."""
    await conn.execute(
        "INSERT INTO order_transitions (order_id, from_state, to_state, at, by, reason) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        order_id,
        move.from_state,
        move.to_state,
        move.at,
        move.by,
        move.reason,
    )
    await conn.execute(
        "UPDATE orders SET state = $2, updated_at = $3, version = version + 1 WHERE id = $1",
        order_id,
        move.to_state,
        move.at,
    )


# --- products ---------------------------------------------------------------------------------


async def products(conn: asyncpg.Connection, skus: Sequence[str]) -> dict[str, tuple[str, Unit]]:
    """SKU → (name, unit) of the products the catalog told us about."""
    rows = await conn.fetch(
        "SELECT sku, name, unit FROM order_products WHERE sku = ANY($1::text[])", list(skus)
    )
    return {r["sku"]: (r["name"], r["unit"]) for r in rows}


async def apply_catalog(conn: asyncpg.Connection, snapshots: Iterable[ProductSnapshot]) -> int:
    """Keep each product's name and unit, unless a newer version is already known."""
    newest: dict[str, ProductSnapshot] = {}
    for p in snapshots:
        if p.sku not in newest or newest[p.sku].version < p.version:
            newest[p.sku] = p
    if not newest:
        return 0
    ordered = [newest[sku] for sku in sorted(newest)]
    done = await conn.fetch(
        "INSERT INTO order_products AS p (sku, name, unit, version) "
        "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) ORDER BY 1 "
        "ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit, "
        "version = EXCLUDED.version WHERE p.version < EXCLUDED.version RETURNING sku",
        [p.sku for p in ordered],
        [p.name for p in ordered],
        [p.unit for p in ordered],
        [p.version for p in ordered],
    )
    return len(done)

"""Helpers of the orders tests: orders to place, a stand-in for the invoicing connector, the
service called the way the API calls it, and readers of what a user would look at."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from actors.catalog.messages import Attributes, ProductsChanged, ProductSnapshot
from actors.invoicing.messages import (
    CreditNoteIssued,
    DocumentIssued,
    InvoiceIssued,
    IssueCreditNote,
    IssueInvoice,
    IssueProforma,
    ProformaIssued,
)
from actors.orders.effects import Outcome, write
from actors.orders.messages import Address, Customer, PaymentMethod, PlaceOrder
from actors.pricing.messages import CartLine, PricedLine
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode

ORDER_TABLES = "orders, order_products"
PRICING_TABLES = (
    "pricing_inputs, pricing_volume_breaks, pricing_promotions, pricing_min_margins, "
    "pricing_customer_tiers, pricing_list_prices"
)
STAFF = "user:5"

BILLING = Address(
    name="Ion Popescu",
    street="Str. Lalelelor 4",
    city="București",
    county="sector 2",
    postcode="021234",
    phone="0722000000",
)
CONSUMER = Customer(kind="consumer", name="Ion Popescu", email="ion@example.ro")
COMPANY = Customer(
    kind="company",
    name="Lumina Instal SRL",
    cui="RO18547290",
    reg_com="J40/1234/2020",
    email="office@lumina.ro",
    customer_id="c-lumina",
)


def snapshot(
    sku: str, *, name: str, unit: str = "piece", cost: str = "10.00", margin: str = "0.35"
) -> ProductSnapshot:
    """An active product as the catalog publishes it."""
    return ProductSnapshot(
        sku=sku,
        version=1,
        name=name,
        ean=None,
        category="benzi-led",
        unit=unit,  # type: ignore[arg-type]
        cost=Decimal(cost),
        margin=Decimal(margin),
        status="active",
        attributes=Attributes(),
    )


def place(
    order_id: str,
    *lines: tuple[str, str],
    payment: PaymentMethod = "card",
    customer: Customer = CONSUMER,
    priced: tuple[PricedLine, ...] | None = None,
    **kw: Any,
) -> PlaceOrder:
    """A ``PlaceOrder`` from the API for these (sku, quantity) lines."""
    return PlaceOrder(
        order_id=order_id,
        customer=customer,
        billing=BILLING,
        payment_method=payment,
        lines=tuple(CartLine(sku=s, quantity=Decimal(q)) for s, q in lines),
        priced=priced,
        **{"source": "api", "paid": payment == "card", **kw},
    )


def priced_line(sku: str, quantity: str, unit_net: str, unit: str = "piece") -> PricedLine:
    """A line priced at ``unit_net`` with 21 % VAT, rounded as the pricing engine rounds."""
    q, u = Decimal(quantity), Decimal(unit_net)
    net = (u * q).quantize(Decimal("0.01"))
    vat = (net * Decimal("0.21")).quantize(Decimal("0.01"))
    return PricedLine(
        sku=sku,
        quantity=q,
        unit=unit,  # type: ignore[arg-type]
        unit_net=u,
        line_net=net,
        vat_rate=Decimal("0.21"),
        line_vat=vat,
        line_gross=net + vat,
        breakdown=(),
    )


async def send(hub: Hub, msg: Message, *, key: str, actor: str = STAFF) -> Envelope:
    """Publish ``msg`` on the hub's bus, acting for ``actor``."""
    env = Envelope.new(msg, key=key, actor=actor)
    await hub.bus.publish(env, encode(msg))
    return env


async def apply(
    conn: asyncpg.Connection,
    change: Callable[[asyncpg.Connection], Awaitable[Outcome]],
    *,
    actor: str = STAFF,
) -> Outcome:
    """Run a service change in one transaction and publish its outcome, as the API does."""
    async with conn.transaction():
        outcome = await change(conn)
        await write(conn, outcome, actor=actor)
    return outcome


class InvoicingStandIn(Actor, name="invoicing-standin"):
    """Stands in for the invoicing connector: records what it is asked, numbers documents in
    sequence per series (invoices and credit notes ``FL``, proformas ``PF``), and answers a
    repeated request id with the document it already issued."""

    def __init__(self) -> None:
        self.asked: list[IssueInvoice | IssueProforma | IssueCreditNote] = []
        self.documents: dict[str, DocumentIssued] = {}
        self.last: dict[str, int] = {"FL": 0, "PF": 0}

    @handler
    async def issue(
        self, msg: IssueInvoice | IssueProforma | IssueCreditNote, ctx: Context
    ) -> None:
        self.asked.append(msg)
        done = self.documents.get(msg.request_id)
        if done is None:
            series = "PF" if isinstance(msg, IssueProforma) else "FL"
            self.last[series] += 1
            gross = sum((x.line_gross for x in msg.lines), start=Decimal(0))
            kind = {IssueInvoice: InvoiceIssued, IssueProforma: ProformaIssued}.get(
                type(msg), CreditNoteIssued
            )
            done = kind(
                request_id=msg.request_id,
                order_id=msg.order_id,
                series=series,
                number=f"{self.last[series]:04d}",
                gross=-gross if isinstance(msg, IssueCreditNote) else gross,
                issued_at=ctx.now,
            )
            self.documents[msg.request_id] = done
        ctx.emit(done)

    def of(self, cls: type, order_id: str) -> list[Any]:
        """The requests of one kind it received for an order."""
        return [m for m in self.asked if isinstance(m, cls) and m.order_id == order_id]


# --- what a user would look at ------------------------------------------------------------------


async def order_row(conn: asyncpg.Connection, order_id: str) -> dict[str, Any] | None:
    """The order's row, or None."""
    row = await conn.fetchrow("SELECT * FROM orders WHERE id = $1", order_id)
    return dict(row) if row is not None else None


async def state(conn: asyncpg.Connection, order_id: str) -> str | None:
    """The order's state, or None if there is no such order."""
    found: str | None = await conn.fetchval("SELECT state FROM orders WHERE id = $1", order_id)
    return found


async def history(conn: asyncpg.Connection, order_id: str) -> list[tuple[str, str, str]]:
    """The order's transitions: (from, to, by), in order."""
    rows = await conn.fetch(
        "SELECT from_state, to_state, by FROM order_transitions WHERE order_id = $1 ORDER BY id",
        order_id,
    )
    return [(r["from_state"], r["to_state"], r["by"]) for r in rows]


async def lines(conn: asyncpg.Connection, order_id: str) -> dict[str, tuple[Any, ...]]:
    """SKU → (quantity, shipped, returned)."""
    rows = await conn.fetch(
        "SELECT sku, quantity, shipped, returned FROM order_lines WHERE order_id = $1", order_id
    )
    return {r["sku"]: (r["quantity"], r["shipped"], r["returned"]) for r in rows}


async def movements(
    conn: asyncpg.Connection, reference: str
) -> list[tuple[str, str, str, Decimal]]:
    """The inventory's movements for a reference: (kind, sku, warehouse, quantity), in order."""
    rows = await conn.fetch(
        "SELECT kind, sku, warehouse, quantity FROM inventory_movements WHERE reference = $1 "
        "ORDER BY id",
        reference,
    )
    return [(r["kind"], r["sku"], r["warehouse"], r["quantity"].normalize()) for r in rows]


async def documents(conn: asyncpg.Connection, order_id: str) -> dict[str, dict[str, Any]]:
    """request id → the document row."""
    rows = await conn.fetch("SELECT * FROM order_documents WHERE order_id = $1", order_id)
    return {r["request_id"]: dict(r) for r in rows}


async def outbox(conn: asyncpg.Connection, type_: str, key: str) -> list[dict[str, Any]]:
    """The bodies of the messages of one type written under one key, in order."""
    rows = await conn.fetch(
        "SELECT body FROM hub_outbox WHERE type = $1 AND envelope->>'key' = $2 ORDER BY id",
        type_,
        key,
    )
    return [msgspec.json.decode(bytes(r["body"])) for r in rows]


def products(*snapshots: ProductSnapshot) -> ProductsChanged:
    """One ``ProductsChanged``."""
    return ProductsChanged(products=snapshots)

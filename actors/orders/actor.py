"""The orders actor: places orders, follows the pricing engine's, the inventory's and
invoicing's answers, records payments, and keeps the product names it learns from the catalog.

Handlers are thin: the service decides and writes, the handler publishes the outcome and
audits the transitions it made (for the principal the flow acts for).
"""

from __future__ import annotations

from actors.catalog.messages import ProductsChanged
from actors.inventory.messages import (
    ReservationRejected,
    StockIssued,
    StockReserved,
    StockShortage,
)
from actors.invoicing.messages import (
    CreditNoteIssued,
    DocumentFailed,
    InvoiceIssued,
    ProformaIssued,
)
from actors.orders import documents, service, store
from actors.orders.messages import CancelOrder, PlaceOrder, RecordPayment, RetryReservation
from actors.orders.service import Outcome
from actors.orders.settings import OrdersSettings, load_settings
from actors.pricing.messages import CartPriced, CartPricingFailed
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources


class OrdersActor(Actor, name="orders"):
    """Takes an order from placed to confirmed, shipped, returned; asks for its documents."""

    def __init__(self, settings: OrdersSettings | None = None) -> None:
        self.settings = settings or OrdersSettings()

    @handler
    async def place(self, msg: PlaceOrder, ctx: Context) -> None:
        outcome = await service.place_order(ctx.conn, msg, by=author(ctx), now=ctx.now)
        await publish(ctx, outcome)

    @handler
    async def priced(self, msg: CartPriced, ctx: Context) -> None:
        await publish(ctx, await service.cart_priced(ctx.conn, msg, now=ctx.now))

    @handler
    async def pricing_failed(self, msg: CartPricingFailed, ctx: Context) -> None:
        await publish(ctx, await service.pricing_failed(ctx.conn, msg, now=ctx.now))

    @handler
    async def reserved(self, msg: StockReserved, ctx: Context) -> None:
        await publish(ctx, await service.stock_reserved(ctx.conn, msg, now=ctx.now))

    @handler
    async def short(self, msg: StockShortage, ctx: Context) -> None:
        outcome = await service.stock_short(
            ctx.conn, msg, shortage=self.settings.shortage, now=ctx.now
        )
        await publish(ctx, outcome)

    @handler
    async def refused(self, msg: ReservationRejected, ctx: Context) -> None:
        if msg.command == "reserve":
            outcome = await service.reservation_refused(ctx.conn, msg, now=ctx.now)
        elif msg.command == "issue":
            outcome = await service.issue_refused(ctx.conn, msg)
        else:
            outcome = Outcome(notes=[f"inventory refused to {msg.command}: {msg.reason}"])
        await publish(ctx, outcome)

    @handler
    async def issued(self, msg: StockIssued, ctx: Context) -> None:
        await publish(ctx, await service.stock_issued(ctx.conn, msg, now=ctx.now))

    @handler
    async def payment(self, msg: RecordPayment, ctx: Context) -> None:
        outcome = await service.record_payment(ctx.conn, msg, by=author(ctx), now=ctx.now)
        await publish(ctx, outcome)

    @handler
    async def cancel(self, msg: CancelOrder, ctx: Context) -> None:
        outcome = await service.cancel_on_request(ctx.conn, msg, by=author(ctx), now=ctx.now)
        await publish(ctx, outcome)

    @handler
    async def retry(self, msg: RetryReservation, ctx: Context) -> None:
        await publish(ctx, await service.retry_reservation(ctx.conn, msg.order_id, by=author(ctx)))

    @handler
    async def document_issued(
        self, msg: InvoiceIssued | ProformaIssued | CreditNoteIssued, ctx: Context
    ) -> None:
        await publish(ctx, await documents.issued(ctx.conn, msg))

    @handler
    async def document_failed(self, msg: DocumentFailed, ctx: Context) -> None:
        await publish(ctx, await documents.failed(ctx.conn, msg))

    @handler
    async def products_changed(self, msg: ProductsChanged, ctx: Context) -> None:
        await store.apply_catalog(ctx.conn, msg.products)


def author(ctx: Context) -> str:
    """Who a change is recorded for: the principal the flow acts for, or the system."""
    return ctx.envelope.actor or "system"


async def publish(ctx: Context, outcome: Outcome) -> None:
    """Emit an outcome's messages, audit its transitions, log its notes."""
    for message, key in outcome.messages:
        ctx.emit(message, key=key)
    for order_id, step in outcome.transitions:
        await ctx.audit(
            "orders.transition",
            entity_type="order",
            entity_id=order_id,
            before={"state": step.from_state},
            after={"state": step.to_state, "by": step.by, "reason": step.reason},
        )
    for note in outcome.notes:
        ctx.log.info("%s", note)


def factory(resources: Resources) -> Actor:
    """The orders actor with the ``[orders]`` settings."""
    return OrdersActor(load_settings())

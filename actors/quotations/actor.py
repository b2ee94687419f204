"""The quotations actor: keeps the pricing engine's answers and the inventory's holds, runs
the quotes' expiry and reminder timers, and learns product names from the catalog.

Its clock is injectable (``clock``): validity, timer guards and the reminder's time read it, so
a test moves time by moving the clock and the pending timers together.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from actors.catalog.messages import ProductsChanged
from actors.inventory.messages import StockReleased, StockReserved
from actors.pricing.messages import CartPriced, CartPricingFailed
from actors.quotations import drafts, holds, lifecycle, service, store
from actors.quotations.messages import ExpireQuotation, RemindQuotation
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class QuotationsActor(Actor, name="quotations"):
    """Prices drafts by message, expires and reminds sent quotes on time, follows stock holds."""

    def __init__(self, *, clock: Clock = utc_now) -> None:
        self.clock = clock

    @handler
    async def priced(self, msg: CartPriced, ctx: Context) -> None:
        await service.publish(ctx, await drafts.priced(ctx.conn, msg, now=self.clock()))

    @handler
    async def pricing_failed(self, msg: CartPricingFailed, ctx: Context) -> None:
        await service.publish(ctx, await drafts.pricing_failed(ctx.conn, msg, now=self.clock()))

    @handler
    async def expire(self, msg: ExpireQuotation, ctx: Context) -> None:
        await service.publish(ctx, await lifecycle.expire(ctx.conn, msg, now=self.clock()))

    @handler
    async def remind(self, msg: RemindQuotation, ctx: Context) -> None:
        await service.publish(ctx, await lifecycle.remind(ctx.conn, msg, now=self.clock()))

    @handler
    async def hold_reserved(self, msg: StockReserved, ctx: Context) -> None:
        await service.publish(ctx, await holds.hold_reserved(ctx.conn, msg, now=self.clock()))

    @handler
    async def hold_released(self, msg: StockReleased, ctx: Context) -> None:
        await service.publish(ctx, await holds.hold_released(ctx.conn, msg, now=self.clock()))

    @handler
    async def products_changed(self, msg: ProductsChanged, ctx: Context) -> None:
        await store.apply_catalog(ctx.conn, msg.products)


def factory(resources: Resources) -> Actor:
    """The quotations actor on the real clock."""
    return QuotationsActor()

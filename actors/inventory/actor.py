"""The inventory actor: reservations (reserve, take over, release, issue, expiry), goods
received by command (returns), the low-stock digest, and the costs and units it learns from
the catalog."""

from __future__ import annotations

from actors.catalog.messages import ProductsChanged
from actors.inventory import domain, receiving, reservations, reserving, store
from actors.inventory.messages import (
    ExpireReservation,
    IssueStock,
    LowStockDigest,
    LowStockItem,
    ReceiveStock,
    ReleaseStock,
    ReserveStock,
    SendLowStockDigest,
)
from actors.inventory.service import DIGEST_KEY, Outcome
from actors.inventory.settings import InventorySettings, load_settings
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources


class InventoryActor(Actor, name="inventory"):
    """Holds, releases and issues stock; never sells what is not there."""

    def __init__(self, settings: InventorySettings | None = None) -> None:
        self.settings = settings or InventorySettings()

    @handler
    async def reserve(self, msg: ReserveStock, ctx: Context) -> None:
        outcome = await reserving.reserve(
            ctx.conn, msg, author=author(ctx), settings=self.settings, now=ctx.now
        )
        await publish(ctx, outcome)

    @handler
    async def receive(self, msg: ReceiveStock, ctx: Context) -> None:
        outcome = await receiving.receive(
            ctx.conn, msg, author=author(ctx), settings=self.settings, now=ctx.now
        )
        await publish(ctx, outcome)

    @handler
    async def release(self, msg: ReleaseStock, ctx: Context) -> None:
        outcome = await reservations.release(
            ctx.conn, msg, author=author(ctx), settings=self.settings, now=ctx.now
        )
        await publish(ctx, outcome)

    @handler
    async def issue(self, msg: IssueStock, ctx: Context) -> None:
        outcome = await reservations.issue(
            ctx.conn, msg, author=author(ctx), settings=self.settings, now=ctx.now
        )
        await publish(ctx, outcome)

    @handler
    async def expire(self, msg: ExpireReservation, ctx: Context) -> None:
        outcome = await reservations.expire(ctx.conn, msg, settings=self.settings, now=ctx.now)
        await publish(ctx, outcome)

    @handler
    async def send_digest(self, msg: SendLowStockDigest, ctx: Context) -> None:
        default = self.settings.default_reorder_point
        items = [
            LowStockItem(
                sku=p.sku, available=domain.norm(p.available), reorder_point=domain.norm(point)
            )
            for p in await store.take_digest(ctx.conn, ctx.now)
            if (point := p.reorder_point if p.reorder_point is not None else default) is not None
            and domain.is_low(p.available, point)
        ]
        if items:
            ctx.emit(LowStockDigest(items=tuple(items)), key=DIGEST_KEY)
            ctx.log.info("low-stock digest: %d SKUs", len(items))

    @handler
    async def products_changed(self, msg: ProductsChanged, ctx: Context) -> None:
        await store.apply_catalog(ctx.conn, msg.products)


def author(ctx: Context) -> str:
    """Who a movement is recorded for: the principal the flow acts for, or the system."""
    return ctx.envelope.actor or "system"


async def publish(ctx: Context, outcome: Outcome) -> None:
    """Emit an outcome's events and set and cancel its timers, in this handler's transaction;
    log its notes."""
    for note in outcome.notes:
        ctx.log.info(note)
    for event, key in outcome.events:
        ctx.emit(event, key=key)
    for timer in outcome.timers:
        ctx.schedule(timer.message, at=timer.at, name=timer.name, key=timer.key)
    for name in outcome.cancels:
        await ctx.cancel(name)


def factory(resources: Resources) -> Actor:
    """The inventory actor with the ``[inventory]`` settings."""
    return InventoryActor(load_settings())

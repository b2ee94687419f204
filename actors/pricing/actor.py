"""The pricing actor: keeps price inputs from the catalog, reprices, prices carts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

from actors.catalog.messages import ProductsChanged, ProductSnapshot
from actors.pricing import domain, store
from actors.pricing.cache import PriceCache, price_cache
from actors.pricing.messages import (
    CartPriced,
    CartPricingFailed,
    PriceCart,
    PriceChanged,
    PricesRepriced,
    RepriceProducts,
)
from actors.pricing.rules import PriceInput
from actors.pricing.settings import PricingSettings, load_settings
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources
from hub.cache import Cache
from hub.errors import DomainError


class Pricing(Actor, name="pricing"):
    """Applies newer catalog snapshots, reprices what a change affects, answers PriceCart."""

    def __init__(self, settings: PricingSettings, cache: Cache | None = None) -> None:
        self.settings = settings
        self.cache: PriceCache | None = price_cache(cache, settings) if cache is not None else None

    @handler
    async def products_changed(self, msg: ProductsChanged, ctx: Context) -> None:
        await store.lock_repricing(ctx.conn)
        applied = await store.apply_inputs(ctx.conn, [price_input(p) for p in msg.products])
        if applied:
            reasons = {p.sku: catalog_reason(p) for p in msg.products}
            await self.reprice_now(ctx, "catalog", reasons, skus=applied)

    @handler
    async def reprice(self, msg: RepriceProducts, ctx: Context) -> None:
        await store.lock_repricing(ctx.conn)
        await self.reprice_now(
            ctx, msg.reason, {}, skus=msg.skus, categories=msg.categories, everything=msg.everything
        )
        if msg.promotion_id is not None:
            await self.keep_promotion_timers(ctx, msg.promotion_id)

    @handler
    async def price_cart(self, msg: PriceCart, ctx: Context) -> None:
        on = msg.on or domain.business_date(ctx.now)
        tier = msg.tier
        if tier is None:
            tier = await store.customer_tier(ctx.conn, msg.customer_id) if msg.customer_id else 0
        sheets = await store.sheets(ctx.conn, [x.sku for x in msg.lines], self.settings.min_margin)
        try:
            cart = domain.price_cart(sheets, tier, msg.lines, on)
        except DomainError as exc:
            skus = exc.skus if isinstance(exc, domain.CartError) else ()
            failed = CartPricingFailed(request_id=msg.request_id, reason=str(exc), skus=skus)
            ctx.emit(failed, key=msg.request_id)
            return
        priced = CartPriced(
            request_id=msg.request_id,
            customer_id=msg.customer_id,
            tier=tier,
            on=on,
            lines=cart.lines,
            totals=cart.totals,
        )
        ctx.emit(priced, key=msg.request_id)

    @handler
    async def repriced(self, msg: PricesRepriced, ctx: Context) -> None:
        # Delivered only after the repricing committed: now the cache may drop what it has.
        if self.cache is not None:
            await self.cache.bump()

    async def reprice_now(
        self,
        ctx: Context,
        reason: str,
        reasons: Mapping[str, str],
        *,
        skus: Sequence[str] = (),
        categories: Sequence[str] = (),
        everything: bool = False,
    ) -> None:
        """Recompute the list prices in scope (the caller holds the repricing lock), store
        those that changed, emit one PriceChanged each, then one PricesRepriced."""
        today = domain.business_date(ctx.now)
        inputs = await store.inputs_for_repricing(
            ctx.conn, skus=skus, categories=categories, everything=everything
        )
        book = await store.rule_book(ctx.conn, inputs, self.settings.min_margin)
        new = domain.list_prices((book.sheet(item) for item in inputs), today)
        old = await store.list_prices(ctx.conn, [item.sku for item in inputs])
        changes = domain.price_changes(old, new)
        removed = [sku for sku in old if sku not in new]
        await store.save_list_prices(ctx.conn, [c.new for c in changes], today, removed)
        for change in changes:
            ctx.emit(price_changed(change, reasons.get(change.new.sku, reason)), key=change.new.sku)
        ctx.emit(PricesRepriced(reason=reason, checked=len(inputs), changed=len(changes)))

    async def keep_promotion_timers(self, ctx: Context, promotion_id: int) -> None:
        """Reprice the promotion's products when it starts and after it ends (timers by name)."""
        promotion = await store.promotion(ctx.conn, promotion_id)
        days = (
            {"start": promotion.valid_from, "end": promotion.valid_to + timedelta(days=1)}
            if promotion
            else {}
        )
        for edge in ("start", "end"):
            name = f"pricing:promotion:{promotion_id}:{edge}"
            day = days.get(edge)
            if promotion is None or day is None or domain.day_start(day) <= ctx.now:
                await ctx.cancel(name)
                continue
            target = (promotion.target,)
            verb = "starts" if edge == "start" else "ended"
            message = RepriceProducts(
                reason=f"promotion {promotion_id} {verb}",
                skus=target if promotion.scope == "sku" else (),
                categories=target if promotion.scope == "category" else (),
            )
            ctx.schedule(message, at=domain.day_start(day), name=name)


def price_input(snapshot: ProductSnapshot) -> PriceInput:
    """What pricing keeps of a catalog snapshot."""
    return PriceInput(
        sku=snapshot.sku,
        version=snapshot.version,
        category=snapshot.category,
        unit=snapshot.unit,
        cost=snapshot.cost,
        margin=snapshot.margin,
        status=snapshot.status,
    )


def catalog_reason(snapshot: ProductSnapshot) -> str:
    """``catalog: cost, margin`` (the fields the catalog says changed)."""
    return f"catalog: {', '.join(snapshot.changed)}" if snapshot.changed else "catalog"


def price_changed(change: domain.PriceChange, reason: str) -> PriceChanged:
    """The event of one changed list price."""
    new = change.new
    return PriceChanged(
        sku=new.sku,
        list_net=new.list_net,
        list_gross=new.list_gross,
        sale_net=new.sale_net,
        sale_gross=new.sale_gross,
        vat_rate=new.vat_rate,
        previous_list_net=change.old.list_net if change.old else None,
        reason=reason,
    )


def factory(resources: Resources) -> Actor:
    """The pricing actor with the hub's cache and the ``[pricing]`` settings."""
    return Pricing(load_settings(), resources.cache)

"""The ``woocommerce`` connector actor (docs/WOOCOMMERCE.md, "The connector actor").

- Shop → hub: order webhooks and the reconcile poll become ``orders.PlaceOrder`` once the
  hub's pricing has checked them (``inbound.py``, ``mapping.py``); product and customer
  webhooks keep the SKU → product map and the customers' hub ids.
- Hub → shop: ``orders.OrderStateChanged`` pushes ``woo_status`` (a PUT of a status: repeating
  it is harmless; a shop that cannot take it now is tried again on a ``PushOrderStatus``
  timer); ``pricing.PriceChanged``/``inventory.StockChanged`` are gathered per SKU and pushed
  in batches (``push.py``).

Without the shop's URL or keys the intake side works and whatever needs the shop raises a
``TransientError`` naming the missing setting (retried, then dead-lettered and replayable).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import msgspec

from actors.inventory.messages import StockChanged
from actors.orders.messages import (
    CancelRefused,
    OrderPlaced,
    OrderRejected,
    OrderStateChanged,
)
from actors.pricing.messages import CartPriced, CartPricingFailed, PriceChanged
from connectors.woocommerce import inbound, product_store, push, status, store, sync_store
from connectors.woocommerce.client import WooCommerceClient
from connectors.woocommerce.client import build as build_client
from connectors.woocommerce.messages import (
    OrderFetched,
    PollOrders,
    PushOrderStatus,
    PushProducts,
    ReconcileOrders,
    RetryOrder,
    WebhookReceived,
)
from connectors.woocommerce.resources import Customer, Order, Product, decode
from connectors.woocommerce.settings import WooCommerceSettings, load_settings
from hub import outbox
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources
from hub.breaker import Breaker
from hub.db import Database
from hub.errors import ConfigError, DomainError, NotFound, PermanentError, TransientError
from hub.messages import Envelope, encode
from hub.ratelimit import RateLimiter, limiter_for
from hub.telemetry import Metrics

log = logging.getLogger(__name__)

T = TypeVar("T")
POLL_TIMER = "woocommerce:poll-orders"
POLL_KEY = "woocommerce:poll"


class _Id(msgspec.Struct):
    id: int | None = None


_decode_id = msgspec.json.Decoder(_Id).decode


def _read(payload: bytes, kind: type[T]) -> T:
    try:
        return decode(payload, kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise PermanentError(f"unreadable WooCommerce {kind.__name__}: {exc}") from exc


class WooCommerceActor(Actor, name="woocommerce"):
    """Takes the shop's orders in and keeps the shop's statuses, prices and stock the hub's."""

    def __init__(
        self,
        settings: WooCommerceSettings,
        db: Database,
        client: WooCommerceClient | None,
        *,
        unavailable: str | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.client = client
        self.unavailable = unavailable
        self.pusher = push.Pusher(settings, db)
        self.statuses = status.StatusPusher(db, self.shop)

    @property
    def configured(self) -> bool:
        """True when the shop can be called (its URL is usable and the keys are set)."""
        return self.client is not None and bool(
            self.settings.consumer_key and self.settings.consumer_secret
        )

    def shop(self) -> WooCommerceClient:
        """The client, or a ``TransientError`` naming the setting that is missing."""
        if self.client is None:
            raise TransientError(self.unavailable or "the WooCommerce client is not configured")
        if not self.settings.consumer_key or not self.settings.consumer_secret:
            raise TransientError(
                "missing setting CYPHER_WOOCOMMERCE_CONSUMER_KEY / "
                "CYPHER_WOOCOMMERCE_CONSUMER_SECRET: cannot call the store"
            )
        return self.client

    # --- shop → hub ---------------------------------------------------------------------------

    @handler
    async def webhook(self, msg: WebhookReceived, ctx: Context) -> None:
        payload = bytes(msg.payload)
        if msg.resource == "order" and msg.event != "deleted":
            order = _read(payload, Order)
            await inbound.take_order(ctx, order, self.settings, via=msg.topic)
        elif msg.resource == "product":
            await self._product_seen(ctx, msg.event, payload)
        elif msg.resource == "customer" and msg.event != "deleted":
            await inbound.customer_seen(ctx, _read(payload, Customer), self.settings)
        else:
            ctx.log.info("woocommerce webhook %s not used", msg.topic)

    @handler
    async def fetched(self, msg: OrderFetched, ctx: Context) -> None:
        order = _read(bytes(msg.payload), Order)
        await inbound.take_order(ctx, order, self.settings, via="reconcile poll")

    @handler
    async def retry_order(self, msg: RetryOrder, ctx: Context) -> None:
        row = await store.order(ctx.conn, msg.shop_order_id)
        if row is None:
            raise NotFound(f"shop order {msg.shop_order_id} was never taken in")
        if row.state in ("placed", "checking"):
            raise DomainError(f"shop order {msg.shop_order_id} is {row.state}: nothing to retry")
        order = _read(row.shop_order, Order)
        await inbound.take_order(
            ctx,
            order,
            self.settings,
            via="RetryOrder",
            again=True,
            accept_totals=msg.accept_totals,
        )

    @handler
    async def priced(self, msg: CartPriced, ctx: Context) -> None:
        if inbound.checked(msg.request_id) is not None:
            await inbound.priced(ctx, msg, self.settings)

    @handler
    async def pricing_failed(self, msg: CartPricingFailed, ctx: Context) -> None:
        if inbound.checked(msg.request_id) is not None:
            await inbound.pricing_failed(ctx, msg)

    @handler
    async def order_placed(self, msg: OrderPlaced, ctx: Context) -> None:
        await inbound.order_placed(ctx, msg)

    @handler
    async def order_rejected(self, msg: OrderRejected, ctx: Context) -> None:
        await inbound.order_rejected(ctx, msg)

    @handler
    async def cancel_refused(self, msg: CancelRefused, ctx: Context) -> None:
        await inbound.cancel_refused(ctx, msg)

    async def _product_seen(self, ctx: Context, event: str, payload: bytes) -> None:
        if event == "deleted":
            # an unsigned hint at most: forgetting the product only means looking it up again
            ident = _decode_id(payload).id
            if ident is not None:
                await product_store.forget_product(ctx.conn, ident)
            return
        product = _read(payload, Product)
        if not product.sku:
            return
        reason = push.supported(product)
        if reason is not None:
            await product_store.refused(ctx.conn, product.sku, reason)
            return
        await product_store.learn(ctx.conn, [product])
        if await product_store.is_due(ctx.conn, product.sku):
            ctx.log.info("woocommerce product %s differs from the hub's: pushed again", product.sku)
            await self._arm_push(ctx)

    # --- hub → shop: order status -------------------------------------------------------------

    @handler
    async def state_changed(self, msg: OrderStateChanged, ctx: Context) -> None:
        shop_order_id = await self.statuses.wanted(msg)
        if shop_order_id is not None:
            await self._push_status(ctx, shop_order_id, attempt=1)

    @handler
    async def push_order_status(self, msg: PushOrderStatus, ctx: Context) -> None:
        await self._push_status(ctx, msg.shop_order_id, attempt=msg.attempt)

    async def _push_status(self, ctx: Context, shop_order_id: int, *, attempt: int) -> None:
        """Push the wanted status; if the shop cannot take it now, again on a durable timer.

        The runtime's retries are bounded (``retry_delays``): an outage outlasting them would
        dead-letter the message. The timer tries until the shop is back. Without the shop's
        keys there is nothing to wait for: the error is raised (dead-lettered, replayable)."""
        try:
            await self.statuses.push(shop_order_id)
        except TransientError as exc:
            if not self.configured:
                raise
            delay = status.retry_delay(self.settings, attempt, exc)
            # from the clock, not ctx.now: the failed call may have taken its whole timeout
            at = datetime.now(UTC) + timedelta(seconds=delay)
            ctx.log.warning(
                "woocommerce order %s status not pushed (attempt %d), again in %.3g s: %s",
                shop_order_id,
                attempt,
                delay,
                exc,
            )
            ctx.schedule(
                PushOrderStatus(shop_order_id=shop_order_id, attempt=attempt + 1),
                at=at,
                name=status.retry_timer(shop_order_id),
                key=status.retry_key(shop_order_id),
            )

    # --- hub → shop: prices and stock ---------------------------------------------------------

    @handler
    async def price_changed(self, msg: PriceChanged, ctx: Context) -> None:
        regular, sale = push.wanted_price(msg, include_tax=self.settings.prices_include_tax)
        at = ctx.envelope.occurred_at
        if await product_store.want_price(ctx.conn, msg.sku, regular, sale, at):
            await self._arm_if_due(ctx, msg.sku)

    @handler
    async def stock_changed(self, msg: StockChanged, ctx: Context) -> None:
        quantity = push.wanted_stock(msg)
        if await product_store.want_stock(ctx.conn, msg.sku, quantity, msg.version):
            await self._arm_if_due(ctx, msg.sku)

    @handler
    async def push_products(self, msg: PushProducts, ctx: Context) -> None:
        client = self.shop()
        async with self.db.transaction() as conn:
            await sync_store.disarm_push(conn)
        result = await self.pusher.run(client, ctx.now)
        if result.retry_at is not None:
            await sync_store.rearm_push(ctx.conn, result.retry_at)
            ctx.schedule(
                PushProducts(), at=result.retry_at, name=push.PUSH_TIMER, key=push.PUSH_KEY
            )

    async def _arm_if_due(self, ctx: Context, sku: str) -> None:
        if await product_store.is_due(ctx.conn, sku):
            await self._arm_push(ctx)

    async def _arm_push(self, ctx: Context) -> None:
        """Arm the push window unless it is armed: changes until then go in one push.

        Without the shop's keys nothing is armed (the wanted values are kept; the start after
        the keys are set arms the push)."""
        if not self.configured:
            return
        due = ctx.now + timedelta(seconds=self.settings.push_window)
        stale = ctx.now - timedelta(seconds=max(60.0, 10 * self.settings.push_window))
        if await sync_store.arm_push(ctx.conn, due, stale_before=stale):
            ctx.schedule(PushProducts(), at=due, name=push.PUSH_TIMER, key=push.PUSH_KEY)

    # --- the reconcile poll -------------------------------------------------------------------

    @handler
    async def reconcile(self, msg: ReconcileOrders, ctx: Context) -> None:
        await self._reconcile(ctx, msg.modified_after)

    @handler
    async def poll(self, msg: PollOrders, ctx: Context) -> None:
        next_at = ctx.now + timedelta(seconds=self.settings.poll_interval)
        ctx.schedule(PollOrders(), at=next_at, name=POLL_TIMER, key=POLL_KEY)
        try:
            await self._reconcile(ctx, None)
        except (TransientError, PermanentError) as exc:
            ctx.log.warning("woocommerce poll failed, again at %s: %s", next_at.isoformat(), exc)
            await sync_store.polled(ctx.conn, cursor=None, at=ctx.now, error=str(exc)[:1000])
        await self._sweep(ctx)

    async def _reconcile(self, ctx: Context, modified_after: datetime | None) -> None:
        """Feed every order changed since ``modified_after`` through the webhook path."""
        client = self.shop()
        since = modified_after
        if since is None:
            cursor = (await sync_store.sync(ctx.conn)).poll_cursor
            overlap = timedelta(seconds=self.settings.poll_overlap)
            lookback = timedelta(seconds=self.settings.poll_lookback)
            since = cursor - overlap if cursor is not None else ctx.now - lookback
        newest: datetime | None = None
        count = 0
        async for order in client.orders(modified_after=since):
            ctx.emit(
                OrderFetched(shop_order_id=order.id, payload=msgspec.Raw(inbound.canonical(order))),
                key=inbound.order_key(order.id),
            )
            count += 1
            if order.date_modified_gmt is not None:
                newest = max(newest or order.date_modified_gmt, order.date_modified_gmt)
        await sync_store.polled(ctx.conn, cursor=newest, at=ctx.now, error=None)
        ctx.log.info("woocommerce poll: %d orders changed since %s", count, since.isoformat())

    async def _sweep(self, ctx: Context) -> None:
        """What a lost message could have left behind: status pushes, an unarmed push window."""
        grace = timedelta(seconds=max(60.0, self.settings.poll_overlap))
        await self.statuses.sweep(ctx.now - grace)
        async with self.db.transaction() as conn:
            products_due = await product_store.any_due(conn)
        if products_due:
            await self._arm_push(ctx)

    async def on_start(self) -> None:
        """Arm the periodic poll (from the last one), and a push of what waits, if anything."""
        if not self.configured:
            log.warning(
                "woocommerce: no reconcile poll and no pushes to the shop (%s)",
                self.unavailable
                or "missing setting CYPHER_WOOCOMMERCE_CONSUMER_KEY / _CONSUMER_SECRET",
            )
            return
        now = datetime.now(UTC)
        interval = timedelta(seconds=self.settings.poll_interval)
        async with self.db.transaction() as conn:
            state = await sync_store.sync(conn)
            poll_at = max(now, (state.polled_at or now) + interval)
            timers: list[tuple[PollOrders | PushProducts, datetime, str]] = [
                (PollOrders(), poll_at, POLL_TIMER)
            ]
            if await product_store.any_due(conn):
                push_at = now + timedelta(seconds=self.settings.push_window)
                await sync_store.rearm_push(conn, push_at)
                timers.append((PushProducts(), push_at, push.PUSH_TIMER))
            await outbox.write(conn, [_timer(m, at, name) for m, at, name in timers])

    async def on_stop(self) -> None:
        if self.client is not None:
            await self.client.close()


def _timer(message: PollOrders | PushProducts, at: datetime, name: str) -> outbox.Outgoing:
    key = POLL_KEY if isinstance(message, PollOrders) else push.PUSH_KEY
    env = Envelope.new(message, key=key, occurred_at=at)
    return outbox.Outgoing(env, encode(message), timer_at=at, timer_name=name)


def build(
    settings: WooCommerceSettings,
    db: Database,
    *,
    limiter: RateLimiter | None = None,
    breaker: Breaker | None = None,
    metrics: Metrics | None = None,
) -> WooCommerceActor:
    """The actor with its client (none when the store URL is unusable: the intake still works)."""
    try:
        client = build_client(settings, limiter=limiter, breaker=breaker, metrics=metrics)
    except ConfigError as exc:
        log.warning("woocommerce: the shop cannot be called: %s", exc)
        return WooCommerceActor(settings, db, None, unavailable=str(exc))
    return WooCommerceActor(settings, db, client)


def factory(resources: Resources) -> Actor:
    """The connector with the ``[woocommerce]`` settings."""
    settings = load_settings()
    if resources.settings.env == "production" and not (
        settings.consumer_key and settings.consumer_secret
    ):
        raise ConfigError(
            "missing setting CYPHER_WOOCOMMERCE_CONSUMER_KEY / CYPHER_WOOCOMMERCE_CONSUMER_SECRET:"
            " required in production"
        )
    return build(
        settings, resources.db, limiter=limiter_for(resources.cache), metrics=resources.metrics
    )

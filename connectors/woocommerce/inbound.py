"""Shop → hub: orders (webhooks and the poll alike), customers and products the shop announces.

One path for every delivery of an order, whatever brought it (``order.created``,
``order.updated``, the reconcile poll, ``RetryOrder``), in the handler's transaction with the
order's row locked:

1. Content already held (same ``date_modified_gmt`` and same content) or older: nothing.
2. Placed already: a shop-side cancellation is recorded and the hub's order cancelled
   (``CancelOrder``: only before confirmation; from then on the orders context answers
   ``CancelRefused`` and staff are told with ``ShopOrderCancelled``); our own status pushes
   coming back are recognised; nothing is placed again.
3. Not placed: cancelled in the shop → ``cancelled``; payment to come (``pending``,
   ``failed``) → ``waiting``; another status not in ``place_statuses`` (``completed`` before
   the hub saw it) or unmappable → ``parked`` (``OrderParked``, with the reason); otherwise
   the hub's pricing is asked (``PriceCart``) and the answer (:func:`priced`,
   :func:`pricing_failed`) places the order (``PlaceOrder``), parks it (unknown SKU) and flags
   totals that differ (``OrderTotalsMismatch``).
"""

from __future__ import annotations

import msgspec

from actors.orders.effects import order_key as hub_order_key
from actors.orders.messages import (
    CancelOrder,
    CancelRefused,
    OrderPlaced,
    OrderRejected,
    PlaceOrder,
)
from actors.pricing.messages import CartPriced, CartPricingFailed, PriceCart
from connectors.woocommerce import mapping, store, sync_store
from connectors.woocommerce.messages import (
    OrderParked,
    OrderTotalsMismatch,
    ShopOrderCancelled,
)
from connectors.woocommerce.resources import Customer, Order
from connectors.woocommerce.settings import WooCommerceSettings
from hub.actor import Context

PRICE_PREFIX = "woocommerce:"
CANCELLED = ("cancelled", "refunded", "trash")  # never placed once the shop shows these
SHOP_CANCELS = ("cancelled", "failed")  # a placed order the shop gave up on
WAITING = ("pending", "failed", "checkout-draft", "draft", "auto-draft")  # payment to come

_place = msgspec.json.Decoder(PlaceOrder)


def order_key(shop_order_id: int) -> str:
    """The bus key of every message about one shop order (the intake keys webhooks so)."""
    return f"woocommerce:order:{shop_order_id}"


def canonical(order: Order) -> bytes:
    """The order as the connector keeps it (the same bytes for the same content)."""
    return msgspec.json.encode(order)


def price_request(shop_order_id: int, check_no: int) -> str:
    """The ``PriceCart`` request id of one check of a shop order."""
    return f"{PRICE_PREFIX}{shop_order_id}:{check_no}"


def checked(request_id: str) -> tuple[int, int] | None:
    """(shop order id, check number) of one of our price requests; None: someone else's."""
    if not request_id.startswith(PRICE_PREFIX):
        return None
    ident, _, number = request_id.removeprefix(PRICE_PREFIX).partition(":")
    if not (ident.isdigit() and number.isdigit()):
        return None
    return int(ident), int(number)


def _held(row: store.OrderRow, order: Order, body: bytes) -> bool:
    """True when ``order`` is not newer than what the row holds (a repeat, or stale)."""
    if row.shop_modified is None or order.date_modified_gmt is None:
        return row.shop_order == body
    if order.date_modified_gmt != row.shop_modified:
        return order.date_modified_gmt < row.shop_modified
    return row.shop_order == body


async def take_order(
    ctx: Context,
    order: Order,
    settings: WooCommerceSettings,
    *,
    via: str,
    again: bool = False,
    accept_totals: bool = False,
) -> None:
    """Take one delivery of a shop order in (``again``: a person asked, even if held)."""
    body = canonical(order)
    row = await store.order(ctx.conn, order.id, lock=True)
    if row is not None and not again and _held(row, order, body):
        ctx.log.info("woocommerce order %s: nothing new (%s)", order.id, via)
        return
    await store.seen(
        ctx.conn,
        shop_order_id=order.id,
        order_id=mapping.order_id(order.id),
        number=order.number or str(order.id),
        status=order.status,
        modified=order.date_modified_gmt,
        body=body,
        state="waiting",
    )
    if row is not None and row.state == "placed":
        await _placed_changed(ctx, row, order)
        return
    await _decide(ctx, order, settings, row, via=via, again=again, accept_totals=accept_totals)


async def _decide(
    ctx: Context,
    order: Order,
    settings: WooCommerceSettings,
    row: store.OrderRow | None,
    *,
    via: str,
    again: bool,
    accept_totals: bool,
) -> None:
    if order.status in CANCELLED:
        reason = f"shop status {order.status} before the hub placed it"
        await store.set_state(ctx.conn, order.id, "cancelled", reason)
        ctx.log.info("woocommerce order %s not placed: %s", order.id, reason)
        return
    if order.status in WAITING and not again:
        reason = (
            f"shop status {order.status}: placed once it is one of "
            f"{', '.join(settings.place_statuses)}"
        )
        await store.set_state(ctx.conn, order.id, "waiting", reason)
        ctx.log.info("woocommerce order %s waits: %s", order.id, reason)
        return
    if order.status not in settings.place_statuses and not again:
        reason = (
            f"shop status {order.status} and never seen by the hub before: not placed "
            "without a person (RetryOrder places it)"
        )
        await park(ctx, order.id, reason, previous=row)
        return
    customer_id = None
    if order.customer_id:
        customer_id = await sync_store.customer_id(ctx.conn, order.customer_id)
        customer_id = customer_id or mapping.hub_customer_id(order.customer_id)
    mapped = mapping.place_order(order, settings, customer_id=customer_id)
    if mapped.order is None:
        await park(ctx, order.id, "; ".join(mapped.problems), mapped.skus, previous=row)
        return
    check_no = await store.start_check(
        ctx.conn,
        order.id,
        msgspec.json.encode(mapped.order),
        mapped.lines,
        accept_totals=accept_totals,
    )
    ctx.emit(
        PriceCart(
            request_id=price_request(order.id, check_no),
            lines=mapped.order.lines,
            customer_id=mapped.order.customer.customer_id,
        ),
        key=order_key(order.id),
    )
    ctx.log.info("woocommerce order %s (%s): asking the hub's pricing", order.id, via)


async def _placed_changed(ctx: Context, row: store.OrderRow, order: Order) -> None:
    """A placed order changed in the shop: the status is the hub's, except a cancellation."""
    status = order.status
    if status == row.shop_status or status in (row.status_wanted, row.status_pushed):
        return  # no status change, or our own push coming back
    if status in SHOP_CANCELS:
        if await store.shop_cancelled(ctx.conn, order.id, ctx.now):
            ctx.emit(
                CancelOrder(
                    order_id=row.order_id,
                    reason=f"WooCommerce order {order.number or order.id} is {status} in the shop",
                ),
                key=hub_order_key(row.order_id),
            )
            ctx.log.warning(
                "woocommerce order %s was %s in the shop: hub order %s is cancelled unless "
                "it is confirmed already (then staff decide)",
                order.id,
                status,
                row.order_id,
            )
        return
    ctx.log.info(
        "woocommerce order %s: the shop shows %s, the hub's status (%s) stands",
        order.id,
        status,
        row.status_wanted or "not pushed yet",
    )


async def cancel_refused(ctx: Context, msg: CancelRefused) -> None:
    """The hub did not cancel an order the shop cancelled (confirmed already): staff decide."""
    row = await store.order_by_hub_id(ctx.conn, msg.order_id)
    if row is None or row.shop_cancelled_at is None:
        return  # not the shop's cancellation
    ctx.emit(
        ShopOrderCancelled(
            shop_order_id=row.shop_order_id,
            order_id=row.order_id,
            number=row.number,
            status=row.shop_status or "cancelled",
            at=row.shop_cancelled_at,
        ),
        key=order_key(row.shop_order_id),
    )
    ctx.log.warning("woocommerce order %s: %s", row.shop_order_id, msg.reason)


async def park(
    ctx: Context,
    shop_order_id: int,
    reason: str,
    skus: tuple[str, ...] = (),
    *,
    previous: store.OrderRow | None = None,
    state: str = "parked",
) -> None:
    """Keep the order for a person, and say why once (not again for the same reason)."""
    await store.set_state(ctx.conn, shop_order_id, state, reason, skus)
    row = await store.order(ctx.conn, shop_order_id)
    assert row is not None
    ctx.log.warning("woocommerce order %s %s: %s", shop_order_id, state, reason)
    if previous is not None and previous.state == state and previous.reason == reason:
        return
    ctx.emit(
        OrderParked(
            shop_order_id=shop_order_id,
            order_id=row.order_id,
            number=row.number,
            reason=reason,
            skus=skus,
        ),
        key=order_key(shop_order_id),
    )


async def priced(ctx: Context, msg: CartPriced, settings: WooCommerceSettings) -> None:
    """The hub priced a checked order: flag a difference, then place it (or park it)."""
    row = await _checking(ctx, msg.request_id)
    if row is None or row.request is None:
        return
    request = _place.decode(row.request)
    mismatch = mapping.compare(row.lines(), msg)
    totals = msg.totals
    described = mismatch.describe() if mismatch else None
    await store.priced(ctx.conn, row.shop_order_id, totals.net, totals.gross, described)
    if mismatch is not None:
        place = settings.totals_mismatch == "place" or row.accept_totals
        ctx.emit(
            OrderTotalsMismatch(
                shop_order_id=row.shop_order_id,
                order_id=row.order_id,
                number=row.number,
                shop_net=mismatch.shop_net,
                shop_gross=mismatch.shop_gross,
                hub_net=mismatch.hub_net,
                hub_gross=mismatch.hub_gross,
                lines=mismatch.lines,
                placed=place,
            ),
            key=order_key(row.shop_order_id),
        )
        ctx.log.warning("woocommerce order %s: %s", row.shop_order_id, described)
        if not place:
            await park(ctx, row.shop_order_id, f"{described} (RetryOrder accept_totals places it)")
            return
        request = mapping.with_note(request, f"[WooCommerce] {described}")
    ctx.emit(request, key=f"order:{request.order_id}")
    await store.placed(ctx.conn, row.shop_order_id, ctx.now)
    ctx.log.info("woocommerce order %s placed as %s", row.shop_order_id, request.order_id)


async def pricing_failed(ctx: Context, msg: CartPricingFailed) -> None:
    """The hub cannot price a checked order (an unknown or inactive SKU): park it."""
    row = await _checking(ctx, msg.request_id)
    if row is None:
        return
    await park(ctx, row.shop_order_id, f"the hub cannot price it: {msg.reason}", msg.skus)


async def _checking(ctx: Context, request_id: str) -> store.OrderRow | None:
    """The order waiting for this very answer (None: another's, or an older check's)."""
    ids = checked(request_id)
    if ids is None:
        return None
    row = await store.order(ctx.conn, ids[0], lock=True)
    if row is None or row.state != "checking" or row.check_no != ids[1]:
        return None
    return row


async def order_placed(ctx: Context, msg: OrderPlaced) -> None:
    """The orders context placed one of the shop's orders: keep its number."""
    if msg.source == "woocommerce":
        await store.hub_number(ctx.conn, msg.order_id, msg.number)


async def order_rejected(ctx: Context, msg: OrderRejected) -> None:
    """The orders context refused one of the shop's orders: it waits for a person."""
    row = await store.rejected(ctx.conn, msg.order_id, msg.reason)
    if row is None:
        return
    reason = f"the orders context rejected it: {msg.reason}"
    await park(ctx, row.shop_order_id, reason, previous=None, state="rejected")


async def customer_seen(ctx: Context, customer: Customer, settings: WooCommerceSettings) -> None:
    """Keep a registered customer's hub id and B2B tier."""
    named, tier = mapping.shop_customer(customer.meta_data, customer.role, settings)
    await sync_store.save_customer(
        ctx.conn,
        shop_customer_id=customer.id,
        hub_customer_id=named or mapping.hub_customer_id(customer.id),
        tier=tier,
        role=customer.role,
        email=customer.email,
        modified=customer.date_modified_gmt,
    )

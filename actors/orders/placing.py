"""Placing an order and getting it confirmed: store it, have it priced, reserve its stock, and
follow the inventory's answers to confirmed or on hold.

1. ``PlaceOrder`` (idempotent on the order id) is checked (:mod:`validation`) and stored
   ``pending``; unless its lines came priced, ``PriceCart`` asks the pricing engine.
2. ``CartPriced`` stores prices and totals; ``CartPricingFailed`` cancels the order.
3. Priced: ``OrderPlaced``, and ``ReserveStock`` for the order's lines (taking over the quote's
   hold, if any).
4. ``StockReserved`` complete → confirmed, with the documents due then. ``StockShortage`` → on
   hold, or (setting ``shortage = "partial"``) confirmed to ship what is held.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import asyncpg

from actors.inventory.messages import (
    ReservationRejected,
    ReserveStock,
    StockLine,
    StockReserved,
    StockShortage,
)
from actors.inventory.service import reservation_key
from actors.orders import documents, store, validation
from actors.orders.domain import OrderState
from actors.orders.effects import SYSTEM, Outcome, move, order_key
from actors.orders.messages import OrderPlaced, OrderRejected, PlaceOrder
from actors.orders.settings import Shortage
from actors.pricing.domain import business_date
from actors.pricing.messages import (
    CartPriced,
    CartPricingFailed,
    CartTotals,
    PriceCart,
    PricedLine,
)
from hub.errors import DomainError

S = OrderState
PRICE_PREFIX = "order:"
# An order waiting for its stock: what the inventory's answers can still move.
WAITING = (S.pending, S.on_hold)


def rejected(order_id: str, reason: str) -> Outcome:
    """An outcome that only says the order could not be placed."""
    out = Outcome()
    out.emit(OrderRejected(order_id=order_id, reason=reason), order_key(order_id))
    out.notes.append(f"order {order_id} rejected: {reason}")
    return out


async def place_order(
    conn: asyncpg.Connection, msg: PlaceOrder, *, by: str, now: datetime
) -> Outcome:
    """Store a new order (the same id again: nothing), then price it or reserve its stock."""
    if await store.exists(conn, msg.order_id):
        return Outcome()
    problems = validation.placement_problems(msg)
    if problems:
        return rejected(msg.order_id, "; ".join(problems))
    if msg.external_ref is not None:
        other = await store.with_external_ref(conn, msg.source, msg.external_ref)
        if other is not None:
            return rejected(
                msg.order_id, f"{msg.source} order {msg.external_ref} is already order {other}"
            )
    # Names and units as the catalog last told us; a SKU it never mentioned shows as itself.
    known = await store.products(conn, [x.sku for x in msg.lines])
    known.update({x.sku: (known.get(x.sku, (x.sku, x.unit))[0], x.unit) for x in msg.priced or ()})
    lines = [
        store.Line(line_no=n, sku=x.sku, name=name, quantity=x.quantity, unit=unit)
        for n, x in enumerate(msg.lines, start=1)
        for name, unit in [known.get(x.sku, (x.sku, "piece"))]
    ]
    billing = validation.with_county(msg.billing)
    new = store.NewOrder(
        id=msg.order_id,
        source=msg.source,
        external_ref=msg.external_ref,
        quotation_id=msg.quotation_id,
        customer=msg.customer,
        billing=billing,
        shipping=validation.with_county(msg.shipping) if msg.shipping else billing,
        payment_method=msg.payment_method,
        hold=msg.hold,
        prepaid=msg.paid,
        note=msg.note,
        placed_by=by,
        placed_at=now,
        shipping_net=msg.shipping_fee or Decimal(0),
    )
    order = await store.insert(conn, new, lines)
    out = Outcome()
    out.notes.append(f"order {order.id} placed as {order.number}")
    if msg.priced is not None:
        totals = totals_of(msg.priced)
        await store.save_prices(
            conn, order.id, msg.priced, totals, tier=None, on=business_date(now), at=now
        )
        out.extend(await reserve(conn, order.id, now=now))
        return out
    out.emit(
        PriceCart(
            request_id=f"{PRICE_PREFIX}{order.id}",
            lines=msg.lines,
            customer_id=msg.customer.customer_id,
        ),
        order_key(order.id),
    )
    return out


def totals_of(lines: Sequence[PricedLine]) -> CartTotals:
    """Sums of the lines, as the pricing engine adds them."""
    net = sum((x.line_net for x in lines), start=Decimal(0))
    vat = sum((x.line_vat for x in lines), start=Decimal(0))
    return CartTotals(net=net, vat=vat, gross=net + vat)


def priced_order_id(request_id: str) -> str | None:
    """The order a pricing answer is for (None: someone else's, e.g. ``quote:``)."""
    return request_id.removeprefix(PRICE_PREFIX) if request_id.startswith(PRICE_PREFIX) else None


async def cart_priced(conn: asyncpg.Connection, msg: CartPriced, *, now: datetime) -> Outcome:
    """Keep the prices of a pending order, then announce it and reserve its stock."""
    order_id = priced_order_id(msg.request_id)
    order = await store.find(conn, order_id) if order_id else None
    if order is None or order.pricing != "pending" or order.state is not S.pending:
        return Outcome()
    ordered = {x.sku: x.quantity for x in await store.lines(conn, order.id)}
    if {x.sku: x.quantity for x in msg.lines} != ordered:
        reason = "the pricing engine answered for other lines than the order's"
        return await fail_pricing(conn, order, reason, now=now)
    await store.save_prices(conn, order.id, msg.lines, msg.totals, tier=msg.tier, on=msg.on, at=now)
    return await reserve(conn, order.id, now=now)


async def pricing_failed(
    conn: asyncpg.Connection, msg: CartPricingFailed, *, now: datetime
) -> Outcome:
    """A pending order that cannot be priced is cancelled."""
    order_id = priced_order_id(msg.request_id)
    order = await store.find(conn, order_id) if order_id else None
    if order is None or order.pricing != "pending" or order.state is not S.pending:
        return Outcome()
    return await fail_pricing(conn, order, msg.reason, now=now)


async def fail_pricing(
    conn: asyncpg.Connection, order: store.Order, reason: str, *, now: datetime
) -> Outcome:
    """Cancel an order that could not be priced, and say why."""
    await store.set_pricing(conn, order.id, "failed")
    out = rejected(order.id, f"cannot be priced: {reason}")
    await move(
        conn, order, S.cancelled, by=SYSTEM, reason=f"pricing failed: {reason}", now=now, out=out
    )
    return out


async def reserve(conn: asyncpg.Connection, order_id: str, *, now: datetime) -> Outcome:
    """Announce a priced order and ask the inventory to hold its lines."""
    order = await store.lock(conn, order_id)
    lines = await store.lines(conn, order.id)
    out = Outcome()
    assert order.net is not None and order.vat is not None and order.gross is not None
    out.emit(
        OrderPlaced(
            order_id=order.id,
            number=order.number,
            source=order.source,
            external_ref=order.external_ref,
            customer=order.customer,
            payment_method=order.payment_method,
            lines=tuple(x.priced() for x in lines),
            totals=CartTotals(
                net=order.net, vat=order.vat, gross=order.gross, currency=order.currency
            ),
            placed_at=order.placed_at,
        ),
        order_key(order.id),
    )
    out.emit(ask_stock(order, lines, take_over=order.hold), reservation_key(order.id))
    await store.set_reservation(conn, order.id, "requested", now)
    return out


def ask_stock(
    order: store.Order, lines: Sequence[store.Line], *, take_over: str | None
) -> ReserveStock:
    """The order's lines as a reservation (its id is the order's)."""
    return ReserveStock(
        reservation_id=order.id,
        lines=tuple(StockLine(sku=x.sku, quantity=x.quantity) for x in lines),
        take_over=take_over,
    )


async def confirm(
    conn: asyncpg.Connection,
    order: store.Order,
    *,
    by: str,
    reason: str,
    now: datetime,
    out: Outcome,
) -> None:
    """Confirm a locked order and ask for the documents due at confirmation."""
    await move(conn, order, S.confirmed, by=by, reason=reason, now=now, out=out)
    await documents.at_confirmation(conn, order, now=now, out=out)


async def stock_reserved(conn: asyncpg.Connection, msg: StockReserved, *, now: datetime) -> Outcome:
    """Everything held: a waiting order is confirmed. (Incomplete: the shortage follows.)"""
    out = Outcome()
    order = await store.find(conn, msg.reservation_id)
    if order is None or not msg.complete or order.reservation in ("released", "fulfilled"):
        return out
    await store.set_reservation(conn, order.id, "complete", now)
    if order.state in WAITING:
        await confirm(conn, order, by=SYSTEM, reason="stock reserved", now=now, out=out)
    return out


async def stock_short(
    conn: asyncpg.Connection, msg: StockShortage, *, shortage: Shortage, now: datetime
) -> Outcome:
    """Something could not be held: a pending order goes on hold, or (``partial``) is confirmed
    to ship what is held when something is."""
    out = Outcome()
    order = await store.find(conn, msg.reservation_id)
    if order is None or order.reservation in ("released", "fulfilled"):
        return out
    await store.set_reservation(conn, order.id, "short", now)
    if order.state is not S.pending:
        return out
    short = ", ".join(f"{x.sku} (reserved {x.reserved} of {x.requested})" for x in msg.shortages)
    lines = await store.lines(conn, order.id)
    holds_some = len(msg.shortages) < len(lines) or any(x.reserved > 0 for x in msg.shortages)
    if shortage == "partial" and holds_some:
        reason = f"stock reserved in part, shipping what is held; short: {short}"
        await confirm(conn, order, by=SYSTEM, reason=reason, now=now, out=out)
    else:
        await move(
            conn, order, S.on_hold, by=SYSTEM, reason=f"short of stock: {short}", now=now, out=out
        )
    return out


async def reservation_refused(
    conn: asyncpg.Connection, msg: ReservationRejected, *, now: datetime
) -> Outcome:
    """The inventory refused to reserve: a pending order goes on hold for a person to look."""
    out = Outcome()
    order = await store.find(conn, msg.reservation_id)
    if order is None:
        return out
    out.notes.append(f"the inventory refused to {msg.command} for {order.id}: {msg.reason}")
    if order.reservation == "requested":
        await store.set_reservation(conn, order.id, "short", now)
    if order.state is S.pending:
        reason = f"the inventory refused the reservation: {msg.reason}"
        await move(conn, order, S.on_hold, by=SYSTEM, reason=reason, now=now, out=out)
    return out


async def retry_reservation(conn: asyncpg.Connection, order_id: str, *, by: str) -> Outcome:
    """Ask the inventory again for an order's missing stock (it tops the hold up): an order
    on hold, or one confirmed short that has not shipped in full."""
    order = await store.lock(conn, order_id)
    topping_up = order.reservation == "short" and order.state in (
        S.confirmed,
        S.processing,
        S.partially_shipped,
    )
    if order.state is not S.on_hold and not topping_up:
        raise DomainError(
            f"order {order_id} is {order.state}: only an order on hold (or confirmed short of "
            "stock) waits for stock"
        )
    out = Outcome()
    out.emit(
        ask_stock(order, await store.lines(conn, order.id), take_over=None),
        reservation_key(order.id),
    )
    await store.set_reservation(conn, order.id, "requested", datetime.now(UTC))
    out.notes.append(f"stock asked again for {order.id} by {by}")
    return out

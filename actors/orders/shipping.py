"""Shipments and returns: what leaves the warehouses for an order, and what comes back.

A shipment is asked for (``create_shipment``: recorded ``requested``, ``IssueStock`` to the
inventory) and becomes ``sent`` when the stock is issued (``StockIssued``: the order is
partially shipped or shipped, ``ShipmentSent``, a cash-on-delivery invoice) or ``refused``
(``ReservationRejected``). A return is asked for on a delivered order and received into a
warehouse: the stock comes back (``ReceiveStock``) and the invoiced lines are credited.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

import asyncpg

from actors.inventory.messages import (
    IssueLine,
    IssueStock,
    ReceiveStock,
    ReservationRejected,
    StockIssued,
    StockLine,
)
from actors.inventory.service import receipt_key, reservation_key
from actors.orders import documents, domain, store
from actors.orders import shipment_store as sstore
from actors.orders.domain import OrderState
from actors.orders.effects import SYSTEM, Outcome, move, order_key
from actors.orders.messages import ShipLine, ShipmentSent, ShippedLine
from actors.orders.validation import quantity_ok
from hub.errors import DomainError, NotFound

S = OrderState
SHIPPABLE = (S.confirmed, S.processing, S.partially_shipped)
MAX_ID = 200


def merged(pairs: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Quantities added up per SKU."""
    out: dict[str, Decimal] = {}
    for sku, quantity in pairs:
        out[sku] = out.get(sku, Decimal(0)) + quantity
    return out


def check_id(what: str, value: str) -> None:
    """An id chosen by the caller: 1 to 200 characters, not blank."""
    if not value.strip() or len(value) > MAX_ID:
        raise DomainError(f"invalid {what} id {value[:40]!r}")


def check_quantities(
    order_id: str, asked: Sequence[tuple[str, Decimal]], left: dict[str, Decimal], what: str
) -> None:
    """Each SKU on the order, each quantity valid, no more of a SKU than ``left``."""
    for sku, quantity in asked:
        if sku not in left:
            raise DomainError(f"{sku} is not on order {order_id}")
        if not quantity_ok(quantity):
            raise DomainError(f"quantity of {sku} must be more than 0 (3 decimals at most)")
    for sku, quantity in merged(asked).items():
        if quantity > left[sku]:
            raise DomainError(f"cannot {what} {quantity} of {sku}: {left[sku]} left to {what}")


async def create_shipment(
    conn: asyncpg.Connection,
    order_id: str,
    shipment_id: str,
    lines: Sequence[ShipLine] | None,
    *,
    tracking: str | None,
    by: str,
    now: datetime,
) -> Outcome:
    """Ask the warehouses to issue ``lines`` (None: everything not shipped yet, i.e. all the
    reservation holds); a confirmed order starts processing. The same shipment id again for
    the same order: nothing."""
    order = await store.lock(conn, order_id)
    known = await sstore.shipment(conn, shipment_id)
    if known is not None:
        if known.order_id == order.id:
            return Outcome()
        raise DomainError(f"shipment id {shipment_id!r} belongs to another order")
    check_id("shipment", shipment_id)
    if order.state not in SHIPPABLE:
        raise DomainError(
            f"order {order.id} is {order.state}: only a confirmed, processing or partially "
            "shipped order can ship"
        )
    waiting = await sstore.shipments(conn, order.id, "requested")
    left = {x.sku: x.quantity - x.shipped for x in await store.lines(conn, order.id)}
    for earlier in waiting:
        for r in earlier.requested:
            left[r.sku] -= r.quantity
    if lines is None:
        if waiting:
            raise DomainError(
                f"shipment {waiting[0].id} is still waiting for the warehouses: name the lines "
                "to ship now, or wait until it left"
            )
        requested = [ShipLine(sku=sku, quantity=q) for sku, q in left.items() if q > 0]
        if not requested:
            raise DomainError(f"order {order.id} has nothing left to ship")
        issue: tuple[IssueLine, ...] | None = None
    else:
        if not lines:
            raise DomainError("name the lines to ship, or none at all to ship everything")
        check_quantities(order.id, [(x.sku, x.quantity) for x in lines], left, "ship")
        requested = list(lines)
        issue = tuple(
            IssueLine(sku=x.sku, quantity=x.quantity, warehouse=x.warehouse) for x in lines
        )
    out = Outcome()
    if order.state is S.confirmed:
        reason = f"shipment {shipment_id} requested"
        await move(conn, order, S.processing, by=by, reason=reason, now=now, out=out)
    await sstore.add_shipment(
        conn,
        order.id,
        shipment_id,
        requested,
        everything=lines is None,
        tracking=tracking,
        by=by,
        at=now,
    )
    out.emit(
        IssueStock(reservation_id=order.id, shipment_id=shipment_id, lines=issue),
        reservation_key(order.id),
    )
    return out


async def stock_issued(conn: asyncpg.Connection, msg: StockIssued, *, now: datetime) -> Outcome:
    """A shipment's stock left: count it shipped, move the order, announce it, invoice it
    (cash on delivery)."""
    out = Outcome()
    ship = await sstore.shipment(conn, msg.shipment_id)
    if ship is None or ship.order_id != msg.reservation_id:
        return out
    order = await store.lock(conn, ship.order_id)
    ship = await sstore.shipment(conn, msg.shipment_id)  # again, under the order's lock
    if ship is None or ship.status != "requested":
        return out
    sent = [ShippedLine(sku=a.sku, warehouse=a.warehouse, quantity=a.quantity) for a in msg.lines]
    quantities = merged((a.sku, a.quantity) for a in msg.lines)
    await sstore.mark_sent(conn, ship.id, sent, now)
    await sstore.add_shipped(conn, order.id, quantities.items())
    complete = all(x.shipped >= x.quantity for x in await store.lines(conn, order.id))
    if msg.fulfilled:
        await store.set_reservation(conn, order.id, "fulfilled", now)
    to = S.shipped if complete else S.partially_shipped
    if order.state is not to and to in domain.allowed(order.state):
        reason = f"shipment {ship.id} sent" + ("" if complete else " (part of the order)")
        await move(conn, order, to, by=SYSTEM, reason=reason, now=now, out=out)
    out.emit(
        ShipmentSent(
            order_id=order.id,
            shipment_id=ship.id,
            lines=tuple(sent),
            complete=complete,
            tracking=ship.tracking,
        ),
        order_key(order.id),
    )
    await documents.at_shipment(conn, order, ship.id, quantities, now=now, out=out)
    return out


async def issue_refused(conn: asyncpg.Connection, msg: ReservationRejected) -> Outcome:
    """The warehouses refused a shipment: it is ``refused``, with their reason. The event names
    the shipment; one from an older hub that does not is taken as the order's oldest one still
    waiting (the inventory handles one reservation's commands in order)."""
    out = Outcome()
    order = await store.find(conn, msg.reservation_id)
    if order is None:
        return out
    waiting = await sstore.shipments(conn, order.id, "requested")
    refused = next((s for s in waiting if s.id == msg.shipment_id), waiting[0] if waiting else None)
    if refused is None:
        out.notes.append(f"issue refused for {order.id} but no shipment waits: {msg.reason}")
        return out
    await sstore.mark_refused(conn, refused.id, msg.reason)
    out.notes.append(f"shipment {refused.id} refused: {msg.reason}")
    return out


async def request_return(
    conn: asyncpg.Connection,
    order_id: str,
    return_id: str,
    lines: Sequence[tuple[str, Decimal]] | None,
    *,
    reason: str,
    by: str,
    now: datetime,
) -> Outcome:
    """The customer sends back ``lines`` (None: everything shipped) of a delivered order."""
    order = await store.lock(conn, order_id)
    known = await sstore.return_of(conn, return_id)
    if known is not None:
        if known.order_id == order.id:
            return Outcome()
        raise DomainError(f"return id {return_id!r} belongs to another order")
    check_id("return", return_id)
    domain.transition(order.id, order.state, S.return_requested, at=now, by=by, reason=reason)
    if not reason.strip():
        raise DomainError("a return needs a reason")
    left = {x.sku: x.shipped - x.returned for x in await store.lines(conn, order.id)}
    if lines is None:
        lines = [(sku, q) for sku, q in left.items() if q > 0]
        if not lines:
            raise DomainError(f"order {order.id} has nothing shipped to return")
    elif not lines:
        raise DomainError("name the lines coming back, or none at all for everything")
    check_quantities(order.id, lines, left, "return")
    returned = [sstore.ReturnLine(sku=s, quantity=q) for s, q in merged(lines).items()]
    await sstore.add_return(
        conn, order.id, return_id, returned, reason=reason.strip(), by=by, at=now
    )
    out = Outcome()
    why = f"return {return_id}: {reason.strip()}"
    await move(conn, order, S.return_requested, by=by, reason=why, now=now, out=out)
    return out


async def receive_return(
    conn: asyncpg.Connection,
    order_id: str,
    return_id: str,
    *,
    warehouse: str,
    by: str,
    now: datetime,
) -> Outcome:
    """The returned goods are back in ``warehouse``: the order is returned, the stock received
    and the invoiced lines credited. Received twice: nothing."""
    order = await store.lock(conn, order_id)
    ret = await sstore.return_of(conn, return_id)
    if ret is None or ret.order_id != order.id:
        raise NotFound(f"order {order_id} has no return {return_id!r}")
    if ret.status == "received":
        return Outcome()
    if not warehouse.strip():
        raise DomainError("say which warehouse the goods came back to")
    out = Outcome()
    why = f"return {return_id} received in {warehouse}"
    await move(conn, order, S.returned, by=by, reason=why, now=now, out=out)
    await sstore.mark_received(conn, ret.id, warehouse, by, now)
    quantities = {x.sku: x.quantity for x in ret.lines}
    await sstore.add_returned(conn, order.id, quantities.items())
    receipt = f"return:{ret.id}"
    out.emit(
        ReceiveStock(
            receipt_id=receipt,
            warehouse=warehouse,
            lines=tuple(StockLine(sku=x.sku, quantity=x.quantity) for x in ret.lines),
            reason=f"return {ret.id} of order {order.number}: {ret.reason}",
        ),
        receipt_key(receipt),
    )
    credit_reason = f"return {ret.id}: {ret.reason}"
    await documents.credit(
        conn, order, quantities, return_id=ret.id, reason=credit_reason, now=now, out=out
    )
    return out

"""The orders' changes, shared by the orders actor and the API: each takes a connection inside
an open transaction, locks the order, decides with ``domain``, writes, and returns the
:class:`Outcome` to publish (the actor through its context, the API through its call).

A business "no" is a :class:`~hub.errors.DomainError` whose message says what to do instead;
an unknown order is :class:`~hub.errors.NotFound`. Placing and the reservation's answers are in
``placing.py``, shipments and returns in ``shipping.py``, documents in ``documents.py``; this
module is the one entry point.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from actors.inventory.messages import ReleaseStock
from actors.inventory.service import reservation_key
from actors.orders import document_store as dstore
from actors.orders import documents, domain, store
from actors.orders.domain import OrderState
from actors.orders.effects import Outcome, move, order_key, write
from actors.orders.messages import CancelOrder, CancelRefused, PaymentRecorded, RecordPayment
from actors.orders.placing import (
    cart_priced,
    confirm,
    place_order,
    pricing_failed,
    reservation_refused,
    retry_reservation,
    stock_reserved,
    stock_short,
)
from actors.orders.shipping import (
    create_shipment,
    issue_refused,
    receive_return,
    request_return,
    stock_issued,
)
from hub.errors import DomainError

__all__ = [
    "Outcome",
    "cart_priced",
    "change_state",
    "create_shipment",
    "current_state",
    "issue_refused",
    "order_key",
    "place_order",
    "pricing_failed",
    "receive_return",
    "record_payment",
    "request_return",
    "reservation_refused",
    "retry_reservation",
    "stock_issued",
    "stock_reserved",
    "stock_short",
    "write",
]

S = OrderState
SHIPMENTS = "ship it: POST /api/v1/orders/{id}/shipments"
# Moves that happen through their own command, and what to use instead.
OWN_COMMAND = {
    S.partially_shipped: SHIPMENTS,
    S.shipped: SHIPMENTS,
    S.return_requested: "record the return: POST /api/v1/orders/{id}/returns",
    S.returned: "receive the return: POST /api/v1/orders/{id}/returns/{return_id}/receive",
}
# Paid in full in one of these, a bank transfer gets its invoice now (else at confirmation).
INVOICEABLE = frozenset(S) - {S.pending, S.on_hold, S.cancelled}


async def current_state(conn: asyncpg.Connection, order_id: str) -> OrderState:
    """Where the order stands (no lock); :class:`NotFound` if unknown."""
    return await store.state_of(conn, order_id)


async def change_state(
    conn: asyncpg.Connection, order_id: str, to: OrderState, *, by: str, reason: str, now: datetime
) -> Outcome:
    """The moves people make: start processing, mark delivered, refund a returned order,
    confirm an order on hold (to ship what is held), cancel (releasing its stock and reversing
    its invoice). Shipping and returns have their own commands; a pending order waits for its
    stock."""
    order = await store.lock(conn, order_id)
    domain.transition(order.id, order.state, to, at=now, by=by, reason=reason)
    if to in OWN_COMMAND:
        use = OWN_COMMAND[to].replace("{id}", order.id)
        raise DomainError(f"order {order.id} becomes {to} through its own command; {use}")
    if order.state is S.pending and to is not S.cancelled:
        raise DomainError(
            f"order {order.id} is pending: it is confirmed or put on hold by its stock "
            "reservation; wait for it, or cancel the order"
        )
    out = Outcome()
    if to is S.cancelled:
        await cancel(conn, order, by=by, reason=reason, now=now, out=out)
    elif to is S.confirmed:
        await confirm(conn, order, by=by, reason=reason, now=now, out=out)
    else:
        await move(conn, order, to, by=by, reason=reason, now=now, out=out)
    return out


async def cancel_on_request(
    conn: asyncpg.Connection, msg: CancelOrder, *, by: str, now: datetime
) -> Outcome:
    """``CancelOrder``: cancel from the allowed states; otherwise ``CancelRefused``. Cancelled
    already: nothing (a repeat)."""
    order = await store.find(conn, msg.order_id)
    out = Outcome()
    if order is not None and order.state is S.cancelled:
        return out
    if order is None or order.state.value not in msg.only_from:
        state = order.state.value if order is not None else None
        why = (
            f"order {msg.order_id} is {state}: cancel it in the hub if it must be"
            if order is not None
            else f"no order {msg.order_id}"
        )
        out.emit(
            CancelRefused(order_id=msg.order_id, state=state, reason=why),
            order_key(msg.order_id),
        )
        out.notes.append(f"cancel of {msg.order_id} refused: {why}")
        return out
    await cancel(conn, order, by=by, reason=msg.reason, now=now, out=out)
    return out


async def cancel(
    conn: asyncpg.Connection,
    order: store.Order,
    *,
    by: str,
    reason: str,
    now: datetime,
    out: Outcome,
) -> None:
    """Cancel a locked order: release what its reservation holds (or is being asked to hold),
    and ask for a credit note reversing any invoice already asked for."""
    await move(conn, order, S.cancelled, by=by, reason=reason, now=now, out=out)
    if order.reservation in ("requested", "complete", "short"):
        release = ReleaseStock(
            reservation_id=order.id, reason=f"order {order.number} cancelled: {reason.strip()}"
        )
        out.emit(release, reservation_key(order.id))
        await store.set_reservation(conn, order.id, "released", now)
    await documents.credit(
        conn,
        order,
        None,
        return_id=None,
        reason=f"order {order.number} cancelled: {reason.strip()}",
        now=now,
        out=out,
    )


async def record_payment(
    conn: asyncpg.Connection, msg: RecordPayment, *, by: str, now: datetime
) -> Outcome:
    """Count a payment once (by its id); once payments cover the gross total, a bank transfer
    order that is confirmed gets its invoice, paid."""
    order = await store.lock(conn, msg.order_id)
    recorded_for = await dstore.payment_order(conn, msg.payment_id)
    if recorded_for == order.id:
        return Outcome(notes=[f"payment {msg.payment_id} was recorded already"])
    if recorded_for is not None:
        raise DomainError(f"payment {msg.payment_id} was recorded for another order")
    amount = msg.amount
    if not amount.is_finite() or amount <= 0 or documents.money(amount) != amount:
        raise DomainError(f"a payment is a positive amount in bani (2 decimals), got {amount}")
    if msg.received_at.tzinfo is None:
        raise DomainError("received_at needs a time zone")
    was_paid = order.paid_in_full
    order.paid = await dstore.add_payment(
        conn,
        order.id,
        msg.payment_id,
        amount,
        received_at=msg.received_at,
        reference=msg.reference,
        by=by,
        at=now,
    )
    out = Outcome()
    out.emit(
        PaymentRecorded(
            order_id=order.id,
            payment_id=msg.payment_id,
            amount=amount,
            paid_total=order.paid,
            paid_in_full=order.paid_in_full,
        ),
        order_key(order.id),
    )
    if order.paid_in_full and not was_paid and order.state in INVOICEABLE:
        await documents.at_payment(conn, order, now=now, out=out)
    return out

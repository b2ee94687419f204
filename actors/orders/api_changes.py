"""The orders' command routes: place, move, ship, return, record payments, retry stock.

Each change runs in one transaction with its audit entry and the messages it emits (stock to
reserve, release or issue; documents to ask for), through the same service functions the
orders actor uses, so an order moves by the same rules whichever way it is driven.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from actors.orders import domain, service, validation
from actors.orders.api_reads import order_owner
from actors.orders.messages import PlaceOrder, RecordPayment, ShipLine
from actors.orders.views import (
    Done,
    OrderAccepted,
    PaymentBody,
    PlaceOrderBody,
    ReceiveReturnBody,
    ReturnBody,
    ShipmentBody,
    TransitionBody,
)
from actors.pricing.messages import CartLine
from hub.auth import Role
from hub.edge.api import Api, ApiError, Call, FieldError
from hub.ids import uuid7

changes = Api("orders")
SELLERS = {Role.admin, Role.ops, Role.sales}
SHIPPERS = {Role.admin, Role.ops, Role.warehouse}
# What the warehouse may do through the generic transition route (the rest is the office's).
WAREHOUSE_MOVES = {domain.OrderState.processing, domain.OrderState.delivered}
# What a B2B customer may do to its own order: cancel it before it is confirmed.
CUSTOMER_CANCELS = {domain.OrderState.pending, domain.OrderState.on_hold}


def _key(order_id: str) -> str:
    return f"order:{order_id}"


def _publish(call: Call[Any, Any], outcome: service.Outcome) -> None:
    for message, key in outcome.messages:
        call.emit(message, key=key)


def _now() -> datetime:
    return datetime.now(UTC)


@changes.post(
    "/api/v1/orders",
    name="orders.place",
    roles={*SELLERS, Role.b2b_customer},
    summary="Place an order",
    body=PlaceOrderBody,
    response=OrderAccepted,
    status=202,
    entity="order",
)
async def place_order(call: Call[PlaceOrderBody, None]) -> OrderAccepted:
    """The order is accepted at once (202) and then priced at the customer's tier and its stock
    reserved in the background: follow it at ``location``. A B2B customer orders for itself
    only. Sending the same ``order_id`` again places one order."""
    body = call.body
    customer = body.customer
    own = call.customer_scope
    if own is not None:
        if customer.customer_id not in (None, own):
            raise ApiError(
                403,
                "forbidden",
                "a customer places orders for itself only",
                details=[FieldError(field="customer.customer_id", message=f"use {own!r}")],
            )
        customer = msgspec.structs.replace(customer, customer_id=own)
    order_id = body.order_id or str(uuid7())
    call.audit(entity_id=order_id, after={"lines": len(body.lines), "customer": customer.name})
    message = PlaceOrder(
        order_id=order_id,
        source="api",
        customer=customer,
        billing=body.billing,
        shipping=body.shipping,
        payment_method=body.payment_method,
        lines=tuple(CartLine(sku=x.sku, quantity=x.quantity) for x in body.lines),
        note=body.note,
    )
    problems = validation.placement_problems(message)
    if problems:  # refused before anything is stored: the caller corrects and sends again
        raise ApiError(
            422,
            "invalid_order",
            "; ".join(problems),
            details=[FieldError(field="order", message=p) for p in problems],
        )
    async with call.transaction():
        call.emit(message, key=_key(order_id))
    return OrderAccepted(order_id=order_id, state="pending", location=f"/api/v1/orders/{order_id}")


@changes.post(
    "/api/v1/orders/{order_id}/transitions",
    name="orders.transition",
    roles={*SELLERS, Role.warehouse, Role.b2b_customer},
    summary="Move an order to another state",
    body=TransitionBody,
    response=Done,
    owner=order_owner,
    entity="order",
)
async def transition(call: Call[TransitionBody, None]) -> Done:
    """Confirm an order on hold (ship what is held), start processing, mark delivered, cancel
    (its stock is released), refund a returned order. Shipping, returns and payments have their
    own routes. The warehouse may start processing and mark delivered; a B2B customer may cancel
    its own order until it is confirmed. A move the order's state does not allow is a 409
    naming the current state and the allowed ones."""
    order_id = call.param("order_id")
    to = domain.OrderState(call.body.to)
    _may_move(call, to)
    call.audit(entity_id=order_id)
    async with call.transaction() as conn:
        state = await service.current_state(conn, order_id)
        if call.customer_scope is not None and state not in CUSTOMER_CANCELS:
            raise ApiError(409, "invalid_transition", f"order is {state}: too late to cancel it")
        if to not in domain.allowed(state):
            nexts = ", ".join(domain.allowed(state)) or "nothing (final)"
            raise ApiError(
                409,
                "invalid_transition",
                f"order {order_id} is {state} and cannot become {to}; it can become: {nexts}",
            )
        outcome = await service.change_state(
            conn, order_id, to, by=call.actor, reason=call.body.reason, now=_now()
        )
        _publish(call, outcome)
        call.audit(before={"state": state}, after={"state": to})
    return Done(order_id=order_id, state=to)


def _may_move(call: Call[Any, Any], to: domain.OrderState) -> None:
    roles = call.principal.roles if call.principal is not None else frozenset()
    if roles & SELLERS:
        return
    if Role.warehouse in roles and to in WAREHOUSE_MOVES:
        return
    if call.customer_scope is not None and to is domain.OrderState.cancelled:
        return
    raise ApiError(403, "forbidden", f"your role may not move an order to {to}")


@changes.post(
    "/api/v1/orders/{order_id}/shipments",
    name="orders.shipments.create",
    roles=SHIPPERS,
    summary="Ship an order, in full or in part",
    body=ShipmentBody,
    response=Done,
    status=202,
    entity="order",
)
async def create_shipment(call: Call[ShipmentBody, None]) -> Done:
    """Ship some lines (per SKU, and per warehouse or by warehouse priority) or, without
    ``lines``, everything not shipped yet. A confirmed order starts processing. The stock is
    issued in the background; the order becomes partially shipped or shipped when it is."""
    order_id = call.param("order_id")
    body = call.body
    shipment_id = body.shipment_id or f"shp-{uuid7()}"
    lines = None
    if body.lines is not None:
        lines = [
            ShipLine(sku=x.sku, quantity=x.quantity, warehouse=x.warehouse) for x in body.lines
        ]
    call.audit(entity_id=order_id, after={"shipment": shipment_id})
    async with call.transaction() as conn:
        outcome = await service.create_shipment(
            conn, order_id, shipment_id, lines, tracking=body.tracking, by=call.actor, now=_now()
        )
        _publish(call, outcome)
        state = await service.current_state(conn, order_id)
    return Done(order_id=order_id, state=state, reference=shipment_id)


@changes.post(
    "/api/v1/orders/{order_id}/returns",
    name="orders.returns.create",
    roles=SELLERS,
    summary="Record a customer's return request",
    body=ReturnBody,
    response=Done,
    status=201,
    entity="order",
)
async def request_return(call: Call[ReturnBody, None]) -> Done:
    """A delivered order's customer sends goods back: some lines, or everything shipped."""
    order_id = call.param("order_id")
    body = call.body
    return_id = body.return_id or f"ret-{uuid7()}"
    lines = [(x.sku, x.quantity) for x in body.lines] if body.lines is not None else None
    call.audit(entity_id=order_id, after={"return": return_id})
    async with call.transaction() as conn:
        outcome = await service.request_return(
            conn, order_id, return_id, lines, reason=body.reason, by=call.actor, now=_now()
        )
        _publish(call, outcome)
    return Done(order_id=order_id, state="return_requested", reference=return_id)


@changes.post(
    "/api/v1/orders/{order_id}/returns/{return_id}/receive",
    name="orders.returns.receive",
    roles=SHIPPERS,
    summary="Receive a return back into a warehouse",
    body=ReceiveReturnBody,
    response=Done,
    entity="order",
)
async def receive_return(call: Call[ReceiveReturnBody, None]) -> Done:
    """The goods are back: they return to stock in ``warehouse`` and a credit note is asked
    for the invoiced lines."""
    order_id = call.param("order_id")
    return_id = call.param("return_id")
    call.audit(entity_id=order_id, after={"return": return_id, "warehouse": call.body.warehouse})
    async with call.transaction() as conn:
        outcome = await service.receive_return(
            conn, order_id, return_id, warehouse=call.body.warehouse, by=call.actor, now=_now()
        )
        _publish(call, outcome)
    return Done(order_id=order_id, state="returned", reference=return_id)


@changes.post(
    "/api/v1/orders/{order_id}/payments",
    name="orders.payments.create",
    roles=SELLERS,
    summary="Record money received for an order",
    body=PaymentBody,
    response=Done,
    status=201,
    entity="order",
)
async def record_payment(call: Call[PaymentBody, None]) -> Done:
    """A bank transfer paid in full gets its invoice. The same ``payment_id`` counts once."""
    order_id = call.param("order_id")
    body = call.body
    if not body.amount.is_finite() or body.amount <= 0 or body.amount.as_tuple().exponent < -2:
        raise ApiError(400, "validation_error", "amount must be a positive sum in lei and bani")
    if body.received_at.tzinfo is None:
        raise ApiError(400, "validation_error", "received_at needs a time zone (RFC 3339)")
    payment_id = body.payment_id or f"pay-{uuid7()}"
    message = RecordPayment(
        order_id=order_id,
        payment_id=payment_id,
        amount=body.amount,
        received_at=body.received_at,
        reference=body.reference,
    )
    call.audit(entity_id=order_id, after={"payment": payment_id, "amount": str(body.amount)})
    async with call.transaction() as conn:
        outcome = await service.record_payment(conn, message, by=call.actor, now=_now())
        _publish(call, outcome)
        state = await service.current_state(conn, order_id)
    return Done(order_id=order_id, state=state, reference=payment_id)


@changes.post(
    "/api/v1/orders/{order_id}/reservation/retry",
    name="orders.reservation.retry",
    roles=SELLERS,
    summary="Ask the inventory again for an on-hold order's stock",
    response=Done,
    status=202,
    entity="order",
)
async def retry_reservation(call: Call[None, None]) -> Done:
    """After stock came in: the inventory tops the reservation up, and a complete one confirms
    the order."""
    order_id = call.param("order_id")
    call.audit(entity_id=order_id)
    async with call.transaction() as conn:
        outcome = await service.retry_reservation(conn, order_id, by=call.actor)
        _publish(call, outcome)
    return Done(order_id=order_id, state=await _state(call, order_id))


async def _state(call: Call[Any, Any], order_id: str) -> str:
    async with call.db.pool.acquire() as conn:
        return await service.current_state(conn, order_id)

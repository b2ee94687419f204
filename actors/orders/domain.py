"""The rules of an order, without I/O: its states and transitions, which document the
invoicing connector is asked for and when, and how the shop's statuses map onto ours.

States and the 14 allowed transitions are DOMAIN.md's, as data (:data:`TRANSITIONS`); anything
else is refused with an error naming the current state and the allowed next ones. Every
accepted transition is recorded with who, when and why (:class:`Transition`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

import msgspec

from hub.errors import DomainError


class OrderState(StrEnum):
    """Where an order stands."""

    pending = "pending"
    on_hold = "on_hold"
    confirmed = "confirmed"
    processing = "processing"
    partially_shipped = "partially_shipped"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
    return_requested = "return_requested"
    returned = "returned"
    refunded = "refunded"


S = OrderState

# The only moves an order can make, in DOMAIN.md's order.
TRANSITIONS: dict[OrderState, tuple[OrderState, ...]] = {
    S.pending: (S.confirmed, S.on_hold, S.cancelled),
    S.on_hold: (S.confirmed, S.cancelled),
    S.confirmed: (S.processing, S.cancelled),
    S.processing: (S.partially_shipped, S.shipped),
    S.partially_shipped: (S.shipped,),
    S.shipped: (S.delivered,),
    S.delivered: (S.return_requested,),
    S.return_requested: (S.returned,),
    S.returned: (S.refunded,),
    S.cancelled: (),
    S.refunded: (),
}

FINAL = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts)
# Reserved stock is released when an order leaves through one of these.
RELEASES_STOCK = frozenset({S.cancelled})


class Transition(msgspec.Struct, frozen=True, kw_only=True):
    """One accepted move, as the order's history keeps it."""

    from_state: OrderState
    to_state: OrderState
    at: datetime
    by: str  # "user:12", "api_key:3", "system", "woocommerce"
    reason: str


def allowed(state: OrderState) -> tuple[OrderState, ...]:
    """The states ``state`` may move to."""
    return TRANSITIONS[state]


def transition(
    order_id: str, state: OrderState, to: OrderState, *, at: datetime, by: str, reason: str
) -> Transition:
    """Move an order from ``state`` to ``to``, or refuse naming where it is and where it can go.

    Moving to the state it is already in is refused too: callers that may repeat (a webhook
    delivered twice) check for it first and do nothing.
    """
    if at.tzinfo is None:
        raise ValueError("a transition needs a timezone-aware time")
    if to not in TRANSITIONS[state]:
        nexts = ", ".join(TRANSITIONS[state])
        can = f"from {state} it can become: {nexts}" if nexts else f"{state} is final"
        raise DomainError(f"order {order_id} is {state} and cannot become {to}; {can}")
    return Transition(from_state=state, to_state=to, at=at, by=by, reason=reason.strip())


# --- documents -------------------------------------------------------------------------------

PaymentMethod = Literal["card", "cash_on_delivery", "bank_transfer"]
Document = Literal["invoice", "proforma"]
Moment = Literal["confirmed", "shipped", "payment_recorded"]


def documents_due(method: PaymentMethod, moment: Moment) -> tuple[Document, ...]:
    """Which documents to request from invoicing at ``moment`` of an order paid by ``method``.

    - card (paid online): the invoice at confirmation;
    - cash on delivery (ramburs): an invoice at each shipment, for what that shipment carries
      (the courier collects per parcel);
    - bank transfer (typical B2B): a proforma at confirmation, the invoice once the payment is
      recorded.
    """
    rules: dict[tuple[PaymentMethod, Moment], tuple[Document, ...]] = {
        ("card", "confirmed"): ("invoice",),
        ("cash_on_delivery", "shipped"): ("invoice",),
        ("bank_transfer", "confirmed"): ("proforma",),
        ("bank_transfer", "payment_recorded"): ("invoice",),
    }
    return rules.get((method, moment), ())


# --- WooCommerce statuses ---------------------------------------------------------------------

WooStatus = Literal[
    "pending", "on-hold", "processing", "completed", "cancelled", "refunded", "failed"
]

# Ours → the shop's, one row per state. The shop has fewer states: several of ours show as one.
TO_WOO: dict[OrderState, WooStatus] = {
    S.pending: "pending",
    S.on_hold: "on-hold",
    S.confirmed: "processing",
    S.processing: "processing",
    S.partially_shipped: "processing",
    S.shipped: "completed",
    S.delivered: "completed",
    S.cancelled: "cancelled",
    S.return_requested: "completed",
    S.returned: "completed",
    S.refunded: "refunded",
}

# The shop's → ours, for an order arriving from (or changed in) the shop. "failed" (a declined
# card) is a cancellation for us.
FROM_WOO: dict[WooStatus, OrderState] = {
    "pending": S.pending,
    "on-hold": S.on_hold,
    "processing": S.confirmed,
    "completed": S.shipped,
    "cancelled": S.cancelled,
    "refunded": S.refunded,
    "failed": S.cancelled,
}


def woo_status(state: OrderState) -> WooStatus:
    """The status the shop shows for an order in ``state``."""
    return TO_WOO[state]


def from_woo(status: str) -> OrderState:
    """Our state for the shop's ``status``; an unknown one is refused, naming the known ones."""
    try:
        return FROM_WOO[status]  # type: ignore[index]
    except KeyError:
        known = ", ".join(FROM_WOO)
        raise DomainError(f"unknown WooCommerce order status {status!r}; known: {known}") from None

"""The orders' public contract: placing an order, payments, and what an order went through.

Money is ``Decimal`` (RON, net of VAT unless a field says gross), quantities ``Decimal`` (metres
of LED strip; pieces are whole), times timezone-aware UTC. Every message about one order is
keyed ``order:<order_id>`` so an order's messages never run at the same time.

An order id is chosen by whoever places the order and is its idempotency key: placing the same
id twice places one order (the WooCommerce connector uses ``woo-<shop order id>``, the API and
quotations a UUIDv7).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from actors.pricing.messages import CartLine, CartTotals, PricedLine
from hub.messages import Command, Event

PaymentMethod = Literal["card", "cash_on_delivery", "bank_transfer"]
Source = Literal["api", "woocommerce", "quotation"]
CustomerKind = Literal["consumer", "company"]
OrderStateName = Literal[
    "pending",
    "on_hold",
    "confirmed",
    "processing",
    "partially_shipped",
    "shipped",
    "delivered",
    "cancelled",
    "return_requested",
    "returned",
    "refunded",
]

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(max_length=64)]


class Address(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A postal address in Romania (``county``: a county, or "Sector N" in Bucharest)."""

    name: Text  # recipient (a person or the company)
    street: Text
    city: Text
    county: Text
    postcode: ShortText | None = None
    country: Annotated[str, msgspec.Meta(pattern="^[A-Z]{2}$")] = "RO"
    phone: ShortText | None = None


class Customer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who buys: a consumer, or a company identified by its CUI (check digit verified).

    ``customer_id`` is the hub's customer (B2B customers, registered shop customers); a guest
    consumer has none. ``reg_com`` is the trade register number (J40/1234/2020).
    """

    kind: CustomerKind
    name: Text
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: ShortText | None = None
    customer_id: ShortText | None = None
    cui: ShortText | None = None  # companies: "RO18547290" or "18547290"
    reg_com: ShortText | None = None


class ShipLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A quantity of one SKU, from one warehouse or (None) by warehouse priority."""

    sku: str
    quantity: Decimal
    warehouse: str | None = None


class ShippedLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A quantity of one SKU that left (or came back to) one warehouse."""

    sku: str
    warehouse: str
    quantity: Decimal


# --- commands ---------------------------------------------------------------------------------


class PlaceOrder(Command, tag="orders.PlaceOrder"):
    """Place an order: it is stored at once as ``pending``, priced, then stock is reserved.

    ``lines`` are priced by the pricing engine at the customer's tier, unless ``priced`` carries
    the lines already priced (a quotation converted at its quoted prices): then they are kept
    exactly. ``hold`` names a stock reservation to take over (the quote's ``quote:<id>``).
    """

    order_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    source: Source
    customer: Customer
    billing: Address
    payment_method: PaymentMethod
    lines: tuple[CartLine, ...]
    shipping: Address | None = None  # None: ship to the billing address
    priced: tuple[PricedLine, ...] | None = None
    external_ref: ShortText | None = None  # the shop's order number
    quotation_id: str | None = None
    hold: str | None = None
    paid: bool = False  # paid online already (card)
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    # what the customer pays for delivery, net of VAT (RON); VAT at the lines' rate
    shipping_fee: Decimal | None = None


class RecordPayment(Command, tag="orders.RecordPayment"):
    """Money received for an order (a bank transfer seen by SmartBill or recorded by staff).

    ``payment_id`` makes it idempotent: the same payment recorded twice counts once.
    """

    order_id: str
    payment_id: str
    amount: Decimal  # gross, RON
    received_at: datetime
    reference: str | None = None


class CancelOrder(Command, tag="orders.CancelOrder"):
    """Cancel an order for the system it came from (the shop cancelled it, or its card payment
    failed). Only from the ``only_from`` states — by default before confirmation, when no
    document exists and nothing has shipped; otherwise nothing changes and ``CancelRefused``
    says why (staff decide: a cancelled invoice is a storno). Its stock is released."""

    order_id: str
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    only_from: tuple[OrderStateName, ...] = ("pending", "on_hold")


class RetryReservation(Command, tag="orders.RetryReservation"):
    """Ask the inventory again for an on-hold order's missing stock (stock came in)."""

    order_id: str


# --- events -----------------------------------------------------------------------------------


class OrderPlaced(Event, tag="orders.OrderPlaced"):
    """An order was priced and its stock asked for; ``lines`` carry their price breakdown."""

    order_id: str
    number: str
    source: Source
    external_ref: str | None
    customer: Customer
    payment_method: PaymentMethod
    lines: tuple[PricedLine, ...]
    totals: CartTotals
    placed_at: datetime


class OrderRejected(Event, tag="orders.OrderRejected"):
    """An order could not be placed (unknown SKU, invalid customer); it is cancelled."""

    order_id: str
    reason: str


class OrderStateChanged(Event, tag="orders.OrderStateChanged"):
    """An order moved; ``woo_status`` is what the shop should show now."""

    order_id: str
    number: str
    external_ref: str | None
    from_state: OrderStateName
    to_state: OrderStateName
    woo_status: str
    at: datetime
    by: str
    reason: str


class ShipmentSent(Event, tag="orders.ShipmentSent"):
    """A shipment left the warehouses (its stock is issued)."""

    order_id: str
    shipment_id: str
    lines: tuple[ShippedLine, ...]
    complete: bool  # the order has now shipped in full
    tracking: str | None = None


class PaymentRecorded(Event, tag="orders.PaymentRecorded"):
    """A payment counted for an order; ``paid_in_full`` once the gross total is covered."""

    order_id: str
    payment_id: str
    amount: Decimal
    paid_total: Decimal
    paid_in_full: bool


class CancelRefused(Event, tag="orders.CancelRefused"):
    """A ``CancelOrder`` not carried out: the order is unknown or too far along (``state``)."""

    order_id: str
    state: OrderStateName | None  # None: no such order
    reason: str


OrdersMessage = (
    PlaceOrder
    | RecordPayment
    | CancelOrder
    | CancelRefused
    | RetryReservation
    | OrderPlaced
    | OrderRejected
    | OrderStateChanged
    | ShipmentSent
    | PaymentRecorded
)

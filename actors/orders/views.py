"""The orders API's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from actors.orders.messages import Address, Customer, OrderStateName, PaymentMethod, Source
from hub.edge.api import ApiModel, PageQuery

Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Code = Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
OrderSort = Literal["placed_at", "-placed_at"]


# --- requests ---------------------------------------------------------------------------------


class LineBody(ApiModel):
    """A product and a quantity (pieces, or metres of LED strip)."""

    sku: Sku
    quantity: Decimal


class PlaceOrderBody(ApiModel):
    """A new order. ``order_id`` (optional) makes a retried request place one order only."""

    customer: Customer
    billing: Address
    payment_method: PaymentMethod
    lines: Annotated[list[LineBody], msgspec.Meta(min_length=1, max_length=200)]
    shipping: Address | None = None
    order_id: Id | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


class TransitionBody(ApiModel):
    """Move an order: ``to`` one of the states its current state allows, and why."""

    to: OrderStateName
    reason: Reason


class ShipLineBody(ApiModel):
    """A quantity of one ordered SKU to ship, from one warehouse or by warehouse priority."""

    sku: Sku
    quantity: Decimal
    warehouse: Code | None = None


class ShipmentBody(ApiModel):
    """A shipment: some lines (per SKU and warehouse), or everything not shipped yet."""

    lines: Annotated[list[ShipLineBody], msgspec.Meta(min_length=1, max_length=200)] | None = None
    tracking: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    shipment_id: Id | None = None


class ReturnLineBody(ApiModel):
    """A quantity of one shipped SKU coming back."""

    sku: Sku
    quantity: Decimal


class ReturnBody(ApiModel):
    """A return request: some lines, or everything shipped."""

    reason: Reason
    lines: Annotated[list[ReturnLineBody], msgspec.Meta(min_length=1, max_length=200)] | None = None
    return_id: Id | None = None


class ReceiveReturnBody(ApiModel):
    """Where the returned goods were put back."""

    warehouse: Code


class PaymentBody(ApiModel):
    """Money received (gross RON). ``payment_id``: the bank's reference, recorded once."""

    amount: Decimal
    received_at: datetime
    payment_id: Id | None = None
    reference: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class OrderQuery(PageQuery):
    """Filters of the order list; newest first unless ``sort`` says otherwise."""

    state: OrderStateName | None = None
    customer_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    source: Source | None = None
    payment_method: PaymentMethod | None = None
    sku: Sku | None = None  # orders with a line of this SKU
    number: Annotated[str, msgspec.Meta(max_length=64)] | None = None  # ours or the shop's
    since: datetime | None = None  # placed at or after
    until: datetime | None = None  # placed before
    sort: OrderSort = "-placed_at"


# --- responses --------------------------------------------------------------------------------


class OrderSummary(ApiModel):
    """One order in a list."""

    id: str
    number: str
    state: str
    source: str
    external_ref: str | None
    customer_id: str | None
    customer_name: str
    payment_method: str
    gross: Decimal | None
    paid: Decimal
    currency: str
    placed_at: datetime
    updated_at: datetime


class LineView(ApiModel):
    """An order line with its price and how it was reached (``breakdown``)."""

    line_no: int
    sku: str
    name: str
    unit: str
    quantity: Decimal
    shipped: Decimal
    returned: Decimal
    unit_net: Decimal | None
    line_net: Decimal | None
    vat_rate: Decimal | None
    line_vat: Decimal | None
    line_gross: Decimal | None
    breakdown: list[dict[str, Any]] | None


class TransitionView(ApiModel):
    """One move of the order: who, when, why."""

    from_state: str
    to_state: str
    at: datetime
    by: str
    reason: str


class ShipmentView(ApiModel):
    """A shipment: what was asked, what left from where."""

    id: str
    status: str
    requested: list[dict[str, Any]]
    sent: list[dict[str, Any]] | None
    tracking: str | None
    refusal: str | None
    created_by: str
    created_at: datetime
    sent_at: datetime | None


class ReturnView(ApiModel):
    """A return: the lines, why, and where they came back."""

    id: str
    status: str
    lines: list[dict[str, Any]]
    reason: str
    warehouse: str | None
    requested_by: str
    requested_at: datetime
    received_by: str | None
    received_at: datetime | None


class PaymentView(ApiModel):
    """Money received."""

    id: str
    amount: Decimal
    received_at: datetime
    reference: str | None
    recorded_by: str
    recorded_at: datetime


class DocumentView(ApiModel):
    """A document asked of invoicing and what became of it."""

    request_id: str
    kind: str
    status: str
    shipment_id: str | None
    return_id: str | None
    series: str | None
    number: str | None
    gross: Decimal | None
    error: str | None
    requested_at: datetime
    issued_at: datetime | None


class OrderView(ApiModel):
    """An order in full: customer, addresses, priced lines, history, shipments, documents."""

    id: str
    number: str
    state: str
    allowed: list[str]  # where it can go next
    source: str
    external_ref: str | None
    quotation_id: str | None
    customer: dict[str, Any]
    billing: dict[str, Any]
    shipping: dict[str, Any]
    payment_method: str
    pricing: str
    reservation: str
    tier: int | None
    currency: str
    net: Decimal | None
    vat: Decimal | None
    gross: Decimal | None
    paid: Decimal
    note: str | None
    placed_by: str
    placed_at: datetime
    updated_at: datetime
    lines: list[LineView]
    transitions: list[TransitionView]
    shipments: list[ShipmentView]
    returns: list[ReturnView]
    payments: list[PaymentView]
    documents: list[DocumentView]


class OrderAccepted(ApiModel):
    """An order placed (202): it is priced and its stock reserved in the background."""

    order_id: str
    state: str
    location: str


class Done(ApiModel):
    """What a command on an order did."""

    order_id: str
    state: str
    reference: str | None = None  # the shipment, return or payment id

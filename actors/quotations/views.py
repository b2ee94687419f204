"""The quotations API's request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from actors.orders.messages import Address, PaymentMethod
from actors.pricing.messages import CartTotals, PriceStep
from actors.quotations.domain import Status
from actors.quotations.model import HoldStatus, Language, Pricing, QuoteCustomer, Unit
from hub.edge.api import ApiModel, PageQuery

Sku = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Note = Annotated[str, msgspec.Meta(max_length=2000)]
QuotationSort = Literal["created_at", "-created_at"]


class LineBody(ApiModel):
    """A product and a quantity to quote (pieces, or metres of LED strip)."""

    sku: Sku
    quantity: Decimal


class CreateBody(ApiModel):
    """A quote to prepare: for whom, what, and (staff only) how it is offered.

    ``tier`` prices at that tier instead of the customer's own; ``validity_days`` overrides the
    configured validity; ``hold_stock`` holds the stock from sending until expiry.
    """

    customer: QuoteCustomer
    lines: Annotated[list[LineBody], msgspec.Meta(min_length=1, max_length=200)]
    hold_stock: bool = False
    tier: Annotated[int, msgspec.Meta(ge=0, le=99)] | None = None
    language: Language | None = None
    validity_days: Annotated[int, msgspec.Meta(ge=1, le=365)] | None = None
    notes: Note | None = None


class RejectBody(ApiModel):
    """Why the quote is declined (optional)."""

    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None


class ConvertBody(ApiModel):
    """How the order is paid and where it goes (billing: the quote's address unless given)."""

    payment_method: PaymentMethod
    billing: Address | None = None
    shipping: Address | None = None
    note: Note | None = None


class QuotationQuery(PageQuery):
    """Filters of the quotation list (newest first by default)."""

    status: Status | None = None
    customer_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    number: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before
    sort: QuotationSort = "-created_at"


class PdfQuery(ApiModel):
    """The language of the document (default: the quote's)."""

    lang: Language | None = None


class QuotationSummary(ApiModel):
    """A quote in a list."""

    id: str
    number: str
    status: Status
    pricing: Pricing
    customer_id: str | None
    customer_name: str
    currency: str
    gross: Decimal | None
    created_at: datetime
    sent_at: datetime | None
    valid_until: date | None
    order_id: str | None


class LineView(ApiModel):
    """A quoted line; the price fields are null until the quote is priced."""

    line_no: int
    sku: str
    name: str
    unit: Unit
    quantity: Decimal
    unit_net: Decimal | None
    line_net: Decimal | None
    vat_rate: Decimal | None
    line_vat: Decimal | None
    line_gross: Decimal | None
    breakdown: list[PriceStep] | None


class HistoryView(ApiModel):
    """One move of the quote."""

    from_status: Status | None
    to_status: Status
    at: datetime
    by: str
    reason: str


class HeldView(ApiModel):
    """Stock the inventory holds for the quote."""

    sku: str
    quantity: Decimal


class QuotationView(ApiModel):
    """A quote in full: customer, lines with their price breakdown, totals, validity, stock
    hold, history, and the statuses it may move to."""

    id: str
    number: str
    status: Status
    allowed: list[Status]
    pricing: Pricing
    pricing_error: str | None
    customer: QuoteCustomer
    lines: list[LineView]
    totals: CartTotals | None  # null until priced
    tier: int | None
    priced_tier: int | None
    priced_on: date | None
    language: Language
    validity_days: int
    sent_at: datetime | None
    valid_until: date | None
    expires_at: datetime | None
    remind_at: datetime | None
    reminded_at: datetime | None
    hold_stock: bool
    hold_status: HoldStatus
    held: list[HeldView]
    order_id: str | None
    notes: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    history: list[HistoryView]

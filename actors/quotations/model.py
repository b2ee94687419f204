"""The stored shapes of a quotation: its customer snapshot, the quote, its lines and history.

The store reads and writes these; the service changes them through the rules of ``domain``;
the API shows them (``views``). The customer snapshot is also the API's request body for it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec

from actors.orders.messages import Address, CustomerKind
from actors.pricing.messages import CartTotals, PricedLine, PriceStep
from actors.quotations.domain import QuoteLine, Status

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
ShortText = Annotated[str, msgspec.Meta(max_length=64)]
Pricing = Literal["pending", "priced", "failed"]
HoldStatus = Literal["none", "requested", "held", "partial", "released", "taken_over"]
Language = Literal["ro", "en"]
Unit = Literal["piece", "metre"]
ACTIVE_HOLDS: frozenset[str] = frozenset({"requested", "held", "partial"})


class QuoteCustomer(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who the quote is for, as it stood when quoted: a consumer, or a company (its CUI).

    ``customer_id`` is the hub's customer (B2B); a prospect has none. ``contact`` is the person
    at a company the quote is addressed to. The address is printed on the quote and is the
    order's billing address unless the conversion names another.
    """

    kind: CustomerKind
    name: Text
    address: Address
    contact: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    phone: ShortText | None = None
    customer_id: ShortText | None = None
    cui: ShortText | None = None
    reg_com: ShortText | None = None


class Quote(msgspec.Struct, frozen=True, kw_only=True):
    """A quotation row."""

    id: str
    number: str
    customer_id: str | None
    customer: QuoteCustomer
    status: Status
    pricing: Pricing
    pricing_error: str | None
    tier: int | None
    priced_tier: int | None
    priced_on: date | None
    currency: str
    net: Decimal | None
    vat: Decimal | None
    gross: Decimal | None
    language: Language
    validity_days: int
    sent_at: datetime | None
    sent_by: str | None
    valid_until: date | None
    expires_at: datetime | None
    remind_at: datetime | None
    reminded_at: datetime | None
    hold_stock: bool
    hold_status: HoldStatus
    held: list[HeldLine] | None
    order_id: str | None
    notes: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int

    @property
    def totals(self) -> CartTotals:
        """The totals (zero until priced)."""
        zero = Decimal("0.00")
        return CartTotals(
            net=self.net if self.net is not None else zero,
            vat=self.vat if self.vat is not None else zero,
            gross=self.gross if self.gross is not None else zero,
            currency=self.currency,
        )


class HeldLine(msgspec.Struct, frozen=True, kw_only=True):
    """How much of a SKU the inventory holds for the quote."""

    sku: str
    quantity: Decimal


class Line(msgspec.Struct, frozen=True, kw_only=True):
    """A quotation line: asked for (sku, quantity), then priced (the rest)."""

    line_no: int
    sku: str
    name: str
    unit: Unit
    quantity: Decimal
    unit_net: Decimal | None = None
    line_net: Decimal | None = None
    vat_rate: Decimal | None = None
    line_vat: Decimal | None = None
    line_gross: Decimal | None = None
    breakdown: list[Any] | None = None

    def priced(self) -> PricedLine:
        """The line as the pricing engine answered it (a quote's lines go to the order so)."""
        return PricedLine(
            sku=self.sku,
            quantity=self.quantity,
            unit=self.unit,
            unit_net=self._money(self.unit_net),
            line_net=self._money(self.line_net),
            vat_rate=self._money(self.vat_rate),
            line_vat=self._money(self.line_vat),
            line_gross=self._money(self.line_gross),
            breakdown=tuple(msgspec.convert(s, PriceStep) for s in self.breakdown or ()),
        )

    def quoted(self) -> QuoteLine:
        """The line for the domain's rules (totals, conversion)."""
        return QuoteLine(
            sku=self.sku,
            quantity=self.quantity,
            unit_net=self._money(self.unit_net),
            vat_rate=self._money(self.vat_rate),
            breakdown=tuple(self.breakdown or ()),
        )

    def _money(self, value: Decimal | None) -> Decimal:
        if value is None:
            raise ValueError(f"line {self.line_no} ({self.sku}) is not priced")
        return value


class HistoryEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One move of a quote: who, when, why."""

    from_status: Status | None
    to_status: Status
    at: datetime
    by: str
    reason: str

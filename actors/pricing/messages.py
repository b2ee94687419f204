"""The pricing context's public contract: price changes, and cart pricing for other contexts.

Money is ``Decimal`` (encoded as a string), RON, net of VAT unless a field says ``gross``.
Every computed price carries its breakdown (:class:`PriceStep`), so "why this price?" always
has an answer; orders and quotations store it on their lines.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from hub.messages import Command, Event

StepName = Literal["base", "tier", "volume", "promotion", "floor", "rounding"]
Unit = Literal["piece", "metre"]


class PriceStep(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One step of a unit price: what it did, at which rate, under which rule.

    ``amount`` is the unit net price after the step, exact (unrounded) until ``rounding``.
    ``rate``: the margin (base), the discount fraction (tier, volume, percent promotion) or the
    minimum margin (floor). ``rule_id``: the volume break, promotion or minimum-margin override
    that applied (None: no rule, or the ``min_margin`` setting for the floor).
    """

    step: StepName
    amount: Decimal
    applied: bool = True
    rate: Decimal | None = None
    rule_id: int | None = None
    note: str | None = None


class CartLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A product and a quantity to price (pieces, or metres of LED strip)."""

    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    quantity: Decimal


class PricedLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A priced line: unit net price with its breakdown, line net, VAT and gross."""

    sku: str
    quantity: Decimal
    unit: Unit
    unit_net: Decimal
    line_net: Decimal
    vat_rate: Decimal
    line_vat: Decimal
    line_gross: Decimal
    breakdown: tuple[PriceStep, ...]


class CartTotals(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Sums of the lines (never recomputed from the totals: no cent drift)."""

    net: Decimal
    vat: Decimal
    gross: Decimal
    currency: str = "RON"


class PriceChanged(Event, tag="pricing.PriceChanged"):
    """A product's list price (tier 0, quantity 1, today) or its promotional price changed."""

    sku: str
    list_net: Decimal
    list_gross: Decimal
    sale_net: Decimal | None  # under the best promotion active today, when lower
    sale_gross: Decimal | None
    vat_rate: Decimal
    previous_list_net: Decimal | None  # None: the product had no list price (new, reactivated)
    reason: str


class PriceCart(Command, tag="pricing.PriceCart"):
    """Price these lines for a customer (its tier) or an explicit tier, on a supply date."""

    request_id: str
    lines: tuple[CartLine, ...]
    customer_id: str | None = None
    tier: int | None = None  # wins over the customer's tier when both are given
    on: date | None = None  # supply date (VAT, promotions); default today, Europe/Bucharest


class CartPriced(Event, tag="pricing.CartPriced"):
    """The answer to a :class:`PriceCart`: every line with its breakdown, and the totals."""

    request_id: str
    customer_id: str | None
    tier: int
    on: date
    lines: tuple[PricedLine, ...]
    totals: CartTotals


class CartPricingFailed(Event, tag="pricing.CartPricingFailed"):
    """A :class:`PriceCart` could not be priced; ``skus`` names the lines at fault."""

    request_id: str
    reason: str
    skus: tuple[str, ...] = ()


class RepriceProducts(Command, tag="pricing.RepriceProducts"):
    """Recompute the list prices of these products and categories (after a rule change).

    With ``promotion_id``, the actor also keeps that promotion's timers: a repricing at the
    start of its first day and after its last day (none once it is deleted).
    """

    reason: str
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    everything: bool = False
    promotion_id: int | None = None


class PricesRepriced(Event, tag="pricing.PricesRepriced"):
    """A repricing committed: how many products were checked and how many prices changed.

    The pricing actor listens to it to invalidate the price cache after the commit.
    """

    reason: str
    checked: int
    changed: int


PricingMessage = (
    PriceChanged | PriceCart | CartPriced | CartPricingFailed | RepriceProducts | PricesRepriced
)

"""The price formula, VAT by supply date, carts, list prices and the repricing diff.

Pure: no I/O, no clock (callers pass ``on``, the supply date in Europe/Bucharest). Money is
Decimal, RON. The rules, as built (docs/PRICING.md):

    regular = cost * (1 + margin) * (1 - tier discount) * (1 - volume discount)
    promo   = list * (1 - percent)  or  the fixed net price        (each valid promotion)
    price   = max(min(regular, promos...), floor)   floor = cost * (1 + minimum margin)
    unit    = max(round_half_up(price, 0.01), ceil(floor, 0.01))

A customer sees the breakdown through :func:`for_customer`: without the cost and the margins.

A promotion is an alternative to the tier and volume discounts, not added to them: the
customer gets the lowest. Lines: net = round(unit * quantity), VAT = round(net * rate) per line,
gross = net + VAT; totals are the sums of the lines (as SmartBill computes an invoice).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from actors.pricing.messages import CartLine, CartTotals, PricedLine, PriceStep, StepName
from actors.pricing.rules import PriceInput, PriceSheet, SkuRules
from hub.errors import DomainError

BUSINESS_TZ = ZoneInfo("Europe/Bucharest")
CENT = Decimal("0.01")
ZERO = Decimal(0)
ONE = Decimal(1)
TIER_DISCOUNTS: Mapping[int, Decimal] = {
    0: ZERO,
    1: Decimal("0.05"),
    2: Decimal("0.1"),
    3: Decimal("0.15"),
}
# Romania's standard VAT rate by supply date: (first day, rate), ascending. The rate follows the
# supply (delivery) date, not the invoice date. LED products take the standard rate.
VAT_RATES: tuple[tuple[date, Decimal], ...] = (
    (date(2010, 7, 1), Decimal("0.24")),
    (date(2016, 1, 1), Decimal("0.20")),
    (date(2017, 1, 1), Decimal("0.19")),
    (date(2025, 8, 1), Decimal("0.21")),  # Law 141/2025
)
# Steps whose rate, rule and note tell the product's cost and margins: staff only.
INTERNAL_STEPS: frozenset[StepName] = frozenset({"base", "floor"})
MAX_LINES = 200
MAX_QUANTITY = Decimal(100_000)
QUANTITY_DECIMALS = 3

LinePrice = PricedLine


class PricedCart(msgspec.Struct, frozen=True, kw_only=True):
    """Priced lines and their totals."""

    lines: tuple[PricedLine, ...]
    totals: CartTotals


class ListPrice(msgspec.Struct, frozen=True, kw_only=True):
    """A product's list price (tier 0, quantity 1) on a day, and its promotional price."""

    sku: str
    list_net: Decimal
    sale_net: Decimal | None  # the best valid promotion's price, when lower than the list price
    promotion_id: int | None
    vat_rate: Decimal

    @property
    def list_gross(self) -> Decimal:
        """List price with VAT."""
        return gross(self.list_net, self.vat_rate)

    @property
    def sale_gross(self) -> Decimal | None:
        """Promotional price with VAT."""
        return None if self.sale_net is None else gross(self.sale_net, self.vat_rate)


class PriceChange(msgspec.Struct, frozen=True, kw_only=True):
    """A list price that changed, with the one it replaces (None: there was none)."""

    new: ListPrice
    old: ListPrice | None


class LineProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Why one line of a cart cannot be priced."""

    index: int
    sku: str
    message: str
    field: str = "quantity"  # or "sku": the product is unknown or inactive


class CartError(DomainError):
    """A cart that cannot be priced: unknown or inactive products, impossible quantities."""

    code = "unpriceable_lines"

    def __init__(self, reason: str, problems: Sequence[LineProblem]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.problems = tuple(problems)

    @property
    def skus(self) -> tuple[str, ...]:
        """The products at fault, each once, in line order."""
        return tuple(dict.fromkeys(p.sku for p in self.problems))


def vat_rate(on: date) -> Decimal:
    """The standard VAT rate for a supply on ``on`` (a date-effective table, not a constant)."""
    rate: Decimal | None = None
    for first_day, value in VAT_RATES:
        if on < first_day:
            break
        rate = value
    if rate is None:
        raise DomainError(f"no VAT rate is known for supplies before {VAT_RATES[0][0]}")
    return rate


def business_date(now: datetime) -> date:
    """The calendar day in Europe/Bucharest at the instant ``now`` (timezone-aware)."""
    return now.astimezone(BUSINESS_TZ).date()


def day_start(day: date) -> datetime:
    """The instant ``day`` begins in Europe/Bucharest (when a promotion starts or ends)."""
    return datetime.combine(day, time(0), tzinfo=BUSINESS_TZ)


def round_money(amount: Decimal) -> Decimal:
    """To the cent, half up."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def gross(net: Decimal, rate: Decimal) -> Decimal:
    """Net plus its VAT rounded half up to the cent."""
    return net + round_money(net * rate)


def _step(step: StepName, amount: Decimal, rate: Decimal | None = None, **kw: Any) -> PriceStep:
    return PriceStep(step=step, amount=amount, rate=rate, **kw)


def unit_price(
    item: PriceInput,
    tier: int,
    quantity: Decimal,
    rules: SkuRules,
    on: date,
    *,
    promotions: bool = True,
) -> tuple[Decimal, tuple[PriceStep, ...]]:
    """The unit net price (to the cent) and its six steps (amounts exact until rounding)."""
    tier_rate = TIER_DISCOUNTS[tier]
    base = item.cost * (ONE + item.margin)
    steps = [_step("base", base, item.margin, note=f"cost {item.cost}")]
    price = base * (ONE - tier_rate)
    steps.append(_step("tier", price, tier_rate, applied=tier_rate > 0, note=f"tier {tier}"))
    reached = [b for b in rules.volume_breaks if quantity >= b.min_quantity]
    best = max(reached, key=lambda b: (b.discount, -b.id), default=None)
    if best is not None and best.discount > 0:
        price = price * (ONE - best.discount)
        note = f">= {best.min_quantity} ({best.scope} {best.target})"
        steps.append(_step("volume", price, best.discount, rule_id=best.id, note=note))
    else:
        steps.append(_step("volume", price, ZERO, applied=False))
    if promotions:
        price = _promotion(price, base, rules, on, steps)
    else:
        steps.append(_step("promotion", price, applied=False))
    floor = item.cost * (ONE + rules.min_margin)
    steps.append(
        _step(
            "floor",
            max(price, floor),
            rules.min_margin,
            rule_id=rules.min_margin_id,
            applied=price < floor,
            note=f"floor {floor}",
        )
    )
    price = max(price, floor)
    unit = max(round_money(price), floor.quantize(CENT, rounding=ROUND_CEILING))
    steps.append(PriceStep(step="rounding", amount=unit, applied=unit != price))
    return unit, tuple(steps)


def _promotion(
    price: Decimal, base: Decimal, rules: SkuRules, on: date, steps: list[PriceStep]
) -> Decimal:
    """Append the promotion step; return the price after it."""
    candidates = [
        (base * (ONE - p.value) if p.kind == "percent" else p.value, p.id, p)
        for p in rules.promotions
        if p.active_on(on)
    ]
    if not candidates:
        steps.append(_step("promotion", price, applied=False))
        return price
    offer, _, promo = min(candidates, key=lambda c: (c[0], c[1]))
    rate = promo.value if promo.kind == "percent" else None
    if offer < price:
        steps.append(_step("promotion", offer, rate, rule_id=promo.id, note=promo.name))
        return offer
    note = f"{promo.name}: not lower than the regular price"
    steps.append(_step("promotion", price, rate, rule_id=promo.id, applied=False, note=note))
    return price


def for_customer(breakdown: Iterable[PriceStep]) -> tuple[PriceStep, ...]:
    """The breakdown as a customer sees it: the ``base`` and ``floor`` steps keep their amounts
    but lose their rate, rule and note (the margin, the cost, the minimum margin and the floor's
    value, which only staff see). The discounts keep theirs: they are the customer's."""
    return tuple(
        msgspec.structs.replace(s, rate=None, rule_id=None, note=None)
        if s.step in INTERNAL_STEPS
        else s
        for s in breakdown
    )


def line_for_customer(line: PricedLine) -> PricedLine:
    """A priced line with its breakdown as a customer sees it (:func:`for_customer`)."""
    return msgspec.structs.replace(line, breakdown=for_customer(line.breakdown))


def price_line(
    item: PriceInput, tier: int, quantity: Decimal, rules: SkuRules, on: date
) -> PricedLine:
    """One line: unit net with its breakdown, line net, VAT (rounded per line) and gross."""
    unit, steps = unit_price(item, tier, quantity, rules, on)
    rate = vat_rate(on)
    net = round_money(unit * quantity)
    vat = round_money(net * rate)
    return PricedLine(
        sku=item.sku,
        quantity=quantity,
        unit=item.unit,
        unit_net=unit,
        line_net=net,
        vat_rate=rate,
        line_vat=vat,
        line_gross=net + vat,
        breakdown=steps,
    )


def check_cart(
    sheets: Mapping[str, PriceSheet], tier: int, lines: Sequence[CartLine]
) -> list[LineProblem]:
    """Every reason the cart cannot be priced (empty when it can)."""
    if tier not in TIER_DISCOUNTS:
        raise CartError(f"tier must be one of {sorted(TIER_DISCOUNTS)}, got {tier}", [])
    if not 1 <= len(lines) <= MAX_LINES:
        raise CartError(f"a cart has 1 to {MAX_LINES} lines, got {len(lines)}", [])
    problems: list[LineProblem] = []
    for index, line in enumerate(lines):
        sheet = sheets.get(line.sku)
        qty = line.quantity
        if sheet is None or sheet.input.status != "active":
            problems.append(
                LineProblem(
                    index=index,
                    sku=line.sku,
                    field="sku",
                    message=f"unknown or inactive SKU {line.sku}",
                )
            )
            continue
        if not qty.is_finite() or not ZERO < qty <= MAX_QUANTITY:
            message = f"quantity of {line.sku} must be more than 0 and at most {MAX_QUANTITY}"
        elif int(qty.normalize().as_tuple().exponent) < -QUANTITY_DECIMALS:
            message = f"quantity of {line.sku} has more than {QUANTITY_DECIMALS} decimals"
        elif sheet.input.unit == "piece" and qty != qty.to_integral_value():
            message = f"{line.sku} is sold by the piece: its quantity must be whole"
        else:
            continue
        problems.append(LineProblem(index=index, sku=line.sku, message=message))
    return problems


def price_cart(
    sheets: Mapping[str, PriceSheet], tier: int, lines: Sequence[CartLine], on: date
) -> PricedCart:
    """Price every line; raise :class:`CartError` naming the lines that cannot be priced."""
    problems = check_cart(sheets, tier, lines)
    if problems:
        unknown = [p.sku for p in problems if p.field == "sku"]
        reason = (
            f"unknown or inactive SKU: {', '.join(dict.fromkeys(unknown))}"
            if unknown
            else "; ".join(p.message for p in problems)
        )
        raise CartError(reason, problems)
    priced = tuple(
        price_line(sheets[line.sku].input, tier, line.quantity, sheets[line.sku].rules, on)
        for line in lines
    )
    return PricedCart(lines=priced, totals=totals(priced))


def totals(lines: Iterable[PricedLine]) -> CartTotals:
    """Sums of the lines' net, VAT and gross (gross = net + VAT exactly, line by line)."""
    net = vat = ZERO
    for line in lines:
        net += line.line_net
        vat += line.line_vat
    return CartTotals(net=net, vat=vat, gross=net + vat)


def list_price(sheet: PriceSheet, on: date) -> ListPrice | None:
    """Tier 0, quantity 1 on ``on``; None for a product that is not active."""
    item = sheet.input
    if item.status != "active":
        return None
    regular, _ = unit_price(item, 0, ONE, sheet.rules, on, promotions=False)
    sale: Decimal | None = None
    promotion_id: int | None = None
    if any(p.active_on(on) for p in sheet.rules.promotions):
        best, steps = unit_price(item, 0, ONE, sheet.rules, on)
        if best < regular:
            sale, promotion_id = best, steps[3].rule_id
    return ListPrice(
        sku=item.sku,
        list_net=regular,
        sale_net=sale,
        promotion_id=promotion_id,
        vat_rate=vat_rate(on),
    )


def list_prices(sheets: Iterable[PriceSheet], on: date) -> dict[str, ListPrice]:
    """The list prices of the active products among ``sheets``."""
    found: dict[str, ListPrice] = {}
    for sheet in sheets:
        price = list_price(sheet, on)
        if price is not None:
            found[price.sku] = price
    return found


def price_changes(old: Mapping[str, ListPrice], new: Mapping[str, ListPrice]) -> list[PriceChange]:
    """The list prices in ``new`` that differ from ``old`` (net, promotional net or VAT rate)."""
    changes: list[PriceChange] = []
    for sku, price in new.items():
        before = old.get(sku)
        if before is None or (before.list_net, before.sale_net, before.vat_rate) != (
            price.list_net,
            price.sale_net,
            price.vat_rate,
        ):
            changes.append(PriceChange(new=price, old=before))
    return changes

"""The pricing routes: quotes, a product's prices, repricing; the rules (``rules_api``) and the
customers' tiers (``tiers_api``).

A quote reads the price sheets of its cart's SKUs from the price cache (in-process, then the
hub cache, then one SQL query for what is missing) and prices them with the pure domain.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from actors.pricing import domain
from actors.pricing.messages import CartLine, CartTotals, PricedLine, PriceStep, RepriceProducts
from actors.pricing.rules_api import Target, check_decimal, rules
from actors.pricing.runtime import runtime
from actors.pricing.tiers_api import tiers
from hub.auth import Role
from hub.edge.api import ALL_ROLES, STAFF, Api, ApiError, ApiModel, Call, FieldError
from hub.errors import NotFound

api = Api("pricing", routes=[*rules.routes, *tiers.routes])


class QuoteLine(ApiModel):
    """A product and a quantity: pieces, or metres (up to 3 decimals) of LED strip."""

    sku: Target
    quantity: Decimal

    def __post_init__(self) -> None:
        check_decimal(
            "quantity",
            self.quantity,
            low=Decimal(0),
            high=domain.MAX_QUANTITY,
            places=domain.QUANTITY_DECIMALS,
            low_open=True,
        )


class QuoteRequest(ApiModel):
    """Price these lines for ``customer_id`` (its tier) or at ``tier`` (staff only; it wins
    over the customer's), on the supply date ``on`` (default: today, Europe/Bucharest)."""

    lines: Annotated[list[QuoteLine], msgspec.Meta(min_length=1, max_length=domain.MAX_LINES)]
    customer_id: Target | None = None
    tier: Annotated[int, msgspec.Meta(ge=0, le=3)] | None = None
    on: date | None = None


class Quote(ApiModel):
    """Every line with its breakdown, and the totals (sums of the lines)."""

    customer_id: str | None
    tier: int
    on: date
    lines: list[PricedLine]
    totals: CartTotals


class PriceQuery(ApiModel):
    """The day to price on (default: today, Europe/Bucharest)."""

    on: date | None = None


class ProductPrice(ApiModel):
    """A product's list price (tier 0, quantity 1) and its best price that day, explained."""

    sku: str
    category: str
    unit: str
    on: date
    vat_rate: Decimal
    list_net: Decimal
    list_gross: Decimal
    sale_net: Decimal | None
    sale_gross: Decimal | None
    promotion_id: int | None
    best_net: Decimal
    breakdown: list[PriceStep]


class RepriceRequest(ApiModel):
    """What to reprice: some products, some categories, or everything."""

    skus: Annotated[list[Target], msgspec.Meta(max_length=10_000)] = []
    categories: Annotated[list[Target], msgspec.Meta(max_length=1_000)] = []
    everything: bool = False


class RepriceQueued(ApiModel):
    """The repricing was handed to the pricing actor."""

    queued: bool


def today() -> date:
    """Today in Europe/Bucharest."""
    return domain.business_date(datetime.now(UTC))


@api.post(
    "/api/v1/prices/quote",
    name="pricing.quote",
    roles=ALL_ROLES,
    summary="Price a cart",
    body=QuoteRequest,
    response=Quote,
    mutates=False,  # a computation: nothing to audit
)
async def quote(call: Call[QuoteRequest, None]) -> Quote:
    """Per line: unit net with its breakdown, net, VAT (per line, half up) and gross; totals are
    the sums of the lines. A B2B customer is priced at its own tier and sees no cost or margin in
    the breakdown. Unknown or inactive SKUs are a 422 naming them."""
    body = call.body
    rt = runtime(call)
    customer, tier = await _customer_and_tier(call, body)
    on = body.on or today()
    sheets = await rt.sheets([line.sku for line in body.lines])
    lines = [CartLine(sku=line.sku, quantity=line.quantity) for line in body.lines]
    try:
        cart = domain.price_cart(sheets, tier, lines, on)
    except domain.CartError as exc:
        unknown = any(p.field == "sku" for p in exc.problems)
        details = [
            FieldError(field=f"lines[{p.index}].{p.field}", message=p.message) for p in exc.problems
        ]
        raise ApiError(
            422, "unknown_sku" if unknown else "invalid_quantity", str(exc), details=details
        ) from None
    priced = list(cart.lines)
    if call.customer_scope is not None:  # the cost and margins are the shop's business
        priced = [domain.line_for_customer(x) for x in priced]
    return Quote(customer_id=customer, tier=tier, on=on, lines=priced, totals=cart.totals)


async def _customer_and_tier(
    call: Call[QuoteRequest, None], body: QuoteRequest
) -> tuple[str | None, int]:
    own = call.customer_scope
    if own is not None:  # a B2B customer: its own tier, nobody else's
        if body.customer_id not in (None, own):
            raise ApiError(404, "not_found", "no customer with this id")
        if body.tier is not None:
            raise ApiError(403, "forbidden", "a customer is priced at its own tier: leave out tier")
        return own, await runtime(call).tier(own)
    if body.tier is not None:
        return body.customer_id, body.tier
    if body.customer_id is not None:
        return body.customer_id, await runtime(call).tier(body.customer_id)
    return None, 0


@api.get(
    "/api/v1/prices/{sku}",
    name="pricing.prices.get",
    roles={*STAFF, Role.service},
    summary="A product's list price and best price",
    query=PriceQuery,
    response=ProductPrice,
)
async def product_price(call: Call[None, PriceQuery]) -> ProductPrice:
    """Tier 0, quantity 1, on ``on`` (default today): the list price, the promotional price if
    one is lower, and the breakdown of the best price."""
    sku = call.param("sku")
    on = call.query.on or today()
    sheets = await runtime(call).sheets([sku]) if len(sku) <= 64 else {}
    sheet = sheets.get(sku)
    listed = domain.list_price(sheet, on) if sheet else None
    if sheet is None or listed is None:
        raise NotFound(f"no active product {sku[:64]!r}")
    best = domain.price_line(sheet.input, 0, domain.ONE, sheet.rules, on)
    return ProductPrice(
        sku=sku,
        category=sheet.input.category,
        unit=sheet.input.unit,
        on=on,
        vat_rate=listed.vat_rate,
        list_net=listed.list_net,
        list_gross=listed.list_gross,
        sale_net=listed.sale_net,
        sale_gross=listed.sale_gross,
        promotion_id=listed.promotion_id,
        best_net=best.unit_net,
        breakdown=list(best.breakdown),
    )


@api.post(
    "/api/v1/pricing/reprice",
    name="pricing.reprice",
    roles={Role.admin},
    summary="Reprice products now",
    body=RepriceRequest,
    response=RepriceQueued,
    status=202,
    entity="pricing",
)
async def reprice(call: Call[RepriceRequest, None]) -> RepriceQueued:
    """Recompute and store list prices (one PriceChanged per product whose price changed), e.g.
    after changing the ``min_margin`` setting. The pricing actor does it in the background."""
    body = call.body
    if not (body.skus or body.categories or body.everything):
        raise ApiError(400, "validation_error", "name skus, categories, or everything=true")
    async with call.transaction():
        call.audit(entity_id="list_prices", after=msgspec.structs.asdict(body))
        call.emit(
            RepriceProducts(
                reason=f"manual ({call.actor})",
                skus=tuple(body.skus),
                categories=tuple(body.categories),
                everything=body.everything,
            )
        )
    await runtime(call).cache.bump()
    return RepriceQueued(queued=True)

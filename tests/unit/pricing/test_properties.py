"""Properties of the price formula over generated products, rules, tiers, quantities and carts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.pricing import domain
from actors.pricing.messages import CartLine
from actors.pricing.rules import PriceInput, PriceSheet, Promotion, SkuRules, VolumeBreak

D = Decimal
DAY0 = date(2025, 7, 20)  # the VAT change (2025-08-01) falls inside the generated dates


def money(lo: str, hi: str, places: int = 4) -> st.SearchStrategy[Decimal]:
    return st.decimals(D(lo), D(hi), places=places, allow_nan=False, allow_infinity=False)


days = st.integers(0, 30).map(lambda n: DAY0 + timedelta(days=n))
quantities = money("0.001", "100000", 3)
tiers = st.sampled_from(sorted(domain.TIER_DISCOUNTS))


@st.composite
def inputs(draw: st.DrawFn, unit: str = "metre") -> PriceInput:
    return PriceInput(
        sku=draw(st.sampled_from(["A", "B", "C", "D"])),
        version=1,
        category="benzi-led",
        unit=unit,  # type: ignore[arg-type]
        cost=draw(money("0", "5000")),
        margin=draw(money("0", "2")),
        status="active",
    )


@st.composite
def promotions(draw: st.DrawFn) -> Promotion:
    kind = draw(st.sampled_from(["percent", "fixed"]))
    start = draw(days)
    return Promotion(
        id=draw(st.integers(1, 1000)),
        name="p",
        scope="category",
        target="benzi-led",
        kind=kind,
        value=draw(money("0.0001", "0.9999") if kind == "percent" else money("0.01", "20000")),
        valid_from=start,
        valid_to=start + timedelta(days=draw(st.integers(0, 10))),
    )


breaks = st.builds(
    VolumeBreak,
    id=st.integers(1, 1000),
    scope=st.just("category"),
    target=st.just("benzi-led"),
    min_quantity=money("0.001", "1000", 3),
    discount=money("0", "0.9", 4),
)


@st.composite
def rule_sets(draw: st.DrawFn) -> SkuRules:
    return SkuRules(
        min_margin=draw(money("0", "0.5")),
        min_margin_id=draw(st.none() | st.integers(1, 9)),
        volume_breaks=tuple(draw(st.lists(breaks, max_size=5, unique_by=lambda b: b.id))),
        promotions=tuple(draw(st.lists(promotions(), max_size=3, unique_by=lambda p: p.id))),
    )


@settings(max_examples=300)
@given(inputs(), tiers, quantities, rule_sets(), days)
def test_a_price_is_never_below_the_margin_floor(
    item: PriceInput, tier: int, qty: Decimal, rules: SkuRules, on: date
) -> None:
    line = domain.price_line(item, tier, qty, rules, on)
    assert line.unit_net >= item.cost * (1 + rules.min_margin)


@settings(max_examples=300)
@given(inputs(), st.lists(tiers, min_size=2, max_size=2), quantities, rule_sets(), days)
def test_a_higher_tier_never_pays_more(
    item: PriceInput, pair: list[int], qty: Decimal, rules: SkuRules, on: date
) -> None:
    low, high = sorted(pair)
    assert (
        domain.price_line(item, high, qty, rules, on).unit_net
        <= domain.price_line(item, low, qty, rules, on).unit_net
    )


@settings(max_examples=300)
@given(inputs(), tiers, st.lists(quantities, min_size=2, max_size=2), rule_sets(), days)
def test_a_larger_quantity_never_pays_more_per_unit(
    item: PriceInput, tier: int, pair: list[Decimal], rules: SkuRules, on: date
) -> None:
    few, many = sorted(pair)
    assert (
        domain.price_line(item, tier, many, rules, on).unit_net
        <= domain.price_line(item, tier, few, rules, on).unit_net
    )


@settings(max_examples=300)
@given(inputs(), tiers, quantities, rule_sets(), days)
def test_the_breakdown_multiplies_out_to_the_unit_price(
    item: PriceInput, tier: int, qty: Decimal, rules: SkuRules, on: date
) -> None:
    line = domain.price_line(item, tier, qty, rules, on)
    base, tier_step, volume, promo, floor, rounding = line.breakdown
    assert [s.step for s in line.breakdown] == [
        "base",
        "tier",
        "volume",
        "promotion",
        "floor",
        "rounding",
    ]
    assert base.amount == item.cost * (1 + item.margin)
    assert tier_step.rate is not None and volume.rate is not None
    assert tier_step.amount == base.amount * (1 - tier_step.rate)
    assert volume.amount == tier_step.amount * (1 - volume.rate)
    if promo.applied:
        chosen = next(p for p in rules.promotions if p.id == promo.rule_id)
        expected = base.amount * (1 - chosen.value) if chosen.kind == "percent" else chosen.value
        assert promo.amount == expected < volume.amount
        assert chosen.active_on(on)
    else:
        assert promo.amount == volume.amount
    minimum = item.cost * (1 + rules.min_margin)
    assert floor.amount == max(promo.amount, minimum)
    assert floor.rule_id == rules.min_margin_id
    # The rounding step: half up to the cent, or up to the floor's next cent.
    assert rounding.amount == line.unit_net
    assert abs(line.unit_net - floor.amount) <= D("0.005") or line.unit_net == minimum.quantize(
        D("0.01"), rounding=ROUND_CEILING
    )


@st.composite
def carts(draw: st.DrawFn) -> tuple[dict[str, PriceSheet], list[CartLine]]:
    sheets: dict[str, PriceSheet] = {}
    for sku in ("A", "B", "C", "D"):
        item = draw(inputs())
        sheets[sku] = PriceSheet(
            input=PriceInput(
                **{**{f: getattr(item, f) for f in item.__struct_fields__}, "sku": sku}
            ),
            rules=draw(rule_sets()),
        )
    lines = draw(
        st.lists(
            st.builds(CartLine, sku=st.sampled_from(sorted(sheets)), quantity=quantities),
            min_size=1,
            max_size=40,
        )
    )
    return sheets, lines


@settings(max_examples=200)
@given(carts(), tiers, days)
def test_cart_totals_have_no_cent_drift(
    cart: tuple[dict[str, PriceSheet], list[CartLine]], tier: int, on: date
) -> None:
    sheets, lines = cart
    priced = domain.price_cart(sheets, tier, lines, on)
    for line in priced.lines:
        assert line.line_net == domain.round_money(line.unit_net * line.quantity)
        assert line.line_vat == domain.round_money(line.line_net * line.vat_rate)
        assert line.line_gross == line.line_net + line.line_vat
        assert line.vat_rate == domain.vat_rate(on)
        for amount in (line.unit_net, line.line_net, line.line_vat):
            assert amount == amount.quantize(D("0.01"))
    assert priced.totals.vat == sum(x.line_vat for x in priced.lines)
    assert priced.totals.net == sum(x.line_net for x in priced.lines)
    assert priced.totals.gross == priced.totals.net + priced.totals.vat
    assert priced.totals.gross == sum(x.line_gross for x in priced.lines)

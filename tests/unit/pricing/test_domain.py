"""The price formula on worked examples: tiers, volume ladders, promotions, floor, VAT, carts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import msgspec
import pytest

from actors.pricing import domain
from actors.pricing.messages import CartLine
from actors.pricing.rules import RuleBook
from hub.errors import DomainError
from tests.unit.pricing.factories import (
    MIN_MARGIN,
    D,
    item,
    margin,
    promo,
    rules_for,
    sheet,
    vbreak,
)

ON = date(2026, 11, 28)
STRIP_LADDER = [vbreak(1, "10", "0.05"), vbreak(2, "50", "0.08"), vbreak(3, "100", "0.12")]


def unit(it=None, tier=0, qty="1", on=ON, **rules):  # type: ignore[no-untyped-def]
    it = it or item()
    return domain.price_line(it, tier, D(qty), rules_for(it, **rules), on)


# --- VAT ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "rate"),
    [
        (date(2016, 12, 31), "0.20"),
        (date(2017, 1, 1), "0.19"),
        (date(2025, 7, 31), "0.19"),
        (date(2025, 8, 1), "0.21"),
        (date(2030, 1, 1), "0.21"),
    ],
)
def test_vat_rate_follows_the_supply_date(day: date, rate: str) -> None:
    assert domain.vat_rate(day) == D(rate)


def test_no_vat_rate_before_the_table_starts() -> None:
    with pytest.raises(DomainError, match="no VAT rate"):
        domain.vat_rate(date(2009, 1, 1))


def test_a_line_supplied_on_31_july_2025_takes_19_percent_and_on_1_august_21() -> None:
    before = unit(on=date(2025, 7, 31), qty="3")
    after = unit(on=date(2025, 8, 1), qty="3")
    assert (
        (before.unit_net, before.line_net)
        == (after.unit_net, after.line_net)
        == (
            D("13.50"),
            D("40.50"),
        )
    )
    assert (before.vat_rate, before.line_vat, before.line_gross) == (
        D("0.19"),
        D("7.70"),
        D("48.20"),
    )
    assert (after.vat_rate, after.line_vat, after.line_gross) == (
        D("0.21"),
        D("8.51"),
        D("49.01"),
    )


def test_business_date_is_the_day_in_bucharest() -> None:
    assert domain.business_date(datetime(2026, 11, 27, 22, 30, tzinfo=UTC)) == date(2026, 11, 28)
    assert domain.business_date(datetime(2026, 7, 31, 20, 59, tzinfo=UTC)) == date(2026, 7, 31)
    assert domain.business_date(datetime(2026, 7, 31, 21, 0, tzinfo=UTC)) == date(2026, 8, 1)


# --- the formula ---------------------------------------------------------------------------------


def test_net_price_is_cost_times_margin_times_tier_and_volume_discounts() -> None:
    line = unit(tier=2, qty="60", breaks=STRIP_LADDER)
    # 10 * 1.35 * 0.90 * 0.92 = 11.178
    assert line.unit_net == D("11.18")
    assert line.line_net == D("670.80")
    steps = {s.step: s for s in line.breakdown}
    assert [s.step for s in line.breakdown] == [
        "base",
        "tier",
        "volume",
        "promotion",
        "floor",
        "rounding",
    ]
    assert steps["base"].amount == D("13.50")
    assert (steps["tier"].rate, steps["tier"].amount) == (D("0.10"), D("12.15"))
    assert (steps["volume"].rule_id, steps["volume"].amount) == (2, D("11.178"))
    assert not steps["promotion"].applied and not steps["floor"].applied
    assert steps["rounding"].amount == D("11.18")


@pytest.mark.parametrize(
    ("tier", "price"), [(0, "13.50"), (1, "12.83"), (2, "12.15"), (3, "11.48")]
)
def test_tiers_take_0_5_10_15_percent(tier: int, price: str) -> None:
    line = unit(tier=tier)
    assert line.unit_net == D(price)
    assert line.breakdown[1].rate == domain.TIER_DISCOUNTS[tier]


def test_volume_discount_is_the_best_break_the_quantity_reaches() -> None:
    assert unit(qty="9.999", breaks=STRIP_LADDER).unit_net == D("13.50")
    assert unit(qty="10", breaks=STRIP_LADDER).unit_net == D("12.83")  # 12.825 half up
    assert unit(qty="100", breaks=STRIP_LADDER).unit_net == D("11.88")


def test_a_misordered_ladder_never_makes_more_units_dearer() -> None:
    ladder = [vbreak(1, "10", "0.10"), vbreak(2, "50", "0.05")]
    assert unit(qty="60", breaks=ladder).breakdown[2].rule_id == 1


def test_a_product_ladder_replaces_its_category_ladder() -> None:
    own = [vbreak(10, "100", "0.03", scope="sku", target="LED-1")]
    line = unit(qty="60", breaks=[*STRIP_LADDER, *own])
    assert line.unit_net == D("13.50")  # the category's >= 50 does not apply any more
    assert unit(qty="100", breaks=[*STRIP_LADDER, *own]).breakdown[2].rule_id == 10
    other = item("LED-2")
    assert unit(other, qty="60", breaks=[*STRIP_LADDER, *own]).breakdown[2].rule_id == 2


def test_the_lowest_valid_promotion_wins_over_the_regular_price() -> None:
    promotions = [promo(1, "0.10"), promo(2, "11.00", kind="fixed", scope="sku", target="LED-1")]
    line = unit(promotions=promotions)
    assert line.unit_net == D("11.00")
    step = line.breakdown[3]
    assert (step.applied, step.rule_id, step.note) == (True, 2, "promo 2")


def test_a_promotion_does_not_add_to_the_tier_discount() -> None:
    line = unit(tier=3, promotions=[promo(1, "0.10")])  # tier 3: 11.475 < 12.15
    assert line.unit_net == D("11.48")
    assert line.breakdown[3].applied is False and line.breakdown[3].rule_id == 1


def test_a_promotion_is_valid_on_both_end_days_only() -> None:
    p = promo(1, "0.20", valid_from=date(2026, 11, 27), valid_to=date(2026, 11, 28))
    assert unit(on=date(2026, 11, 26), promotions=[p]).unit_net == D("13.50")
    assert unit(on=date(2026, 11, 27), promotions=[p]).unit_net == D("11.00")
    assert unit(on=date(2026, 11, 28), promotions=[p]).unit_net == D("11.00")
    assert unit(on=date(2026, 11, 29), promotions=[p]).unit_net == D("13.50")


def test_no_discount_goes_below_the_margin_floor() -> None:
    line = unit(promotions=[promo(1, "5.00", kind="fixed")])
    assert line.unit_net == D("11.00")  # floor 10 * 1.10
    floor = line.breakdown[4]
    assert (floor.applied, floor.rate, floor.rule_id) == (True, MIN_MARGIN, None)


def test_a_product_floor_beats_its_category_floor_and_the_setting() -> None:
    margins = [margin(1, "0.20"), margin(2, "0.25", scope="sku", target="LED-1")]
    line = unit(promotions=[promo(1, "1.00", kind="fixed")], margins=margins)
    assert line.unit_net == D("12.50")
    assert line.breakdown[4].rule_id == 2
    other = unit(item("LED-2"), promotions=[promo(1, "1.00", kind="fixed")], margins=margins)
    assert (other.unit_net, other.breakdown[4].rule_id) == (D("12.00"), 1)


def test_a_floor_between_cents_is_rounded_up_not_down() -> None:
    it = item(cost=D("10.0003"))
    line = unit(it, promotions=[promo(1, "1.00", kind="fixed")])
    assert line.unit_net == D("11.01")  # floor 11.00033: 11.00 would be under it


def test_a_base_under_the_floor_is_raised_to_it() -> None:
    line = unit(item(margin=D("0.05")))
    assert line.unit_net == D("11.00")


def test_a_customer_sees_its_discounts_but_not_the_cost_or_the_margins() -> None:
    margins = [margin(7, "0.25", scope="sku", target="LED-1")]
    line = unit(tier=1, qty="50", breaks=STRIP_LADDER, margins=margins)
    seen = domain.line_for_customer(line)
    for staff, customer in zip(line.breakdown, seen.breakdown, strict=True):
        if staff.step in ("base", "floor"):  # margin, "cost 10.00", min margin, "floor 12.50"
            assert (customer.rate, customer.rule_id, customer.note) == (None, None, None)
            assert (customer.amount, customer.applied) == (staff.amount, staff.applied)
        else:  # tier 1, the volume break reached: the customer's own terms
            assert customer == staff
    assert line.breakdown[0].note == "cost 10.00" and line.breakdown[4].rule_id == 7
    assert msgspec.structs.replace(seen, breakdown=line.breakdown) == line


def test_line_net_rounds_the_metres_and_vat_is_per_line() -> None:
    line = unit(item(cost=D("3.33")), qty="2.345")
    # unit 3.33 * 1.35 = 4.4955 -> 4.50; 4.50 * 2.345 = 10.5525 -> 10.55; VAT 2.2155 -> 2.22
    assert (line.unit_net, line.line_net, line.line_vat, line.line_gross) == (
        D("4.50"),
        D("10.55"),
        D("2.22"),
        D("12.77"),
    )


# --- carts ------------------------------------------------------------------------------------


def test_cart_totals_are_the_sums_of_the_lines() -> None:
    sheets = {s: sheet(item(s, cost=D(c))) for s, c in [("A", "1.11"), ("B", "2.22"), ("C", "7")]}
    lines = [CartLine(sku=s, quantity=D(q)) for s, q in [("A", "3"), ("B", "1.5"), ("C", "1")]]
    cart = domain.price_cart(sheets, 0, lines, ON)
    assert cart.totals.net == sum(x.line_net for x in cart.lines)
    assert cart.totals.vat == sum(x.line_vat for x in cart.lines)
    assert cart.totals.gross == cart.totals.net + cart.totals.vat


def test_a_cart_with_unknown_or_inactive_skus_names_them() -> None:
    sheets = {"A": sheet(item("A")), "OLD": sheet(item("OLD", status="discontinued"))}
    lines = [CartLine(sku=s, quantity=D(1)) for s in ("A", "OLD", "NOPE")]
    with pytest.raises(domain.CartError) as caught:
        domain.price_cart(sheets, 0, lines, ON)
    assert caught.value.skus == ("OLD", "NOPE")
    assert str(caught.value) == "unknown or inactive SKU: OLD, NOPE"
    assert [p.index for p in caught.value.problems] == [1, 2]


@pytest.mark.parametrize(
    ("qty", "unit_kind", "message"),
    [
        ("0", "metre", "must be more than 0"),
        ("100000.001", "metre", "at most 100000"),
        ("1.0001", "metre", "more than 3 decimals"),
        ("1.5", "piece", "sold by the piece"),
    ],
)
def test_impossible_quantities_are_refused(qty: str, unit_kind: str, message: str) -> None:
    sheets = {"A": sheet(item("A", unit=unit_kind))}
    with pytest.raises(domain.CartError, match=message):
        domain.price_cart(sheets, 0, [CartLine(sku="A", quantity=D(qty))], ON)


def test_a_whole_quantity_written_with_zeros_is_accepted() -> None:
    sheets = {"A": sheet(item("A", unit="piece"))}
    cart = domain.price_cart(sheets, 0, [CartLine(sku="A", quantity=D("2.0000"))], ON)
    assert cart.lines[0].line_net == D("27.00")


def test_more_than_200_lines_are_refused() -> None:
    sheets = {"A": sheet(item("A"))}
    with pytest.raises(domain.CartError, match="1 to 200 lines"):
        domain.price_cart(sheets, 0, [CartLine(sku="A", quantity=D(1))] * 201, ON)


# --- list prices and the repricing diff ---------------------------------------------------------


def test_list_price_is_tier_0_quantity_1_with_the_promotional_price_beside_it() -> None:
    s = sheet(item(), promotions=[promo(4, "0.10")], breaks=STRIP_LADDER)
    price = domain.list_price(s, ON)
    assert price is not None
    assert (price.list_net, price.sale_net, price.promotion_id) == (D("13.50"), D("12.15"), 4)
    assert (price.list_gross, price.sale_gross) == (D("16.34"), D("14.70"))
    assert domain.list_price(sheet(item(status="draft")), ON) is None


def test_price_changes_are_only_the_skus_whose_price_moved() -> None:
    on = ON
    old = domain.list_prices([sheet(item(s)) for s in ("A", "B", "C")], on)
    new = domain.list_prices(
        [sheet(item("A")), sheet(item("B", cost=D("11"))), sheet(item("C")), sheet(item("D"))],
        on,
    )
    changes = domain.price_changes(old, new)
    assert [(c.new.sku, c.old.list_net if c.old else None) for c in changes] == [
        ("B", D("13.50")),
        ("D", None),
    ]


def test_a_promotion_starting_is_a_price_change() -> None:
    p = promo(1, "0.10", valid_from=date(2026, 11, 29))
    before = domain.list_prices([sheet(item(), promotions=[p])], date(2026, 11, 28))
    after = domain.list_prices([sheet(item(), promotions=[p])], date(2026, 11, 29))
    [change] = domain.price_changes(before, after)
    assert change.new.sale_net == D("12.15") and change.old is not None
    assert change.old.sale_net is None


def test_the_rule_book_resolves_like_resolve() -> None:
    it = item()
    breaks = [*STRIP_LADDER, vbreak(9, "5", "0.5", target="profile")]
    promotions = [promo(1, "0.1"), promo(2, "0.2", target="profile")]
    margins = [margin(1, "0.2"), margin(2, "0.3", target="profile")]
    book = RuleBook(breaks, promotions, margins, MIN_MARGIN)
    assert book.sheet(it).rules == rules_for(it, breaks, promotions, margins)
    assert [b.id for b in book.sheet(it).rules.volume_breaks] == [1, 2, 3]


def test_every_problem_of_a_cart_is_named_with_its_field() -> None:
    sheets = {"P": sheet(item("P", unit="piece"))}
    lines = [CartLine(sku="P", quantity=D("1.5")), CartLine(sku="NOPE", quantity=D(1))]
    with pytest.raises(domain.CartError) as caught:
        domain.price_cart(sheets, 0, lines, ON)
    assert str(caught.value) == "unknown or inactive SKU: NOPE"
    assert [(p.index, p.field) for p in caught.value.problems] == [(0, "quantity"), (1, "sku")]

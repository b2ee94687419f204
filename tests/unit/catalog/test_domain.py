"""The catalog's rules: values, products, families, diffs and all-or-nothing batches."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.catalog.categories import Category, category_problems, subtree_totals
from actors.catalog.demo import demo_catalog, demo_categories, demo_products
from actors.catalog.domain import (
    FIELDS,
    Decision,
    Product,
    Row,
    decide,
    diff,
    merge,
    product_problems,
    snapshot,
)
from actors.catalog.messages import Attributes, AttributesInput, ProductInput
from actors.catalog.rows import as_input
from actors.catalog.values import ean_check_digit, ean_problem, sku_problem

CATEGORIES = {"benzi-led", "surse-alimentare"}


def strip(sku: str = "BL24-144-40K", **kw: Any) -> Product:
    fields: dict[str, object] = {
        "sku": sku,
        "version": 3,
        "name": "Bandă LED 24V 14.4W/m 4000K IP20 (rolă 5m)",
        "ean": "5940000000011",
        "category": "benzi-led",
        "unit": "metre",
        "cost": Decimal("17.4600"),
        "margin": Decimal("0.3500"),
        "status": "active",
        "attributes": Attributes(power_w=Decimal("14.4"), cct_k=4000, ip_rating="IP20"),
    }
    fields.update(kw)
    return msgspec.convert(fields, Product)


def run(
    *changes: ProductInput,
    current: Sequence[Product] = (),
    owners: dict[str, str] | None = None,
) -> Decision:
    by_sku = {p.sku: p for p in current}
    eans = owners if owners is not None else {p.ean: p.sku for p in current if p.ean}
    rows = [Row(n, c) for n, c in enumerate(changes, 2)]
    return decide(rows, current=by_sku, categories=CATEGORIES, ean_owners=eans)


def problems_of(p: Product) -> dict[str, str]:
    return {pr.field: pr.message for pr in product_problems(p)}


# --- EAN ----------------------------------------------------------------------------------------

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_an_ean13_with_its_check_digit_is_valid(body: str) -> None:
    assert ean_problem(body + str(ean_check_digit(body))) is None


@given(st.text(alphabet="0123456789", min_size=7, max_size=7))
def test_an_ean8_with_its_check_digit_is_valid(body: str) -> None:
    assert ean_problem(body + str(ean_check_digit(body))) is None


@given(st.text(alphabet="0123456789", min_size=12, max_size=12), st.integers(0, 12), digits)
def test_any_single_wrong_digit_is_caught(body: str, position: int, digit: str) -> None:
    ean = body + str(ean_check_digit(body))
    typo = ean[:position] + digit + ean[position + 1 :]
    assert (ean_problem(typo) is None) == (typo == ean)


def test_real_eans_are_checked() -> None:
    assert ean_problem("5901234123457") is None  # GS1's own example
    assert ean_problem("96385074") is None  # an EAN-8
    assert ean_problem("5901234123458") == "check digit should be 7, not 8"
    assert ean_problem("590123412345") is not None  # 12 digits: a UPC, not an EAN
    assert ean_problem("59012341234\uff15") is not None  # a full-width 5: not ASCII


@pytest.mark.parametrize("sku", ["BL24-144-40K", "A1", "SA24.150_IP20", "X" * 40])
def test_valid_skus(sku: str) -> None:
    assert sku_problem(sku) is None


@pytest.mark.parametrize("sku", ["", "A", "-A1", "bl24", "A B", "X" * 41, "BĂ1"])
def test_invalid_skus(sku: str) -> None:
    assert sku_problem(sku) is not None


# --- one product --------------------------------------------------------------------------------


def test_a_valid_strip_has_no_problems() -> None:
    assert product_problems(strip()) == []


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("cost", Decimal("-0.01"), "must not be negative"),
        ("cost", Decimal("1.00001"), "must have at most 4 decimals"),
        ("cost", Decimal("NaN"), "must be a number"),
        ("cost", None, "is required"),
        ("margin", Decimal(10), "must be less than 10"),
        ("margin", Decimal("9.9999"), None),
        ("cost", Decimal(0), None),
        (
            "name",
            '=HYPERLINK("x")',
            "must not start with '=', '+' or '@' (it would run as a spreadsheet formula)",
        ),
        ("ean", "5940000000012", "check digit should be 1, not 2"),
    ],
)
def test_price_inputs_and_names_are_checked(field: str, value: Any, problem: str | None) -> None:
    assert problems_of(strip(**{field: value})).get(field) == problem


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"ip_rating": "IP70"}, "attributes.ip_rating"),
        ({"ip_rating": "IP6"}, "attributes.ip_rating"),
        ({"cct_k": 999}, "attributes.cct_k"),
        ({"cct_k": 10001}, "attributes.cct_k"),
        ({"voltage_v": 220}, "attributes.voltage_v"),
        ({"power_w": Decimal("120")}, "attributes.power_w"),  # W per metre: a strip cannot
        ({"power_w": Decimal("0")}, "attributes.power_w"),
        ({"cri": 101}, "attributes.cri"),
        ({"colour": "=1+1"}, "attributes.colour"),
    ],
)
def test_insane_attributes_are_refused(attributes: dict[str, object], field: str) -> None:
    assert field in problems_of(strip(attributes=Attributes(**attributes)))  # type: ignore[arg-type]


def test_the_power_limit_depends_on_the_unit() -> None:
    driver = strip(unit="piece", attributes=Attributes(power_w=Decimal(320), voltage_v=24))
    assert problems_of(driver) == {}
    assert "attributes.power_w" in problems_of(msgspec.structs.replace(driver, unit="metre"))


def test_a_family_has_no_price_and_a_product_needs_one() -> None:
    family = strip(sku="BL24-144", kind="family", cost=None, margin=None, ean=None)
    assert problems_of(family) == {}
    assert set(problems_of(msgspec.structs.replace(family, cost=Decimal(1)))) == {"cost"}
    assert set(problems_of(strip(cost=None, margin=None))) == {"cost", "margin"}


def test_merge_changes_only_what_is_given_and_null_clears() -> None:
    change = ProductInput(
        sku="BL24-144-40K",
        cost=Decimal("18.5"),
        ean=None,
        attributes=AttributesInput(cct_k=3000, ip_rating=" ip65 "),
    )
    merged, problems = merge(strip(), change)
    assert problems == []
    assert merged is not None
    assert merged.cost == Decimal("18.5000") and str(merged.cost) == "18.5000"
    assert merged.ean is None
    assert merged.attributes == Attributes(power_w=Decimal("14.4"), cct_k=3000, ip_rating="IP65")
    assert merged.name == strip().name


def test_a_new_product_needs_a_name_and_a_category() -> None:
    merged, problems = merge(None, ProductInput(sku="NEW1", cost=Decimal(1), margin=Decimal(1)))
    assert merged is None
    assert {p.field for p in problems} == {"name", "category"}


def test_diff_names_the_changed_fields_and_ignores_trailing_zeros() -> None:
    old = strip()
    assert diff(old, msgspec.structs.replace(old, cost=Decimal("17.46"))) == ()
    new = msgspec.structs.replace(old, margin=Decimal("0.4"), status="discontinued")
    assert diff(old, new) == ("margin", "status")


def test_a_snapshot_lists_the_changes_pricing_needs_and_families_have_none() -> None:
    snap = snapshot(strip(), ("cost", "kind"))
    assert snap.changed == ("cost",)
    assert (snap.sku, snap.version, snap.cost, snap.unit) == (
        "BL24-144-40K",
        3,
        Decimal("17.4600"),
        "metre",
    )
    with pytest.raises(ValueError, match="family"):
        snapshot(strip(kind="family", cost=None, margin=None), ())


# --- batches ------------------------------------------------------------------------------------


def new(sku: str, **kw: object) -> ProductInput:
    fields: dict[str, object] = {
        "sku": sku,
        "name": f"Sursă alimentare {sku}",
        "category": "surse-alimentare",
        "cost": "40",
        "margin": "0.3",
    }
    fields.update(kw)
    return msgspec.convert(fields, ProductInput, strict=False)


def test_a_batch_with_one_bad_row_changes_nothing_and_names_the_row() -> None:
    decision = run(new("SA1"), new("SA2", cost="-1"), new("SA3", category="nope"))
    assert decision.changes == ()
    assert [(e.row, e.field, e.sku) for e in decision.errors] == [
        (3, "cost", "SA2"),
        (4, "category", "SA3"),
    ]


def test_a_good_batch_creates_at_version_1_and_bumps_changed_products() -> None:
    decision = run(
        new("SA1"),
        ProductInput(sku="bl24-144-40k", margin=Decimal("0.5")),
        ProductInput(
            sku="BL24-144-40K-X", name="x", category="benzi-led", cost=Decimal(1), margin=Decimal(1)
        ),
        current=[
            strip(),
            strip(sku="BL24-144-40K-X", ean=None, name="x", cost=Decimal(1), margin=Decimal(1)),
        ],
    )
    assert decision.errors == ()
    assert [(c.after.sku, c.after.version, c.changed) for c in decision.changes] == [
        ("SA1", 1, FIELDS),
        ("BL24-144-40K", 4, ("margin",)),
    ]
    assert decision.unchanged == 1


def test_a_sku_twice_in_one_batch_is_refused() -> None:
    decision = run(new("SA1"), new("sa1"))
    assert [(e.row, e.code) for e in decision.errors] == [(3, "duplicate")]


def test_a_stale_version_is_a_conflict_naming_the_current_one() -> None:
    decision = run(ProductInput(sku="BL24-144-40K", version=2, cost=Decimal(1)), current=[strip()])
    [error] = decision.errors
    assert (error.code, error.field) == ("version_conflict", "version")
    assert "at version 3" in error.message


def test_variants_need_a_family_which_may_come_in_the_same_batch() -> None:
    variant = new("SA1", parent_sku="SA-FAM")
    family = new("SA-FAM", kind="family", cost=None, margin=None)
    assert run(variant, family).errors == ()
    [error] = run(variant).errors
    assert (error.field, error.message) == ("parent_sku", "no family SA-FAM")
    [error] = run(new("SA1", parent_sku="SA2"), new("SA2")).errors
    assert error.message == "SA2 is a product, not a family"


def test_the_kind_of_a_product_never_changes() -> None:
    [error] = run(ProductInput(sku="BL24-144-40K", kind="family"), current=[strip()]).errors
    assert error.field == "kind"


def test_an_ean_belongs_to_one_product_but_two_may_swap_theirs() -> None:
    a = strip(sku="A1", ean="5940000000011")
    b = strip(sku="B1", ean="5940000000028")
    [error] = run(new("SA1", ean="5940000000011"), current=[a, b]).errors
    assert error.message == "EAN 5940000000011 is already used by A1"
    swap = run(
        ProductInput(sku="A1", ean="5940000000028"),
        ProductInput(sku="B1", ean="5940000000011"),
        current=[a, b],
    )
    assert swap.errors == () and len(swap.changes) == 2


def test_categories_are_checked_and_counted_through_the_tree() -> None:
    existing = {"corpuri-iluminat"}
    assert (
        category_problems(
            Category(code="spoturi", name="Spoturi", parent="corpuri-iluminat"), existing
        )
        == []
    )
    fields = {
        p.field for p in category_problems(Category(code="X", name="", parent="nu"), existing)
    }
    assert fields == {"code", "name", "parent"}
    parents = {"a": None, "b": "a", "c": "b", "d": None}
    assert subtree_totals(parents, {"a": 1, "b": 2, "c": 4, "d": 8}) == {
        "a": 7,
        "b": 6,
        "c": 4,
        "d": 8,
    }


def test_the_demo_catalog_passes_every_rule() -> None:
    catalog = demo_catalog()
    rows = [Row(n, as_input(p)) for n, p in enumerate(catalog, 1)]
    codes = {c.code for c in demo_categories()}
    decision = decide(rows, current={}, categories=codes, ean_owners={})
    assert decision.errors == ()
    products = demo_products()
    assert 250 <= len(products) <= 350
    assert all(Decimal(5) <= p.cost <= Decimal(600) for p in products)
    assert all(Decimal("0.25") <= p.margin <= Decimal("0.60") for p in products)
    assert {p.unit for p in products if p.category.startswith("benzi")} == {"metre"}
    assert demo_products() == products  # deterministic

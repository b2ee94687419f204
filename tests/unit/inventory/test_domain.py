"""The inventory's pure rules: allocation by priority, shortages, movements, published figures."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.inventory import domain
from actors.inventory.domain import Level, Movement
from actors.inventory.messages import Allocation, IssueLine, Shortage
from hub.errors import DomainError

WAREHOUSES = (("HQ", 1), ("W2", 2), ("W3", 3))
quantities = st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False)
positive = st.decimals(min_value=D("0.001"), max_value=1000, places=3, allow_nan=False)
skus = st.sampled_from(["A", "B", "C"])


@st.composite
def stock(draw: st.DrawFn) -> dict[tuple[str, str], Level]:
    """Levels of SKUs A, B, C in the three warehouses, reserved never above on hand."""
    out = {}
    for sku in ("A", "B", "C"):
        for wh, priority in WAREHOUSES:
            on_hand = draw(quantities)
            reserved = draw(st.decimals(min_value=0, max_value=on_hand, places=3))
            out[(sku, wh)] = Level(
                sku=sku, warehouse=wh, priority=priority, on_hand=on_hand, reserved=reserved
            )
    return out


wanted = st.dictionaries(skus, positive, min_size=1, max_size=3)


@given(stock(), wanted)
def test_allocation_never_takes_more_than_a_warehouse_has(
    levels: dict[tuple[str, str], Level], want: dict[str, D]
) -> None:
    for a in domain.allocate(want, levels.values()):
        assert 0 < a.quantity <= levels[(a.sku, a.warehouse)].available


@given(stock(), wanted)
def test_allocated_plus_shortage_is_what_was_requested(
    levels: dict[tuple[str, str], Level], want: dict[str, D]
) -> None:
    held = domain.per_sku(domain.allocate(want, levels.values()))
    short = {s.sku: s for s in domain.shortages(want, held)}
    for sku, requested in want.items():
        got = held.get(sku, D(0))
        missing = short[sku].requested - short[sku].reserved if sku in short else D(0)
        assert got + missing == requested
        total = sum(lv.available for lv in levels.values() if lv.sku == sku)
        assert got == min(requested, total)  # nothing left behind that could be held


@given(stock(), wanted)
def test_a_lower_priority_warehouse_is_used_only_when_the_higher_ones_are_exhausted(
    levels: dict[tuple[str, str], Level], want: dict[str, D]
) -> None:
    allocations = domain.allocate(want, levels.values())
    taken = {(a.sku, a.warehouse): a.quantity for a in allocations}
    for a in allocations:
        used = levels[(a.sku, a.warehouse)].priority
        for wh, priority in WAREHOUSES:
            if priority < used:
                assert taken.get((a.sku, wh), D(0)) == levels[(a.sku, wh)].available


def test_a_line_is_split_across_warehouses_in_priority_order() -> None:
    levels = [
        Level(sku="A", warehouse="W3", priority=3, on_hand=D(10)),
        Level(sku="A", warehouse="HQ", priority=1, on_hand=D(5), reserved=D(4)),
        Level(sku="A", warehouse="W2", priority=2, on_hand=D("2.5")),
    ]
    assert domain.allocate({"A": D(5)}, levels) == [
        Allocation(sku="A", warehouse="HQ", quantity=D(1)),
        Allocation(sku="A", warehouse="W2", quantity=D("2.5")),
        Allocation(sku="A", warehouse="W3", quantity=D("1.5")),
    ]
    assert domain.shortages({"A": D(20)}, {"A": D(14)}) == [
        Shortage(sku="A", requested=D(20), reserved=D(14))
    ]


movements = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "issue", "transfer", "adjustment", "reservation", "release"]),
        skus,
        st.sampled_from(["HQ", "W2", "W3"]),
        positive,
        st.booleans(),
    ),
    max_size=30,
)


@given(stock(), movements)
def test_movements_never_oversell_and_stock_follows_the_ledger(
    levels: dict[tuple[str, str], Level], moves: list[tuple[str, str, str, D, bool]]
) -> None:
    current = dict(levels)
    on_hand = {k: lv.on_hand for k, lv in levels.items()}
    reserved = {k: lv.reserved for k, lv in levels.items()}
    for kind, sku, wh, quantity, up in moves:
        sign = 1 if kind in ("receipt", "reservation") or (up and kind != "issue") else -1
        if kind == "release":
            sign = -1
        m = Movement(
            kind=kind,  # type: ignore[arg-type]
            sku=sku,
            warehouse=wh,
            quantity=sign * quantity,
            reason="r",
            author="a",
        )
        try:
            current = domain.apply(current, [m])
        except DomainError:
            continue  # refused: nothing changed
        d_on_hand, d_reserved = domain.effect(m)
        on_hand[(sku, wh)] += d_on_hand
        reserved[(sku, wh)] += d_reserved
    for key, level in current.items():
        assert 0 <= level.reserved <= level.on_hand
        assert (level.on_hand, level.reserved) == (on_hand[key], reserved[key])


def test_a_movement_that_would_oversell_is_refused_with_the_figures() -> None:
    level = Level(sku="A", warehouse="HQ", priority=1, on_hand=D(5), reserved=D(4))
    with pytest.raises(DomainError, match=r"A in HQ: 1 available \(4 reserved of 5\)"):
        domain.apply(
            {("A", "HQ"): level},
            [
                Movement(
                    kind="adjustment",
                    sku="A",
                    warehouse="HQ",
                    quantity=D(-2),
                    reason="x",
                    author="u",
                )
            ],
        )
    with pytest.raises(DomainError, match="needs a reason"):
        domain.apply(
            {("A", "HQ"): level},
            [
                Movement(
                    kind="receipt", sku="A", warehouse="HQ", quantity=D(1), reason=" ", author="u"
                )
            ],
        )
    with pytest.raises(DomainError, match="a receipt of A cannot be -1"):
        domain.apply(
            {("A", "HQ"): level},
            [
                Movement(
                    kind="receipt", sku="A", warehouse="HQ", quantity=D(-1), reason="x", author="u"
                )
            ],
        )


@pytest.mark.parametrize(
    ("quantity", "unit", "error"),
    [
        (D("1.5"), None, None),
        (D("1.250"), "metre", None),
        (D("3"), "piece", None),
        (D("3.000"), "piece", None),
        (D("1.5"), "piece", "sold by the piece"),
        (D("0.0001"), None, "at most three decimals"),
        (D("0"), None, "greater than zero"),
        (D("-2"), None, "greater than zero"),
        (D("NaN"), None, "at most three decimals"),
        (D("Infinity"), None, "at most three decimals"),
        (D("1e12"), None, "too large"),
        (D("1e40"), None, "too large"),
    ],
)
def test_quantities_have_at_most_three_decimals_and_pieces_are_whole(
    quantity: D, unit: str | None, error: str | None
) -> None:
    if error is None:
        assert domain.check_quantity(quantity, sku="X", unit=unit) == quantity
    else:
        with pytest.raises(DomainError, match=error):
            domain.check_quantity(quantity, sku="X", unit=unit)


def test_lines_of_the_same_sku_are_added_up_and_bad_skus_refused() -> None:
    assert domain.check_lines([("B", D(1)), ("A", D(2)), ("B", D("0.5"))]) == {
        "A": D(2),
        "B": D("1.5"),
    }
    for sku in ("", " A", "x" * 65, "A\n"):
        with pytest.raises(DomainError, match="invalid SKU"):
            domain.check_lines([(sku, D(1))])
    with pytest.raises(DomainError, match="no lines"):
        domain.check_lines([])


@given(quantities, quantities)
def test_published_stock_is_available_minus_buffer_never_negative(available: D, buffer: D) -> None:
    published = domain.published(available, buffer)
    assert published >= 0
    assert published == max(D(0), available - buffer)


def test_low_stock_is_below_the_reorder_point() -> None:
    assert domain.is_low(D(4), D(5))
    assert not domain.is_low(D(5), D(5))
    assert not domain.is_low(D(0), None)


def test_an_issue_takes_from_the_held_stock_by_warehouse_or_priority() -> None:
    held = [
        Allocation(sku="A", warehouse="W2", quantity=D(3)),
        Allocation(sku="A", warehouse="HQ", quantity=D(2)),
        Allocation(sku="B", warehouse="W3", quantity=D(1)),
    ]
    priorities = {"HQ": 1, "W2": 2, "W3": 3}
    assert domain.plan_issue(held, priorities, None) == held
    assert domain.plan_issue(held, priorities, [IssueLine(sku="A", quantity=D(4))]) == [
        Allocation(sku="A", warehouse="HQ", quantity=D(2)),
        Allocation(sku="A", warehouse="W2", quantity=D(2)),
    ]
    assert domain.plan_issue(
        held, priorities, [IssueLine(sku="A", quantity=D(3), warehouse="W2")]
    ) == [Allocation(sku="A", warehouse="W2", quantity=D(3))]
    with pytest.raises(DomainError, match="cannot issue 3 of A in HQ: the reservation holds 2"):
        domain.plan_issue(held, priorities, [IssueLine(sku="A", quantity=D(3), warehouse="HQ")])
    with pytest.raises(DomainError, match="cannot issue 1 of C"):
        domain.plan_issue(held, priorities, [IssueLine(sku="C", quantity=D(1))])


def test_quantities_are_shown_without_trailing_zeros() -> None:
    assert str(domain.norm(D("5.000"))) == "5"
    assert str(domain.norm(D("2.500"))) == "2.5"
    assert str(domain.norm(D("100"))) == "100"
    assert str(domain.norm(D("0.000"))) == "0"

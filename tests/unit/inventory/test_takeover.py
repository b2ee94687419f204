"""Taking over a hold, without I/O: how a hold splits between the taker and the shelf, and the
movements of the hand-over (reserved stock unchanged where it moved)."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from actors.inventory import documents, domain
from actors.inventory.domain import Level
from actors.inventory.messages import Allocation

PRIORITIES = {"HQ": 1, "W2": 2, "W3": 3}
positive = st.decimals(min_value=D("0.001"), max_value=1000, places=3, allow_nan=False)
places = st.sampled_from([(s, w) for s in ("A", "B") for w in PRIORITIES])
holds = st.dictionaries(places, positive, max_size=6).map(
    lambda d: [Allocation(sku=s, warehouse=w, quantity=q) for (s, w), q in d.items()]
)
wants = st.dictionaries(st.sampled_from(["A", "B", "C"]), positive, max_size=3)


def a(sku: str, warehouse: str, quantity: str) -> Allocation:
    return Allocation(sku=sku, warehouse=warehouse, quantity=D(quantity))


def per_place(allocations: list[Allocation]) -> dict[tuple[str, str], D]:
    out: dict[tuple[str, str], D] = {}
    for x in allocations:
        out[(x.sku, x.warehouse)] = out.get((x.sku, x.warehouse), D(0)) + x.quantity
    return out


def test_a_hold_moves_from_the_highest_priority_warehouses_and_the_rest_is_surplus() -> None:
    held = [a("A", "W3", "4"), a("A", "HQ", "2"), a("B", "W2", "1"), a("C", "HQ", "5")]
    moved, surplus = domain.split_hold(held, {"A": D(3), "B": D(5)}, PRIORITIES)
    assert moved == [a("A", "HQ", "2"), a("A", "W3", "1"), a("B", "W2", "1")]
    assert surplus == [a("A", "W3", "3"), a("C", "HQ", "5")]


@given(holds, wants)
def test_a_split_hold_gives_every_unit_to_exactly_one_side_and_never_more_than_wanted(
    held: list[Allocation], want: dict[str, D]
) -> None:
    moved, surplus = domain.split_hold(held, want, PRIORITIES)
    assert all(x.quantity > 0 for x in [*moved, *surplus])
    assert per_place([*moved, *surplus]) == per_place(held)
    held_per_sku = domain.per_sku(held)
    for sku, q in domain.per_sku(moved).items():
        assert q == min(want.get(sku, D(0)), held_per_sku[sku])


def test_a_hand_over_keeps_reserved_stock_where_it_moved_and_frees_only_the_surplus() -> None:
    levels = {
        ("A", "HQ"): Level(sku="A", warehouse="HQ", priority=1, on_hand=D(5), reserved=D(3)),
        ("A", "W2"): Level(sku="A", warehouse="W2", priority=2, on_hand=D(2), reserved=D(2)),
    }
    movements = documents.hand_over(
        "quote:1",
        "order-1",
        [a("A", "HQ", "3")],
        [a("A", "W2", "2")],
        surplus_reason="taken over by order-1",
        author="user:7",
    )
    assert [(m.kind, m.warehouse, m.quantity, m.reference, m.reason) for m in movements] == [
        ("release", "HQ", D(-3), "quote:1", "handed over to order-1"),
        ("reservation", "HQ", D(3), "order-1", "taken over from quote:1"),
        ("release", "W2", D(-2), "quote:1", "taken over by order-1"),
    ]
    after = domain.apply(levels, movements)
    assert after[("A", "HQ")].reserved == 3
    assert after[("A", "W2")].reserved == 0

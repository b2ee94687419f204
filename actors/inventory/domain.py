"""The inventory's rules, without I/O: quantities, allocation by warehouse priority, shortages,
movements and their effect on stock, the figure published to the shop, low stock."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Literal

import msgspec

from actors.inventory.messages import Allocation, IssueLine, Shortage
from hub.errors import DomainError

ZERO = Decimal(0)
STEP = Decimal("0.001")
MAX_QUANTITY = Decimal("99999999999")  # numeric(14,3) holds 11 digits before the point
MAX_SKU = 64
MAX_LINES = 500

Kind = Literal["receipt", "issue", "transfer", "adjustment", "reservation", "release"]
ON_HAND_KINDS: frozenset[str] = frozenset({"receipt", "issue", "transfer", "adjustment"})
RESERVED_KINDS: frozenset[str] = frozenset({"reservation", "release", "issue"})


class Level(msgspec.Struct, frozen=True, kw_only=True):
    """Stock of one SKU in one warehouse."""

    sku: str
    warehouse: str
    priority: int
    on_hand: Decimal = ZERO
    reserved: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        """What can still be reserved here."""
        return self.on_hand - self.reserved


class Movement(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of the ledger: a signed quantity of one SKU in one warehouse."""

    kind: Kind
    sku: str
    warehouse: str
    quantity: Decimal
    reason: str
    author: str
    reference: str | None = None


def norm(value: Decimal) -> Decimal:
    """``5.000`` → ``5``, ``2.500`` → ``2.5`` (never ``5E+1``): how quantities are shown."""
    return Decimal(format(value.normalize(), "f")) if value else ZERO


def check_sku(sku: str) -> str:
    """A SKU: 1 to 64 printable characters without surrounding spaces."""
    if not sku or len(sku) > MAX_SKU or sku.strip() != sku or not sku.isprintable():
        raise DomainError(f"invalid SKU {sku!r}: 1 to {MAX_SKU} printable characters")
    return sku


def check_quantity(
    quantity: Decimal, *, sku: str = "", unit: str | None = None, allow_zero: bool = False
) -> Decimal:
    """A quantity > 0 (≥ 0 with ``allow_zero``) with at most three decimals; whole for pieces."""
    what = f" of {sku}" if sku else ""
    if quantity.is_finite() and abs(quantity) >= MAX_QUANTITY:
        raise DomainError(f"the quantity{what} {quantity} is too large")
    try:
        exact = quantity.is_finite() and quantity == quantity.quantize(STEP)
    except InvalidOperation:
        exact = False
    if not exact:
        raise DomainError(f"invalid quantity{what} {quantity}: at most three decimals")
    if quantity < 0 and allow_zero:
        raise DomainError(f"the quantity{what} must not be negative, got {quantity}")
    if quantity < 0 or (quantity == 0 and not allow_zero):
        raise DomainError(f"the quantity{what} must be greater than zero, got {quantity}")
    if unit == "piece" and quantity != quantity.to_integral_value():
        raise DomainError(f"{sku or 'this SKU'} is sold by the piece: {quantity} is not whole")
    return quantity


def merge(lines: Iterable[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Quantities per SKU, in SKU order (the same SKU on two lines is added up)."""
    total: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for sku, quantity in lines:
        total[sku] += quantity
    return dict(sorted(total.items()))


def check_lines(
    lines: Iterable[tuple[str, Decimal]], units: Mapping[str, str | None] | None = None
) -> dict[str, Decimal]:
    """Validated quantities per SKU of a command's lines (at least one, at most 500)."""
    listed = list(lines)
    if not listed:
        raise DomainError("there are no lines")
    if len(listed) > MAX_LINES:
        raise DomainError(f"too many lines: {len(listed)} (at most {MAX_LINES})")
    units = units or {}
    for sku, quantity in listed:
        check_quantity(quantity, sku=check_sku(sku), unit=units.get(sku))
    return merge(listed)


# --- reservations -----------------------------------------------------------------------------


def allocate(wanted: Mapping[str, Decimal], levels: Iterable[Level]) -> list[Allocation]:
    """Hold ``wanted`` per SKU from the warehouses in priority order, splitting a line when the
    first warehouse has too little; never more than a warehouse has available."""
    by_sku: dict[str, list[Level]] = defaultdict(list)
    for level in levels:
        by_sku[level.sku].append(level)
    out: list[Allocation] = []
    for sku in sorted(wanted):
        remaining = wanted[sku]
        for level in sorted(by_sku.get(sku, ()), key=lambda lv: lv.priority):
            if remaining <= 0:
                break
            take = min(remaining, level.available)
            if take > 0:
                out.append(Allocation(sku=sku, warehouse=level.warehouse, quantity=take))
                remaining -= take
    return out


def per_sku(allocations: Iterable[Allocation]) -> dict[str, Decimal]:
    """Total quantity per SKU."""
    return merge((a.sku, a.quantity) for a in allocations)


def missing(requested: Mapping[str, Decimal], served: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """What a reservation still lacks per SKU (requested - held - issued), where positive."""
    out = {sku: q - served.get(sku, ZERO) for sku, q in requested.items()}
    return {sku: q for sku, q in sorted(out.items()) if q > 0}


def shortages(requested: Mapping[str, Decimal], served: Mapping[str, Decimal]) -> list[Shortage]:
    """The SKUs a reservation could not fully hold, with what was asked and what it has."""
    return [
        Shortage(sku=sku, requested=norm(requested[sku]), reserved=norm(served.get(sku, ZERO)))
        for sku in missing(requested, served)
    ]


def merge_requests(
    before: Mapping[str, Decimal], asked: Mapping[str, Decimal]
) -> dict[str, Decimal]:
    """A repeated reservation asks for the larger of what it asked before and now, per SKU."""
    merged = dict(before)
    for sku, quantity in asked.items():
        merged[sku] = max(quantity, merged.get(sku, ZERO))
    return dict(sorted(merged.items()))


def split_hold(
    held: Sequence[Allocation], wanted: Mapping[str, Decimal], priorities: Mapping[str, int]
) -> tuple[list[Allocation], list[Allocation]]:
    """Split a hold being taken over into what moves (per SKU up to ``wanted``, from the
    highest-priority warehouses first) and the surplus, which goes back on the shelf."""
    left = dict(wanted)
    moved: list[Allocation] = []
    surplus: list[Allocation] = []
    for a in sorted(held, key=lambda a: (a.sku, priorities.get(a.warehouse, 1_000), a.warehouse)):
        take = min(a.quantity, max(left.get(a.sku, ZERO), ZERO))
        if take > 0:
            moved.append(Allocation(sku=a.sku, warehouse=a.warehouse, quantity=take))
            left[a.sku] -= take
        if a.quantity > take:
            surplus.append(Allocation(sku=a.sku, warehouse=a.warehouse, quantity=a.quantity - take))
    return moved, surplus


def plan_issue(
    held: Sequence[Allocation], priorities: Mapping[str, int], lines: Sequence[IssueLine] | None
) -> list[Allocation]:
    """What to take out of the held stock for a shipment: everything (``lines`` None), or each
    line from its warehouse, or by warehouse priority. Never more than is held."""
    if lines is None:
        return [a for a in held if a.quantity > 0]
    if not lines:
        raise DomainError("there are no lines to issue")
    left = {(a.sku, a.warehouse): a.quantity for a in held}
    out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for line in lines:
        check_quantity(line.quantity, sku=line.sku)
        places = sorted(
            (wh for sku, wh in left if sku == line.sku and (line.warehouse in (None, wh))),
            key=lambda wh: priorities.get(wh, 1_000),
        )
        remaining = line.quantity
        for wh in places:
            take = min(remaining, left[(line.sku, wh)])
            if take > 0:
                left[(line.sku, wh)] -= take
                out[(line.sku, wh)] += take
                remaining -= take
        if remaining > 0:
            where = f" in {line.warehouse}" if line.warehouse else ""
            raise DomainError(
                f"cannot issue {line.quantity} of {line.sku}{where}: "
                f"the reservation holds {line.quantity - remaining}"
            )
    return [Allocation(sku=s, warehouse=w, quantity=q) for (s, w), q in sorted(out.items())]


# --- movements and stock levels ---------------------------------------------------------------


def effect(m: Movement) -> tuple[Decimal, Decimal]:
    """What a movement does to (on hand, reserved) of its SKU in its warehouse."""
    if m.kind == "reservation":
        return ZERO, m.quantity
    if m.kind == "release":
        return ZERO, m.quantity
    if m.kind == "issue":
        return m.quantity, m.quantity
    return m.quantity, ZERO


def check_movement(m: Movement) -> None:
    """A movement has a reason, an author and the sign its kind implies."""
    if not m.reason.strip():
        raise DomainError("a stock movement needs a reason")
    if not m.author:
        raise DomainError("a stock movement needs an author")
    check_quantity(abs(m.quantity), sku=m.sku)
    positive = {"receipt", "reservation"}
    negative = {"issue", "release"}
    if (m.kind in positive and m.quantity < 0) or (m.kind in negative and m.quantity > 0):
        raise DomainError(f"a {m.kind} of {m.sku} cannot be {m.quantity}")


def apply(
    levels: Mapping[tuple[str, str], Level], movements: Iterable[Movement]
) -> dict[tuple[str, str], Level]:
    """Stock after ``movements``; refused when on hand would fall below zero or below what is
    reserved (stock is never oversold), or reserved below zero."""
    out = dict(levels)
    for m in movements:
        check_movement(m)
        level = out.get((m.sku, m.warehouse))
        if level is None:
            raise DomainError(f"unknown warehouse {m.warehouse!r} for {m.sku}")
        d_on_hand, d_reserved = effect(m)
        on_hand, reserved = level.on_hand + d_on_hand, level.reserved + d_reserved
        if on_hand < 0:
            raise DomainError(
                f"{m.sku} in {m.warehouse}: on hand {norm(level.on_hand)}, cannot take "
                f"{norm(-d_on_hand)}"
            )
        if reserved < 0:
            raise DomainError(f"{m.sku} in {m.warehouse}: cannot release more than is reserved")
        if reserved > on_hand:
            raise DomainError(
                f"{m.sku} in {m.warehouse}: {norm(level.available)} available "
                f"({norm(level.reserved)} reserved of {norm(level.on_hand)}), "
                f"not enough for this {m.kind}"
            )
        out[(m.sku, m.warehouse)] = msgspec.structs.replace(
            level, on_hand=on_hand, reserved=reserved
        )
    return out


def available(levels: Iterable[Level]) -> dict[str, Decimal]:
    """Available stock per SKU, summed over the warehouses."""
    return merge((lv.sku, lv.available) for lv in levels)


def published(available: Decimal, safety_buffer: Decimal) -> Decimal:
    """What the shop may sell: available - safety buffer, never negative."""
    return max(ZERO, available - safety_buffer)


def is_low(available: Decimal, reorder_point: Decimal | None) -> bool:
    """Below its reorder point (a SKU without one is never low)."""
    return reorder_point is not None and available < reorder_point


def stocktake(level: Level, counted: Decimal) -> Decimal:
    """The adjustment that brings on hand to what was counted."""
    return counted - level.on_hand

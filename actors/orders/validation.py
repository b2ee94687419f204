"""What makes a ``PlaceOrder`` acceptable before anything is stored. Pure: no I/O.

An order that fails here is not stored at all (nothing would be worth keeping: a duplicate SKU
or a non-positive quantity cannot even be written); the placer hears why in ``OrderRejected``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from actors.orders.identity import county_name, valid_cui
from actors.orders.messages import Address, PlaceOrder
from actors.pricing.messages import CartLine, PricedLine

MAX_LINES = 200
QUANTITY_DECIMALS = 3


def placement_problems(msg: PlaceOrder) -> list[str]:
    """Every reason the order cannot be placed (empty when it can)."""
    problems = line_problems(msg.lines)
    customer = msg.customer
    if customer.kind == "company":
        if not customer.cui:
            problems.append("a company needs its CUI")
        elif not valid_cui(customer.cui):
            problems.append(f"CUI {customer.cui!r} is not valid (its check digit does not match)")
    problems += address_problems("billing", msg.billing)
    if msg.shipping is not None:
        problems += address_problems("shipping", msg.shipping)
    if msg.priced is not None:
        problems += priced_problems(msg.lines, msg.priced)
    fee = msg.shipping_fee
    if fee is not None and (not fee.is_finite() or fee < 0 or int(fee.as_tuple().exponent) < -2):
        problems.append(f"shipping_fee must be a sum in lei and bani, 0 or more, got {fee}")
    return problems


def line_problems(lines: Sequence[CartLine]) -> list[str]:
    """At least one line and at most ``MAX_LINES``, each SKU once, quantities > 0 (3 decimals)."""
    if not lines:
        return ["an order needs at least one line"]
    if len(lines) > MAX_LINES:
        return [f"an order has at most {MAX_LINES} lines, got {len(lines)}"]
    problems: list[str] = []
    twice = [sku for sku, n in Counter(x.sku for x in lines).items() if n > 1]
    if twice:
        problems.append(f"SKU listed more than once: {', '.join(sorted(twice))}")
    for line in lines:
        if not quantity_ok(line.quantity):
            problems.append(
                f"quantity of {line.sku} must be more than 0, "
                f"with at most {QUANTITY_DECIMALS} decimals; got {line.quantity}"
            )
    return problems


def quantity_ok(quantity: Decimal) -> bool:
    """Finite, positive, at most three decimals."""
    return (
        quantity.is_finite()
        and quantity > 0
        and int(quantity.normalize().as_tuple().exponent) >= -QUANTITY_DECIMALS
    )


def norm(value: Decimal) -> Decimal:
    """``5.000`` → ``5``, ``2.500`` → ``2.5`` (never ``5E+1``): how quantities are shown."""
    return Decimal(format(value.normalize(), "f")) if value else Decimal(0)


def address_problems(which: str, address: Address) -> list[str]:
    """A Romanian address needs a real county (or a Bucharest sector)."""
    if address.country == "RO" and county_name(address.county) is None:
        return [
            f"{which} county {address.county!r} is not a Romanian county "
            "(in Bucharest: București or Sector 1 to 6)"
        ]
    return []


def priced_problems(lines: Sequence[CartLine], priced: Sequence[PricedLine]) -> list[str]:
    """Lines that came priced must be exactly the lines ordered (same SKUs, same quantities)."""
    asked = {x.sku: x.quantity for x in lines}
    given = {x.sku: x.quantity for x in priced}
    if len(given) != len(priced) or asked != given:
        return ["the priced lines do not match the ordered lines (SKUs and quantities)"]
    return []


def with_county(address: Address) -> Address:
    """The address with its county written properly ("bucuresti sector 3" → "Sector 3")."""
    name = county_name(address.county) if address.country == "RO" else None
    if name is None or name == address.county:
        return address
    return msgspec.structs.replace(address, county=name)

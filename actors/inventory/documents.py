"""Stock documents, without I/O: the movements a receipt, a transfer, an adjustment or a hold
changing hands makes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from actors.inventory.domain import Kind, Level, Movement, check_quantity, stocktake
from actors.inventory.messages import Allocation
from hub.errors import DomainError


def receipt(
    warehouse: str, lines: Mapping[str, Decimal], *, reason: str, author: str, reference: str
) -> list[Movement]:
    """Goods in: one receipt per SKU into ``warehouse``."""
    return [
        Movement(
            kind="receipt",
            sku=sku,
            warehouse=warehouse,
            quantity=q,
            reason=reason,
            author=author,
            reference=reference,
        )
        for sku, q in lines.items()
    ]


def transfer(
    source: str,
    target: str,
    lines: Mapping[str, Decimal],
    *,
    reason: str,
    author: str,
    reference: str,
) -> list[Movement]:
    """Moving available stock between warehouses: out of ``source``, into ``target``."""
    if source == target:
        raise DomainError(f"a transfer needs two different warehouses, got {source} twice")
    out: list[Movement] = []
    for sku, q in lines.items():
        for warehouse, signed in ((source, -q), (target, q)):
            out.append(
                Movement(
                    kind="transfer",
                    sku=sku,
                    warehouse=warehouse,
                    quantity=signed,
                    reason=reason,
                    author=author,
                    reference=reference,
                )
            )
    return out


def adjustment(
    levels: Mapping[tuple[str, str], Level],
    warehouse: str,
    lines: Sequence[tuple[str, Decimal | None, Decimal | None]],
    *,
    reason: str,
    author: str,
    reference: str,
) -> list[Movement]:
    """Corrections: each line either a signed ``delta`` or what was ``counted`` (a stocktake);
    a count that matches the books makes no movement."""
    out: list[Movement] = []
    for sku, delta, counted in lines:
        if (delta is None) == (counted is None):
            raise DomainError(f"{sku}: give either delta or counted")
        if counted is not None:
            check_quantity(counted, sku=sku, allow_zero=True)
            delta = stocktake(levels[(sku, warehouse)], counted)
            if delta == 0:
                continue
        assert delta is not None
        if delta == 0:
            raise DomainError(f"{sku}: an adjustment of zero changes nothing")
        check_quantity(abs(delta), sku=sku)
        out.append(
            Movement(
                kind="adjustment",
                sku=sku,
                warehouse=warehouse,
                quantity=delta,
                reason=reason,
                author=author,
                reference=reference,
            )
        )
    return out


def hand_over(
    giver: str,
    taker: str,
    moved: Sequence[Allocation],
    surplus: Sequence[Allocation],
    *,
    surplus_reason: str,
    author: str,
) -> list[Movement]:
    """A hold changing hands: each moved quantity is released from ``giver`` and reserved for
    ``taker`` in the same warehouse (reserved stock never changes, nothing becomes available
    in between); the giver's ``surplus`` is released."""
    out: list[Movement] = []
    for a in moved:
        out.append(_held(a, "release", -a.quantity, f"handed over to {taker}", author, giver))
        out.append(_held(a, "reservation", a.quantity, f"taken over from {giver}", author, taker))
    out.extend(_held(a, "release", -a.quantity, surplus_reason, author, giver) for a in surplus)
    return out


def _held(
    a: Allocation, kind: Kind, quantity: Decimal, reason: str, author: str, reference: str
) -> Movement:
    return Movement(
        kind=kind,
        sku=a.sku,
        warehouse=a.warehouse,
        quantity=quantity,
        reason=reason,
        author=author,
        reference=reference,
    )

"""After :class:`~connectors.smartbill.errors.OutcomeUnknown`: did SmartBill issue the document?

SmartBill numbers each series consecutively and offers no idempotency key and no search. So the
caller records the series' ``nextNumber`` before issuing (``expected``) and, once the answer is
lost, compares it with the series' ``nextNumber`` now:

- unchanged: nothing was issued in the series since: **absent**, safe to issue again;
- one more, and that document exists (and, for an invoice, its total is the expected one):
  **issued**, that number is ours;
- anything else (several documents since, a number going back after a delete, a total that does
  not match): **ambiguous**, park it for a human.

This holds only if nothing else issues in the series meanwhile: give the hub series of its own,
issue one document per series at a time, and reconcile no sooner than the client's ``timeout``
after the lost request (SmartBill may still be working on it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

import msgspec

from connectors.smartbill.client import SmartBillClient
from connectors.smartbill.errors import DocumentNotFound

MAX_CANDIDATES = 5  # reads spent on a crowded series before giving it to a human


class Reconciliation(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`reconcile` found in the series."""

    state: Literal["absent", "issued", "ambiguous"]
    series: str
    next_number: str
    number: str | None = None  # ours, when issued
    candidates: tuple[str, ...] = ()  # numbers issued since ``expected``
    reason: str = ""


async def reconcile(
    client: SmartBillClient,
    *,
    kind: Literal["invoice", "estimate"],
    series: str,
    expected: str,
    total: Decimal | None = None,
) -> Reconciliation:
    """Compare ``series``' next number with ``expected`` (its next number before the request).

    ``total``: the invoice total we sent (VAT included), matched against
    ``invoiceTotalAmount``; ignored for proformas, which have no payment status.
    """
    now = await client.next_number(series, "f" if kind == "invoice" else "p")
    before, after = int(expected), int(now)
    width = max(len(expected), len(now))
    candidates = tuple(str(n).zfill(width) for n in range(before, after))

    def result(
        state: Literal["absent", "issued", "ambiguous"], reason: str, number: str | None = None
    ) -> Reconciliation:
        return Reconciliation(
            state=state,
            series=series,
            next_number=now,
            number=number,
            candidates=candidates,
            reason=reason,
        )

    if after == before:
        return result("absent", "the series did not move")
    if after < before:
        return result("ambiguous", f"the series went back from {expected} to {now}")
    if len(candidates) > MAX_CANDIDATES:
        return result("ambiguous", f"{len(candidates)} documents issued since")
    matches = [n for n in candidates if await _ours(client, kind, series, n, total)]
    if len(candidates) == 1 and matches:
        return result("issued", "one document since, and it is ours", matches[0])
    if len(matches) == 1 and total is not None and kind == "invoice":
        return result("issued", "the only one since with our total", matches[0])
    return result("ambiguous", f"{len(matches)} of {len(candidates)} could be ours")


async def _ours(
    client: SmartBillClient,
    kind: Literal["invoice", "estimate"],
    series: str,
    number: str,
    total: Decimal | None,
) -> bool:
    if kind == "estimate":
        return await client.estimate_exists(series, number)
    try:
        status = await client.payment_status(series, number)
    except DocumentNotFound:
        return False
    return total is None or status.invoice_total_amount == total

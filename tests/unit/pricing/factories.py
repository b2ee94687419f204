"""Small builders of price inputs and rules for the pricing tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from actors.pricing.rules import (
    MinMargin,
    PriceInput,
    PriceSheet,
    Promotion,
    SkuRules,
    VolumeBreak,
    resolve,
)

D = Decimal
MIN_MARGIN = D("0.10")


def item(sku: str = "LED-1", **kw: Any) -> PriceInput:
    base: dict[str, Any] = {
        "sku": sku,
        "version": 1,
        "category": "benzi-led",
        "unit": "metre",
        "cost": D("10.00"),
        "margin": D("0.35"),
        "status": "active",
    }
    return PriceInput(**{**base, **kw})


def vbreak(id: int, at: str, discount: str, *, scope: str = "category", target: str = "benzi-led"):
    return VolumeBreak(id=id, scope=scope, target=target, min_quantity=D(at), discount=D(discount))  # type: ignore[arg-type]


def promo(
    id: int,
    value: str,
    *,
    kind: str = "percent",
    scope: str = "category",
    target: str = "benzi-led",
    valid_from: date = date(2026, 11, 1),
    valid_to: date = date(2026, 11, 30),
) -> Promotion:
    return Promotion(
        id=id,
        name=f"promo {id}",
        scope=scope,  # type: ignore[arg-type]
        target=target,
        kind=kind,  # type: ignore[arg-type]
        value=D(value),
        valid_from=valid_from,
        valid_to=valid_to,
    )


def margin(id: int, value: str, *, scope: str = "category", target: str = "benzi-led") -> MinMargin:
    return MinMargin(id=id, scope=scope, target=target, min_margin=D(value))  # type: ignore[arg-type]


def rules_for(
    it: PriceInput,
    breaks: list[VolumeBreak] | None = None,
    promotions: list[Promotion] | None = None,
    margins: list[MinMargin] | None = None,
) -> SkuRules:
    return resolve(it, breaks or [], promotions or [], margins or [], MIN_MARGIN)


def sheet(it: PriceInput, **kw: Any) -> PriceSheet:
    return PriceSheet(input=it, rules=rules_for(it, **kw))

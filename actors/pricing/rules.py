"""Pricing rules as data, and which of them apply to a product (pure: no I/O, no clock).

Precedence (docs/PRICING.md):

- Volume breaks: a product's own ladder replaces its category's. When the product has any
  break, the category's breaks are ignored for it; the discount is the largest of the ladder's
  breaks whose threshold the quantity reaches (so the price never rises with the quantity).
- Promotions: every promotion of the product and of its category is a candidate; the lowest
  price among those valid that day wins.
- Minimum margin: the product's override, else its category's, else the ``min_margin`` setting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Literal, TypeVar

import msgspec

Scope = Literal["sku", "category"]
PromotionKind = Literal["percent", "fixed"]
ProductStatus = Literal["draft", "active", "discontinued"]
Unit = Literal["piece", "metre"]


class PriceInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the catalog says about a product that pricing needs (newest version kept)."""

    sku: str
    version: int
    category: str
    unit: Unit
    cost: Decimal
    margin: Decimal
    status: ProductStatus


class VolumeBreak(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """From ``min_quantity`` units (or metres) on, ``discount`` (a fraction) off."""

    id: int
    scope: Scope
    target: str
    min_quantity: Decimal
    discount: Decimal


class Promotion(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A percentage off the list price (``value`` a fraction) or a fixed net unit price."""

    id: int
    name: str
    scope: Scope
    target: str
    kind: PromotionKind
    value: Decimal
    valid_from: date
    valid_to: date

    def active_on(self, day: date) -> bool:
        """Valid that day (both ends inclusive, business time zone)."""
        return self.valid_from <= day <= self.valid_to


class MinMargin(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A minimum margin (the floor is cost * (1 + min_margin)) for a product or category."""

    id: int
    scope: Scope
    target: str
    min_margin: Decimal


class SkuRules(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The rules that apply to one product, precedence already resolved."""

    min_margin: Decimal
    min_margin_id: int | None = None  # None: the ``min_margin`` setting
    volume_breaks: tuple[VolumeBreak, ...] = ()  # one ladder: the product's, or its category's
    promotions: tuple[Promotion, ...] = ()  # every candidate, valid or not on a given day


class PriceSheet(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything needed to price one product (what the price cache keeps)."""

    input: PriceInput
    rules: SkuRules


R = TypeVar("R", VolumeBreak, Promotion, MinMargin)


def _applies(rule: VolumeBreak | Promotion | MinMargin, item: PriceInput) -> bool:
    if rule.scope == "sku":
        return rule.target == item.sku
    return rule.target == item.category


def resolve(
    item: PriceInput,
    breaks: Iterable[VolumeBreak],
    promotions: Iterable[Promotion],
    margins: Iterable[MinMargin],
    default_min_margin: Decimal,
) -> SkuRules:
    """The rules that apply to ``item`` among those given (which may include others')."""
    mine = [b for b in breaks if _applies(b, item)]
    ladder = [b for b in mine if b.scope == "sku"] or mine
    override = {m.scope: m for m in margins if _applies(m, item)}
    chosen = override.get("sku") or override.get("category")
    return SkuRules(
        min_margin=chosen.min_margin if chosen else default_min_margin,
        min_margin_id=chosen.id if chosen else None,
        volume_breaks=tuple(sorted(ladder, key=lambda b: (b.min_quantity, b.id))),
        promotions=tuple(sorted((p for p in promotions if _applies(p, item)), key=lambda p: p.id)),
    )


class RuleBook:
    """All rules of a repricing, indexed by target, resolving each product's rules fast."""

    def __init__(
        self,
        breaks: Sequence[VolumeBreak],
        promotions: Sequence[Promotion],
        margins: Sequence[MinMargin],
        default_min_margin: Decimal,
    ) -> None:
        self.default_min_margin = default_min_margin
        self._breaks = _index(breaks)
        self._promotions = _index(promotions)
        self._margins = _index(margins)

    def sheet(self, item: PriceInput) -> PriceSheet:
        """``item`` with the rules that apply to it."""
        keys = (("sku", item.sku), ("category", item.category))
        rules = resolve(
            item,
            [r for k in keys for r in self._breaks.get(k, ())],
            [r for k in keys for r in self._promotions.get(k, ())],
            [r for k in keys for r in self._margins.get(k, ())],
            self.default_min_margin,
        )
        return PriceSheet(input=item, rules=rules)


def _index(rules: Sequence[R]) -> dict[tuple[str, str], list[R]]:
    found: dict[tuple[str, str], list[R]] = defaultdict(list)
    for rule in rules:
        found[(rule.scope, rule.target)].append(rule)
    return found

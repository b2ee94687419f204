"""Routes editing the pricing rules: volume breaks, promotions, minimum margins.

Every change is audited (before/after), asks the actor to reprice the products it touches
(:class:`~actors.pricing.messages.RepriceProducts`, published when the change commits) and
starts a new price version right after the commit, so the next quote anywhere reflects it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

import msgspec

from actors.pricing import rules_store
from actors.pricing.messages import RepriceProducts
from actors.pricing.rules import PromotionKind, Scope
from actors.pricing.rules_store import (
    MIN_MARGINS,
    PROMOTIONS,
    VOLUME_BREAKS,
    MinMarginRow,
    PromotionRow,
    Table,
    VolumeBreakRow,
)
from actors.pricing.runtime import runtime
from hub.auth import Role
from hub.edge.api import STAFF, Api, ApiModel, Call, Page, PageQuery, decode_cursor, encode_cursor

rules = Api("pricing")

RULE_WRITERS = {Role.admin, Role.sales}
PROMOTION_WRITERS = {Role.admin, Role.sales, Role.marketing}
Target = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


def check_decimal(
    name: str, value: Decimal, *, low: Decimal, high: Decimal, places: int, low_open: bool = False
) -> None:
    """Refuse (400) a number outside ``[low, high]`` (``(low, high]``) or with more places."""
    if not value.is_finite():
        raise ValueError(f"`{name}` must be a number")
    above = value > low if low_open else value >= low
    if not above or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"`{name}` must be in {bracket}{low}, {high}], got {value}")
    if int(value.normalize().as_tuple().exponent) < -places:
        raise ValueError(f"`{name}` has more than {places} decimals")


class VolumeBreakBody(ApiModel):
    """From ``min_quantity`` units or metres on, ``discount`` (a fraction: 0.05 = 5 %) off."""

    scope: Scope
    target: Target
    min_quantity: Decimal
    discount: Decimal

    def __post_init__(self) -> None:
        check_decimal(
            "min_quantity",
            self.min_quantity,
            low=Decimal(0),
            high=Decimal(100_000),
            places=3,
            low_open=True,
        )
        check_decimal("discount", self.discount, low=Decimal(0), high=Decimal("0.99"), places=4)


class PromotionBody(ApiModel):
    """``percent``: ``value`` is a fraction off the list price (0.10 = 10 %); ``fixed``: the net
    unit price in RON. Valid from ``valid_from`` to ``valid_to``, both included."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    scope: Scope
    target: Target
    kind: PromotionKind
    value: Decimal
    valid_from: date
    valid_to: date

    def __post_init__(self) -> None:
        high = Decimal("0.99") if self.kind == "percent" else Decimal(1_000_000)
        check_decimal("value", self.value, low=Decimal(0), high=high, places=4, low_open=True)
        if self.valid_to < self.valid_from:
            raise ValueError("`valid_to` must not be before `valid_from`")


class MinMarginBody(ApiModel):
    """No price of the target goes below cost * (1 + ``min_margin``)."""

    scope: Scope
    target: Target
    min_margin: Decimal

    def __post_init__(self) -> None:
        check_decimal("min_margin", self.min_margin, low=Decimal(0), high=Decimal(10), places=4)


class RuleQuery(PageQuery):
    """Filter by scope and target."""

    scope: Scope | None = None
    target: Target | None = None


R = TypeVar("R", VolumeBreakRow, PromotionRow, MinMarginRow)
B = TypeVar("B", VolumeBreakBody, PromotionBody, MinMarginBody)


def _scope_of(*rows: Any) -> dict[str, Any]:
    return {
        "skus": tuple(sorted({r.target for r in rows if r.scope == "sku"})),
        "categories": tuple(sorted({r.target for r in rows if r.scope == "category"})),
    }


class RuleRoutes(Generic[R, B]):
    """List, show, create, replace and delete one kind of rule."""

    def __init__(
        self, table: Table[R], entity: str, path: str, body: type[B], writers: Any
    ) -> None:
        self.table: Table[R] = table
        self.entity = entity
        kind = f"pricing.{entity}s"
        what = table.what
        many: Any = list[table.row]  # type: ignore[name-defined]
        rules.get(
            path,
            name=f"{kind}.list",
            roles=STAFF,
            summary=f"List {what}s",
            query=RuleQuery,
            response=many,
        )(self.list)
        rules.get(
            f"{path}/{{id}}",
            name=f"{kind}.get",
            roles=STAFF,
            summary=f"Show a {what}",
            response=table.row,
        )(self.show)
        rules.post(
            path,
            name=f"{kind}.create",
            roles=writers,
            summary=f"Create a {what}",
            body=body,
            response=table.row,
            status=201,
            entity=entity,
        )(self.create)
        rules.put(
            f"{path}/{{id}}",
            name=f"{kind}.update",
            roles=writers,
            summary=f"Replace a {what}",
            body=body,
            response=table.row,
            entity=entity,
        )(self.update)
        rules.delete(
            f"{path}/{{id}}",
            name=f"{kind}.delete",
            roles=writers,
            summary=f"Delete a {what}",
            response=table.row,
            entity=entity,
        )(self.delete)

    async def list(self, call: Call[None, RuleQuery]) -> Page[R]:
        """By id; ``scope`` and ``target`` filter."""
        q = call.query
        after = decode_cursor(q.cursor, int)[0] if q.cursor else None
        async with call.db.pool.acquire() as conn:
            rows = await rules_store.page(
                conn, self.table, scope=q.scope, target=q.target, after_id=after, limit=q.limit + 1
            )
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        return Page(rows, encode_cursor(rows[-1].id) if more else None)

    async def show(self, call: Call[None, None]) -> R:
        """One rule."""
        async with call.db.pool.acquire() as conn:
            return await rules_store.get(conn, self.table, call.int_param("id"))

    async def create(self, call: Call[B, None]) -> R:
        """Reprices the products the rule reaches."""
        async with call.transaction() as conn:
            row = await rules_store.create(conn, self.table, msgspec.structs.asdict(call.body))
            call.audit(entity_id=row.id, after=row)
            self._reprice(call, row, "created", row)
        await runtime(call).cache.bump()
        return row

    async def update(self, call: Call[B, None]) -> R:
        """Reprices the products the rule reached and those it reaches now."""
        async with call.transaction() as conn:
            before = await rules_store.get(conn, self.table, call.int_param("id"))
            values = msgspec.structs.asdict(call.body)
            row = await rules_store.update(conn, self.table, before.id, values)
            call.audit(before=before, after=row)
            self._reprice(call, row, "updated", before, row)
        await runtime(call).cache.bump()
        return row

    async def delete(self, call: Call[None, None]) -> R:
        """Reprices the products the rule reached."""
        async with call.transaction() as conn:
            row = await rules_store.delete(conn, self.table, call.int_param("id"))
            call.audit(before=row)
            self._reprice(call, row, "deleted", row)
        await runtime(call).cache.bump()
        return row

    def _reprice(self, call: Call[Any, Any], row: R, verb: str, *rows: R) -> None:
        promotion = row.id if self.table is PROMOTIONS else None
        reason = f"{self.table.what} {row.id} {verb}"
        call.emit(RepriceProducts(reason=reason, promotion_id=promotion, **_scope_of(*rows)))


volume_breaks = RuleRoutes(
    VOLUME_BREAKS, "volume_break", "/api/v1/pricing/volume-breaks", VolumeBreakBody, RULE_WRITERS
)
promotions = RuleRoutes(
    PROMOTIONS, "promotion", "/api/v1/pricing/promotions", PromotionBody, PROMOTION_WRITERS
)
min_margins = RuleRoutes(
    MIN_MARGINS, "min_margin", "/api/v1/pricing/min-margins", MinMarginBody, RULE_WRITERS
)

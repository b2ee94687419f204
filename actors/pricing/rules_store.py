"""SQL of the pricing rules as the API edits them: volume breaks, promotions, minimum margins,
customer tiers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

import asyncpg
import msgspec

from actors.pricing.rules import PromotionKind, Scope
from hub.db import record_to
from hub.errors import DomainError, NotFound


class VolumeBreakRow(msgspec.Struct, frozen=True, kw_only=True):
    """A stored volume break."""

    id: int
    scope: Scope
    target: str
    min_quantity: Decimal
    discount: Decimal
    created_at: datetime
    updated_at: datetime


class PromotionRow(msgspec.Struct, frozen=True, kw_only=True):
    """A stored promotion."""

    id: int
    name: str
    scope: Scope
    target: str
    kind: PromotionKind
    value: Decimal
    valid_from: date
    valid_to: date
    created_at: datetime
    updated_at: datetime


class MinMarginRow(msgspec.Struct, frozen=True, kw_only=True):
    """A stored minimum margin override."""

    id: int
    scope: Scope
    target: str
    min_margin: Decimal
    created_at: datetime
    updated_at: datetime


class CustomerTier(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's tier (0 and no ``updated_at`` for a customer never given one)."""

    customer_id: str
    tier: int
    updated_at: datetime | None = None


R = TypeVar("R", VolumeBreakRow, PromotionRow, MinMarginRow)


@dataclass(frozen=True)
class Table(Generic[R]):
    """A rule table: its name, row type, editable columns and what to call a row."""

    name: str
    row: type[R]
    columns: tuple[str, ...]
    what: str

    @property
    def select(self) -> str:
        return ", ".join(self.row.__struct_fields__)


VOLUME_BREAKS = Table(
    "pricing_volume_breaks",
    VolumeBreakRow,
    ("scope", "target", "min_quantity", "discount"),
    "volume break",
)
PROMOTIONS = Table(
    "pricing_promotions",
    PromotionRow,
    ("name", "scope", "target", "kind", "value", "valid_from", "valid_to"),
    "promotion",
)
MIN_MARGINS = Table(
    "pricing_min_margins", MinMarginRow, ("scope", "target", "min_margin"), "minimum margin"
)


async def create(conn: asyncpg.Connection, table: Table[R], values: Mapping[str, Any]) -> R:
    """Insert a rule; a duplicate (same scope, target and threshold) is a DomainError."""
    names = ", ".join(table.columns)
    params = ", ".join(f"${n}" for n in range(1, len(table.columns) + 1))
    try:
        row = await conn.fetchrow(
            f"INSERT INTO {table.name} ({names}) VALUES ({params}) RETURNING {table.select}",
            *(values[c] for c in table.columns),
        )
    except _REFUSED as exc:
        raise _refusal(table, values, exc) from None
    return cast(R, record_to(table.row, row))


async def get(conn: asyncpg.Connection, table: Table[R], rule_id: int) -> R:
    """One rule (NotFound when there is none)."""
    row = await conn.fetchrow(f"SELECT {table.select} FROM {table.name} WHERE id = $1", rule_id)
    if row is None:
        raise NotFound(f"no {table.what} {rule_id}")
    return cast(R, record_to(table.row, row))


async def update(
    conn: asyncpg.Connection, table: Table[R], rule_id: int, values: Mapping[str, Any]
) -> R:
    """Replace a rule's editable columns."""
    sets = ", ".join(f"{c} = ${n}" for n, c in enumerate(table.columns, start=2))
    try:
        row = await conn.fetchrow(
            f"UPDATE {table.name} SET {sets}, updated_at = now() WHERE id = $1 "
            f"RETURNING {table.select}",
            rule_id,
            *(values[c] for c in table.columns),
        )
    except _REFUSED as exc:
        raise _refusal(table, values, exc) from None
    if row is None:
        raise NotFound(f"no {table.what} {rule_id}")
    return cast(R, record_to(table.row, row))


async def delete(conn: asyncpg.Connection, table: Table[R], rule_id: int) -> R:
    """Delete a rule; return it as it was."""
    row = await conn.fetchrow(
        f"DELETE FROM {table.name} WHERE id = $1 RETURNING {table.select}", rule_id
    )
    if row is None:
        raise NotFound(f"no {table.what} {rule_id}")
    return cast(R, record_to(table.row, row))


async def page(
    conn: asyncpg.Connection,
    table: Table[R],
    *,
    scope: str | None,
    target: str | None,
    after_id: int | None,
    limit: int,
) -> list[R]:
    """Rules by id, optionally of one scope and target."""
    rows = await conn.fetch(
        f"SELECT {table.select} FROM {table.name} "
        "WHERE ($1::text IS NULL OR scope = $1) AND ($2::text IS NULL OR target = $2) "
        "AND ($3::bigint IS NULL OR id > $3) ORDER BY id LIMIT $4",
        scope,
        target,
        after_id,
        limit,
    )
    return [cast(R, record_to(table.row, r)) for r in rows]


def _refusal(table: Table[Any], values: Mapping[str, Any], exc: Exception) -> DomainError:
    """The business answer to the database refusing a rule."""
    if isinstance(exc, asyncpg.UniqueViolationError):
        start = f" from {values['min_quantity']}" if "min_quantity" in values else ""
        return DomainError(
            f"a {table.what} for {values['scope']} {values['target']!r}{start} already exists"
        )
    return DomainError(f"this {table.what} breaks a rule: {getattr(exc, 'constraint_name', exc)}")


_REFUSED = (asyncpg.UniqueViolationError, asyncpg.CheckViolationError)


async def tier_of(conn: asyncpg.Connection, customer_id: str) -> CustomerTier:
    """A customer's tier (tier 0 for a customer never given one)."""
    row = await conn.fetchrow(
        "SELECT customer_id, tier, updated_at FROM pricing_customer_tiers WHERE customer_id = $1",
        customer_id,
    )
    if row is None:
        return CustomerTier(customer_id=customer_id, tier=0)
    return cast(CustomerTier, record_to(CustomerTier, row))


async def set_tier(conn: asyncpg.Connection, customer_id: str, tier: int) -> CustomerTier:
    """Give a customer a tier."""
    row = await conn.fetchrow(
        """
        INSERT INTO pricing_customer_tiers (customer_id, tier) VALUES ($1, $2)
        ON CONFLICT (customer_id) DO UPDATE SET tier = EXCLUDED.tier, updated_at = now()
        RETURNING customer_id, tier, updated_at
        """,
        customer_id,
        tier,
    )
    return cast(CustomerTier, record_to(CustomerTier, row))


async def delete_tier(conn: asyncpg.Connection, customer_id: str) -> CustomerTier:
    """Take a customer's tier away (back to 0); NotFound when it had none."""
    row = await conn.fetchrow(
        "DELETE FROM pricing_customer_tiers WHERE customer_id = $1 "
        "RETURNING customer_id, tier, updated_at",
        customer_id,
    )
    if row is None:
        raise NotFound(f"customer {customer_id} has no tier")
    return cast(CustomerTier, record_to(CustomerTier, row))


async def tiers_page(
    conn: asyncpg.Connection, *, tier: int | None, after: str | None, limit: int
) -> list[CustomerTier]:
    """Customers with a tier, by customer id."""
    rows = await conn.fetch(
        "SELECT customer_id, tier, updated_at FROM pricing_customer_tiers "
        "WHERE ($1::smallint IS NULL OR tier = $1) AND ($2::text IS NULL OR customer_id > $2) "
        "ORDER BY customer_id LIMIT $3",
        tier,
        after,
        limit,
    )
    return [cast(CustomerTier, record_to(CustomerTier, r)) for r in rows]

"""Routes of the customers' tiers: staff read them, admin and sales set them, a B2B customer
reads its own. A change starts a new price version after its commit (quotes use it at once)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from actors.pricing import rules_store
from actors.pricing.rules_api import RULE_WRITERS
from actors.pricing.rules_store import CustomerTier
from actors.pricing.runtime import runtime
from hub.auth import Role
from hub.edge.api import STAFF, Api, ApiModel, Call, Page, PageQuery, decode_cursor, encode_cursor
from hub.errors import NotFound

tiers = Api("pricing")


class TierBody(ApiModel):
    """A customer's tier: 0, 1, 2 or 3 (0, 5, 10, 15 % off)."""

    tier: Annotated[int, msgspec.Meta(ge=0, le=3)]


class TierQuery(PageQuery):
    """Filter by tier."""

    tier: Annotated[int, msgspec.Meta(ge=0, le=3)] | None = None


TIERS = "/api/v1/pricing/customer-tiers"


async def tier_owner(call: Call[Any, Any]) -> str | None:
    """The customer in the path: a B2B customer reads its own tier only."""
    return call.param("customer_id")


def _customer(call: Call[Any, Any]) -> str:
    customer = call.param("customer_id")
    if not 1 <= len(customer) <= 64:
        raise NotFound(f"no customer {customer[:64]!r}")
    return customer


@tiers.get(
    TIERS,
    name="pricing.customer_tiers.list",
    roles=STAFF,
    summary="List customers' tiers",
    query=TierQuery,
    response=list[CustomerTier],
)
async def list_tiers(call: Call[None, TierQuery]) -> Page[CustomerTier]:
    """Customers with a tier, by customer id (the others are tier 0)."""
    q = call.query
    after = decode_cursor(q.cursor, str)[0] if q.cursor else None
    async with call.db.pool.acquire() as conn:
        rows = await rules_store.tiers_page(conn, tier=q.tier, after=after, limit=q.limit + 1)
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return Page(rows, encode_cursor(rows[-1].customer_id) if more else None)


@tiers.get(
    f"{TIERS}/{{customer_id}}",
    name="pricing.customer_tiers.get",
    roles={*STAFF, Role.b2b_customer},
    owner=tier_owner,
    summary="Show a customer's tier",
    response=CustomerTier,
)
async def show_tier(call: Call[None, None]) -> CustomerTier:
    """Tier 0 for a customer never given one; a B2B customer sees its own."""
    async with call.db.pool.acquire() as conn:
        return await rules_store.tier_of(conn, _customer(call))


@tiers.put(
    f"{TIERS}/{{customer_id}}",
    name="pricing.customer_tiers.set",
    roles=RULE_WRITERS,
    summary="Set a customer's tier",
    body=TierBody,
    response=CustomerTier,
    entity="customer_tier",
)
async def set_tier(call: Call[TierBody, None]) -> CustomerTier:
    """Its quotes use the new tier from the next one on."""
    customer = _customer(call)
    call.audit(entity_id=customer)
    async with call.transaction() as conn:
        before = await rules_store.tier_of(conn, customer)
        after = await rules_store.set_tier(conn, customer, call.body.tier)
        call.audit(before={"tier": before.tier}, after={"tier": after.tier})
    await runtime(call).cache.bump()
    return after


@tiers.delete(
    f"{TIERS}/{{customer_id}}",
    name="pricing.customer_tiers.delete",
    roles=RULE_WRITERS,
    summary="Take a customer's tier away (back to tier 0)",
    response=CustomerTier,
    entity="customer_tier",
)
async def delete_tier(call: Call[None, None]) -> CustomerTier:
    """The customer is tier 0 from the next quote on."""
    customer = _customer(call)
    call.audit(entity_id=customer)
    async with call.transaction() as conn:
        before = await rules_store.delete_tier(conn, customer)
        call.audit(before={"tier": before.tier}, after={"tier": 0})
    await runtime(call).cache.bump()
    return before

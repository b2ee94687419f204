"""SQL of the pricing context: price inputs, price sheets, list prices, customer tiers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import asyncpg
import msgspec

from actors.pricing.domain import ListPrice
from actors.pricing.rules import (
    MinMargin,
    PriceInput,
    PriceSheet,
    Promotion,
    RuleBook,
    VolumeBreak,
    resolve,
)
from hub.db import record_to

INPUT_COLUMNS = "sku, version, category, unit, cost, margin, status"
# Read numbers without their column's trailing zeros (10.0000 -> 10): breakdowns stay short.
INPUT_READ = (
    "sku, version, category, unit, trim_scale(cost) AS cost, trim_scale(margin) AS margin, status"
)


async def apply_inputs(conn: asyncpg.Connection, inputs: Sequence[PriceInput]) -> list[str]:
    """Store each snapshot newer than the stored one; return the SKUs that changed."""
    newest: dict[str, PriceInput] = {}
    for item in inputs:  # one row per SKU per statement: keep the batch's newest
        if item.sku not in newest or newest[item.sku].version < item.version:
            newest[item.sku] = item
    rows = list(newest.values())
    applied = await conn.fetch(
        f"""
        INSERT INTO pricing_inputs ({INPUT_COLUMNS})
        SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[],
                             $5::numeric[], $6::numeric[], $7::text[])
        ON CONFLICT (sku) DO UPDATE SET
            version = EXCLUDED.version, category = EXCLUDED.category, unit = EXCLUDED.unit,
            cost = EXCLUDED.cost, margin = EXCLUDED.margin, status = EXCLUDED.status,
            updated_at = now()
        WHERE pricing_inputs.version < EXCLUDED.version
        RETURNING sku
        """,
        [r.sku for r in rows],
        [r.version for r in rows],
        [r.category for r in rows],
        [r.unit for r in rows],
        [r.cost for r in rows],
        [r.margin for r in rows],
        [r.status for r in rows],
    )
    return [r["sku"] for r in applied]


async def lock_repricing(conn: asyncpg.Connection) -> None:
    """One repricing at a time (until this transaction ends), so none works from stale rules."""
    # The two-key form: a lock space apart from the runtime's per-key (bigint) locks.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('pricing'), hashtext('repricing'))")


_RULES_OF_ROW = """
    COALESCE((SELECT jsonb_agg(jsonb_build_object(
                  'id', b.id, 'scope', b.scope, 'target', b.target,
                  'min_quantity', trim_scale(b.min_quantity)::text,
                  'discount', trim_scale(b.discount)::text))
              FROM pricing_volume_breaks b
              WHERE (b.scope = 'sku' AND b.target = i.sku)
                 OR (b.scope = 'category' AND b.target = i.category)), '[]') AS breaks,
    COALESCE((SELECT jsonb_agg(jsonb_build_object(
                  'id', p.id, 'name', p.name, 'scope', p.scope, 'target', p.target,
                  'kind', p.kind, 'value', trim_scale(p.value)::text,
                  'valid_from', p.valid_from, 'valid_to', p.valid_to))
              FROM pricing_promotions p
              WHERE (p.scope = 'sku' AND p.target = i.sku)
                 OR (p.scope = 'category' AND p.target = i.category)), '[]') AS promotions,
    COALESCE((SELECT jsonb_agg(jsonb_build_object(
                  'id', m.id, 'scope', m.scope, 'target', m.target,
                  'min_margin', trim_scale(m.min_margin)::text))
              FROM pricing_min_margins m
              WHERE (m.scope = 'sku' AND m.target = i.sku)
                 OR (m.scope = 'category' AND m.target = i.category)), '[]') AS margins
"""


async def sheets(
    conn: asyncpg.Connection, skus: Sequence[str], default_min_margin: Any
) -> dict[str, PriceSheet]:
    """The price sheets of ``skus`` that exist (any status), inputs and rules in one query."""
    rows = await conn.fetch(
        f"SELECT {INPUT_READ}, {_RULES_OF_ROW} FROM pricing_inputs i WHERE i.sku = ANY($1::text[])",
        list(skus),
    )
    found: dict[str, PriceSheet] = {}
    for row in rows:
        item = _input(row)
        rules = resolve(
            item,
            msgspec.convert(row["breaks"], list[VolumeBreak], strict=False),
            msgspec.convert(row["promotions"], list[Promotion], strict=False),
            msgspec.convert(row["margins"], list[MinMargin], strict=False),
            default_min_margin,
        )
        found[item.sku] = PriceSheet(input=item, rules=rules)
    return found


def _input(row: asyncpg.Record) -> PriceInput:
    return PriceInput(
        sku=row["sku"],
        version=row["version"],
        category=row["category"],
        unit=row["unit"],
        cost=row["cost"],
        margin=row["margin"],
        status=row["status"],
    )


async def inputs_for_repricing(
    conn: asyncpg.Connection,
    *,
    skus: Sequence[str] = (),
    categories: Sequence[str] = (),
    everything: bool = False,
) -> list[PriceInput]:
    """The price inputs of ``skus`` and of every product in ``categories`` (or of all)."""
    if everything:
        rows = await conn.fetch(f"SELECT {INPUT_READ} FROM pricing_inputs")
    else:  # two index scans (an OR of both would read the whole table)
        rows = await conn.fetch(
            f"SELECT {INPUT_READ} FROM pricing_inputs WHERE sku IN (SELECT unnest($1::text[])) "
            f"UNION SELECT {INPUT_READ} FROM pricing_inputs WHERE category = ANY($2::text[])",
            list(skus),
            list(categories),
        )
    return [_input(r) for r in rows]


async def rule_book(
    conn: asyncpg.Connection, inputs: Sequence[PriceInput], default_min_margin: Any
) -> RuleBook:
    """Every rule that may apply to ``inputs``, indexed (three small queries)."""
    skus = [i.sku for i in inputs]
    categories = list({i.category for i in inputs})
    where = (
        "WHERE (scope = 'sku' AND target = ANY($1::text[])) "
        "OR (scope = 'category' AND target = ANY($2::text[]))"
    )
    breaks = await conn.fetch(
        "SELECT id, scope, target, trim_scale(min_quantity) AS min_quantity, "
        f"trim_scale(discount) AS discount FROM pricing_volume_breaks {where}",
        skus,
        categories,
    )
    promotions = await conn.fetch(
        "SELECT id, name, scope, target, kind, trim_scale(value) AS value, valid_from, "
        f"valid_to FROM pricing_promotions {where}",
        skus,
        categories,
    )
    margins = await conn.fetch(
        "SELECT id, scope, target, trim_scale(min_margin) AS min_margin "
        f"FROM pricing_min_margins {where}",
        skus,
        categories,
    )
    return RuleBook(
        [record_to(VolumeBreak, r) for r in breaks],
        [record_to(Promotion, r) for r in promotions],
        [record_to(MinMargin, r) for r in margins],
        default_min_margin,
    )


async def list_prices(conn: asyncpg.Connection, skus: Sequence[str]) -> dict[str, ListPrice]:
    """The stored list prices of ``skus``."""
    rows = await conn.fetch(
        "SELECT sku, list_net, sale_net, promotion_id, vat_rate "
        "FROM pricing_list_prices JOIN unnest($1::text[]) AS wanted(sku) USING (sku)",
        list(skus),
    )
    return {
        r["sku"]: ListPrice(
            sku=r["sku"],
            list_net=r["list_net"],
            sale_net=r["sale_net"],
            promotion_id=r["promotion_id"],
            vat_rate=r["vat_rate"],
        )
        for r in rows
    }


async def save_list_prices(
    conn: asyncpg.Connection, prices: Sequence[ListPrice], on: date, removed: Sequence[str] = ()
) -> None:
    """Upsert ``prices`` (priced on ``on``); forget the list prices of ``removed``."""
    if prices:
        await conn.execute(
            """
            INSERT INTO pricing_list_prices
                (sku, list_net, sale_net, promotion_id, vat_rate, priced_on)
            SELECT s, l, sn, p, v, $6
            FROM unnest($1::text[], $2::numeric[], $3::numeric[], $4::bigint[], $5::numeric[])
                AS t(s, l, sn, p, v)
            ON CONFLICT (sku) DO UPDATE SET
                list_net = EXCLUDED.list_net, sale_net = EXCLUDED.sale_net,
                promotion_id = EXCLUDED.promotion_id, vat_rate = EXCLUDED.vat_rate,
                priced_on = EXCLUDED.priced_on, updated_at = now()
            """,
            [p.sku for p in prices],
            [p.list_net for p in prices],
            [p.sale_net for p in prices],
            [p.promotion_id for p in prices],
            [p.vat_rate for p in prices],
            on,
        )
    if removed:
        await conn.execute(
            "DELETE FROM pricing_list_prices WHERE sku = ANY($1::text[])", list(removed)
        )


async def customer_tier(conn: asyncpg.Connection, customer_id: str) -> int:
    """The customer's tier; 0 for a customer without one."""
    tier = await conn.fetchval(
        "SELECT tier FROM pricing_customer_tiers WHERE customer_id = $1", customer_id
    )
    return int(tier) if tier is not None else 0


async def promotion(conn: asyncpg.Connection, promotion_id: int) -> Promotion | None:
    """A promotion, or None once it is deleted."""
    row = await conn.fetchrow(
        "SELECT id, name, scope, target, kind, value, valid_from, valid_to "
        "FROM pricing_promotions WHERE id = $1",
        promotion_id,
    )
    return record_to(Promotion, row) if row else None

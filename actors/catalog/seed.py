"""Demo data: the demo catalog (:mod:`actors.catalog.demo`) stored and published like an import,
in batches of at most 500 products, one ``ProductsChanged`` per batch."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from actors.catalog import changes, store
from actors.catalog.demo import demo_catalog, demo_categories
from actors.catalog.domain import Row
from actors.catalog.rows import as_input
from hub import audit, seeds

BATCH = 500


async def seed(conn: asyncpg.Connection) -> None:
    """Categories, then families and products; every product change audited and published."""
    existing = await store.category_codes(conn)
    for category in demo_categories():
        if category.code not in existing:
            await store.add_category(conn, category)
    catalog = demo_catalog()
    for start in range(0, len(catalog), BATCH):
        batch_id = f"demo-catalog:{start // BATCH + 1}"
        started = datetime.now(UTC)
        part = catalog[start : start + BATCH]
        rows = [Row(n, as_input(p)) for n, p in enumerate(part, start + 1)]
        decision = await changes.apply(conn, rows)
        if decision.errors:
            raise RuntimeError(f"the demo catalog is not valid: {decision.errors[:3]}")
        for change in decision.changes:
            before, after = changes.audit_pair(change)
            await audit.record(
                conn,
                actor=seeds.SEED_ACTOR,
                action="catalog.seed",
                entity_type="product",
                entity_id=change.after.sku,
                before=before,
                after=after,
            )
        created, updated, unchanged = changes.counts(decision)
        await store.record_batch(
            conn,
            store.ImportBatch(
                id=batch_id,
                import_id="demo-catalog",
                seq=start // BATCH + 1,
                actor=seeds.SEED_ACTOR,
                actor_name=None,
                format="seed",
                first_row=start + 1,
                last_row=start + len(part),
                rows=len(part),
                created=created,
                updated=updated,
                unchanged=unchanged,
                status="applied",
                errors=[],
                started_at=started,
                finished_at=datetime.now(UTC),
            ),
        )
        if (event := changes.event(decision, batch_id=batch_id)) is not None:
            await seeds.emit(conn, event, key=f"catalog-import:{batch_id}")

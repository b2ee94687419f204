"""The catalog actor: product changes asked for by messages (suppliers, integrations).

Staff edits and file imports go through the API, which writes in its own transaction; both
paths share :mod:`actors.catalog.changes`, publish ``ProductsChanged`` in the transaction that
makes the change and audit every product changed. A refused change is answered with
``ProductChangeRejected`` (the command is acknowledged; nothing is applied).
"""

from __future__ import annotations

from datetime import UTC, datetime

from actors.catalog import changes, store
from actors.catalog.domain import Decision, Row
from actors.catalog.messages import ImportProducts, ProductChangeRejected, RowError, UpsertProduct
from actors.catalog.values import normalize_sku
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources

MAX_ROWS = 1000


class Catalog(Actor, name="catalog"):
    """Applies ``UpsertProduct`` and ``ImportProducts``."""

    @handler
    async def upsert(self, msg: UpsertProduct, ctx: Context) -> None:
        key = f"sku:{normalize_sku(msg.product.sku)}"
        decision = await changes.apply(ctx.conn, [Row(1, msg.product)])
        if decision.errors:
            ctx.emit(ProductChangeRejected(errors=decision.errors, sku=key[4:]), key=key)
            return
        await _audit(ctx, decision, "catalog.UpsertProduct")
        if (event := changes.event(decision)) is not None:
            ctx.emit(event, key=key)

    @handler
    async def import_batch(self, msg: ImportProducts, ctx: Context) -> None:
        key = f"catalog-import:{msg.batch_id}"
        if await store.batch_exists(ctx.conn, msg.batch_id):
            ctx.log.info("batch %s was already imported", msg.batch_id)
            return
        decision = await _apply(ctx, msg)
        await store.record_batch(ctx.conn, _batch(msg, decision, ctx))
        if decision.errors:
            rejected = ProductChangeRejected(errors=decision.errors, batch_id=msg.batch_id)
            ctx.emit(rejected, key=key)
            return
        await _audit(ctx, decision, "catalog.ImportProducts")
        if (event := changes.event(decision, batch_id=msg.batch_id)) is not None:
            ctx.emit(event, key=key)


async def _apply(ctx: Context, msg: ImportProducts) -> Decision:
    if len(msg.products) > MAX_ROWS:
        too_many = f"a batch has at most {MAX_ROWS} rows, this one {len(msg.products)}"
        return Decision(errors=(RowError(row=0, field=None, message=too_many),))
    rows = [Row(n, change) for n, change in enumerate(msg.products, 1)]
    return await changes.apply(ctx.conn, rows)


async def _audit(ctx: Context, decision: Decision, action: str) -> None:
    for change in decision.changes:
        before, after = changes.audit_pair(change)
        await ctx.audit(
            action, entity_type="product", entity_id=change.after.sku, before=before, after=after
        )


def _batch(msg: ImportProducts, decision: Decision, ctx: Context) -> store.ImportBatch:
    errors = list(decision.errors)
    created, updated, unchanged = (0, 0, 0) if errors else changes.counts(decision)
    return store.ImportBatch(
        id=msg.batch_id,
        import_id=msg.batch_id,
        seq=1,
        actor=ctx.envelope.actor or "system",
        actor_name=None,
        format="message",
        first_row=1,
        last_row=len(msg.products),
        rows=len(msg.products),
        created=created,
        updated=updated,
        unchanged=unchanged,
        status="rejected" if errors else "applied",
        errors=errors,
        started_at=ctx.now,
        finished_at=datetime.now(UTC),
    )


def factory(resources: Resources) -> Actor:
    """The catalog actor (it needs nothing but the handler's transaction)."""
    return Catalog()

"""``cypher-hub woo reconcile``: read every shop product, compare, and with ``apply`` push.

1. **Read** every product (``status=any``, pages of ``page_size`` following ``Link``), with
   progress; no lock is held, the shop may change meanwhile.
2. **Compare** in one transaction holding the pusher's lock (``push.PUSH_LOCK``, the advisory
   lock a running ``PushProducts`` handler holds): the listing is learnt into ``woo_products``
   (a value the connector learnt later, from a push's answer or a webhook, is kept:
   ``product_store.learn`` keeps the newest), then :func:`reconcile.compare`. A dry run rolls
   the transaction back: nothing changes, not even what the hub knows of the shop (a running
   connector would otherwise push what the dry run found at its next sweep). With ``apply`` it
   commits, and SKUs no listed product holds are recorded missing, as the pusher's lookup does.
3. **Push** (``apply``): SKUs whose price or stock differs, ``batch_size`` per request, each
   request under the same lock, through :meth:`push.Pusher.send` (the rows are read again under
   the lock, so a value the connector pushed meanwhile is not pushed twice and a newer wanted
   value wins). What the shop answered is recorded as the pusher records it: the connector
   will not push it again. A failed request stops the push; what was not pushed stays due for
   the connector.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from connectors.woocommerce import product_store, push, reconcile
from connectors.woocommerce.client import WooCommerceClient
from connectors.woocommerce.progress import Progress
from connectors.woocommerce.reconcile import Report
from connectors.woocommerce.resources import Product
from connectors.woocommerce.settings import WooCommerceSettings
from hub.db import Database, xact_lock

log = logging.getLogger(__name__)

ProgressFactory = Callable[[str, int | None], Progress]


async def run(
    settings: WooCommerceSettings,
    db: Database,
    client: WooCommerceClient,
    progress: ProgressFactory,
    *,
    apply: bool = False,
    overwrite_stock: bool = False,
    now: datetime | None = None,
) -> Report:
    """Compare the whole shop with the hub; with ``apply``, push what differs."""
    now = now or datetime.now(UTC)
    products = await read_shop(client, progress)
    report = await compare(db, products, record=apply, now=now)
    if apply:
        await push_differences(settings, db, client, report, progress, overwrite_stock, now)
    return report


async def read_shop(client: WooCommerceClient, progress: ProgressFactory) -> list[Product]:
    """Every product of the shop (any status), by id."""
    products: list[Product] = []
    bar = progress("reading the shop's products", None)
    try:
        async for page in client.pages("products", Product, {"status": "any"}):
            products.extend(page.items)
            bar.update(len(products), page.total)
    finally:
        bar.done()
    return products


async def compare(db: Database, products: list[Product], *, record: bool, now: datetime) -> Report:
    """The differences, with the listing learnt (kept only when ``record``)."""
    async with db.pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        try:
            await xact_lock(conn, push.PUSH_LOCK)
            await product_store.learn(conn, reconcile.learnable(products))
            rows = {r.sku: r for r in await product_store.rows(conn)}
            report = reconcile.compare(products, rows)
            if record:
                await _record(conn, report, rows, {p.id for p in products}, now)
        except BaseException:
            await tx.rollback()
            raise
        if record:
            await tx.commit()
        else:
            await tx.rollback()
    report.apply = record
    return report


async def _record(
    conn: asyncpg.Connection,
    report: Report,
    rows: dict[str, product_store.ProductRow],
    listed: set[int],
    now: datetime,
) -> None:
    """What the pusher records after looking SKUs up: missing ones, unsupported products."""
    missing = [d.sku for d in report.differences["missing_in_shop"]]
    for sku in missing:
        product_id = rows[sku].product_id
        if product_id is not None and product_id not in listed:
            await product_store.forget_product(conn, product_id)
    if missing:
        await product_store.missing(conn, missing, now)
    for difference in report.differences["unsupported"]:
        await product_store.refused(conn, difference.sku, difference.error or "unsupported")


async def push_differences(
    settings: WooCommerceSettings,
    db: Database,
    client: WooCommerceClient,
    report: Report,
    progress: ProgressFactory,
    overwrite_stock: bool,
    now: datetime,
) -> None:
    """Push the SKUs whose price or stock differs, one lock-holding request at a time."""
    categories = [*reconcile.PUSHED] + (["stock_changed_in_shop"] if overwrite_stock else [])
    entries: dict[str, list[reconcile.Difference]] = {}
    for category in categories:
        for difference in report.differences[category]:
            entries.setdefault(difference.sku, []).append(difference)
    skus = sorted(entries)
    if not skus:
        return
    pusher = push.Pusher(settings, db)
    size = client.batch_size
    bar = progress("pushing to the shop", len(skus))
    try:
        for start in range(0, len(skus), size):
            chunk = skus[start : start + size]
            async with db.transaction() as conn:
                # held through the request, like the PushProducts handler's own transaction
                await xact_lock(conn, push.PUSH_LOCK)
                rows = [
                    reconcile.wanted(r, overwrite_stock=overwrite_stock)
                    for r in await product_store.rows(conn, chunk)
                ]
                sending = [r for r in rows if push.update_for(r) is not None]
                result = await pusher.send(client, sending, now)
            report.requests += 1 if sending else 0
            report.pushed += result.pushed
            taken = set(result.skus) | {r.sku for r in rows if push.update_for(r) is None}
            for sku in chunk:
                for difference in entries[sku]:
                    difference.fixed = sku in taken
                    difference.error = result.refusals.get(sku)
            bar.update(start + len(chunk))
            if result.key_refused is not None:
                raise result.key_refused
            if result.error is not None:
                report.not_pushed = result.error
                for sku in chunk:
                    for difference in entries[sku]:
                        if not difference.fixed and difference.error is None:
                            difference.error = f"not pushed: {result.error}"
                for sku in skus[start + size :]:
                    for difference in entries[sku]:
                        difference.error = f"not pushed: {result.error}"
                break
    finally:
        bar.done()
    log.info(
        "woocommerce reconcile pushed %d products in %d requests", report.pushed, report.requests
    )

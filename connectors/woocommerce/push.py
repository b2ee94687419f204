"""Hub → shop: prices and stock gathered per SKU, pushed in batches of changed fields only.

``PriceChanged``/``StockChanged`` only record the wanted value (``product_store``) and arm the
push window (one durable ``PushProducts`` timer, ``push_window`` seconds). When it fires,
:class:`Pusher` finds the shop's product of each SKU it does not know (one lookup per SKU, or
one listing of every product past ``lookup_listing`` SKUs), then sends the fields that differ
with ``batch_products(update=...)`` (``ceil(N/100)`` requests), and records what the shop
answered. A request that fails leaves its SKUs due: the window is armed again with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

from actors.inventory.messages import StockChanged
from actors.pricing.messages import PriceChanged
from connectors.woocommerce import product_store, sync_store
from connectors.woocommerce.changes import ProductUpdate
from connectors.woocommerce.client import WooCommerceClient
from connectors.woocommerce.errors import Unauthorized, UnknownResource
from connectors.woocommerce.resources import Product
from connectors.woocommerce.settings import WooCommerceSettings
from hub.db import Database, key_lock
from hub.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
PUSH_TIMER = "woocommerce:push-products"
PUSH_KEY = "woocommerce:products"
# The runner's per-key advisory lock (hub/actor.py) that a PushProducts handler holds for its whole
# run: whoever else pushes products (``reconcile.py``) takes it too, so pushes never overlap.
PUSH_LOCK = key_lock("woocommerce", PUSH_KEY)
ROWS_PER_RUN = 1000  # SKUs one push handles; more are left for an immediate next run


def wanted_price(msg: PriceChanged, *, include_tax: bool) -> tuple[Decimal, Decimal | None]:
    """(regular, sale) as the shop shows prices: gross when its prices include VAT."""
    regular = msg.list_gross if include_tax else msg.list_net
    sale = msg.sale_gross if include_tax else msg.sale_net
    return _cents(regular), (_cents(sale) if sale is not None else None)


def wanted_stock(msg: StockChanged) -> int:
    """The figure the shop may sell: the published stock, whole pieces, never negative."""
    return max(0, int(msg.published.to_integral_value(rounding=ROUND_FLOOR)))


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def supported(product: Product) -> str | None:
    """Why the connector does not push to this product (None: a simple product, it does)."""
    if product.type != "simple" or product.parent_id:
        return (
            f"shop product {product.id} is a {product.type} product: only simple products "
            "get prices and stock pushed (variations are not)"
        )
    return None


def update_for(row: product_store.ProductRow) -> ProductUpdate | None:
    """The fields of ``row`` the shop does not hold yet; None when there are none."""
    if row.product_id is None:
        return None
    fields: dict[str, Any] = {}
    if row.price_due:
        if row.regular_price != row.shop_regular_price:
            fields["regular_price"] = row.regular_price
        if row.sale_price != row.shop_sale_price:
            fields["sale_price"] = row.sale_price
    if row.stock_due and row.stock_quantity is not None:
        if row.shop_manage_stock is not True:
            fields["manage_stock"] = True
        if row.shop_stock_quantity != row.stock_quantity:
            fields["stock_quantity"] = row.stock_quantity
    return ProductUpdate(id=row.product_id, **fields) if fields else None


@dataclass
class PushResult:
    """What one push did, and when the next one is due (None: nothing waits)."""

    pushed: int = 0
    failed: int = 0
    retry_at: datetime | None = None
    skus: list[str] = field(default_factory=list)  # taken by the shop
    refusals: dict[str, str] = field(default_factory=dict)  # SKU -> why the shop refused it
    error: str | None = None  # why the rest were not pushed (a failed request)
    key_refused: Unauthorized | None = None  # 401/403: the key was refused, not the items


class Pusher:
    """One push run: look unknown SKUs up, send what differs, record the answers."""

    def __init__(self, settings: WooCommerceSettings, db: Database) -> None:
        self.settings = settings
        self.db = db

    async def run(self, client: WooCommerceClient, now: datetime) -> PushResult:
        """Push what is due (the caller disarmed the window first)."""
        async with self.db.transaction() as conn:
            rows = await product_store.due(conn, ROWS_PER_RUN)
        if not rows:
            return PushResult()
        try:
            unknown = [r.sku for r in rows if r.product_id is None]
            if unknown:
                await self._look_up(client, unknown, now)
                async with self.db.transaction() as conn:
                    rows = await product_store.due(conn, ROWS_PER_RUN)
        except TransientError as exc:
            return await self._failed(f"looking products up: {exc}", now)
        result = await self.send(client, rows, now)
        if result.retry_at is None and len(rows) >= ROWS_PER_RUN:
            result.retry_at = now  # more are due: go on at once
        return result

    async def _look_up(self, client: WooCommerceClient, skus: Sequence[str], now: datetime) -> None:
        found: list[Product] = []
        if len(skus) > self.settings.lookup_listing:
            async for product in client.products():
                if product.sku:
                    found.append(product)
        else:
            for sku in skus:
                one = await client.find_product_by_sku(sku)
                if one is not None:
                    found.append(one)
        await self.learn(found)
        seen = {p.sku for p in found}
        missing = [s for s in skus if s not in seen]
        if missing:
            async with self.db.transaction() as conn:
                await product_store.missing(conn, missing, now)
            log.warning(
                "woocommerce: no shop product holds SKU %s: not pushed until one does",
                ", ".join(missing[:20]) + (f" (+{len(missing) - 20})" if len(missing) > 20 else ""),
            )

    async def learn(self, products: Sequence[Product]) -> None:
        """Keep what the shop holds (the SKU → product map); refuse unsupported products."""
        simple = [p for p in products if supported(p) is None]
        async with self.db.transaction() as conn:
            await product_store.learn(conn, simple)
            for product in products:
                reason = supported(product)
                if reason is not None and product.sku:
                    await product_store.refused(conn, product.sku, reason)

    async def send(
        self, client: WooCommerceClient, rows: Sequence[product_store.ProductRow], now: datetime
    ) -> PushResult:
        """Send what ``rows`` lack in the shop (``update_for``) and record the shop's answers."""
        updates: list[ProductUpdate] = []
        by_id: dict[int, product_store.ProductRow] = {}
        for row in rows:
            update = update_for(row)
            if update is not None:
                updates.append(update)
                by_id[update.id] = row
        if not updates:
            return PushResult()
        outcome = await client.batch_products(update=updates)
        done = [
            (by_id[i].sku, by_id[i].stock_version if by_id[i].stock_due else None)
            for i in outcome.updated
        ]
        async with self.db.transaction() as conn:
            await product_store.learn(conn, outcome.updated.values())
            await product_store.pushed(conn, done, now)
            for failure in outcome.failed:
                row = by_id[failure.id]
                if isinstance(failure.error, UnknownResource):
                    await product_store.forget_product(conn, failure.id)
                elif isinstance(failure.error, Unauthorized):
                    pass  # the key's fault, not the item's: it stays due for after the fix
                elif isinstance(failure.error, PermanentError):
                    await product_store.refused(conn, row.sku, str(failure.error))
        transient = [f for f in outcome.failed if not f.permanent]
        refused = [f for f in outcome.failed if f.permanent]
        key_refused = next(
            (f.error for f in outcome.failed if isinstance(f.error, Unauthorized)), None
        )
        for failure in refused:
            log.error(
                "woocommerce refused the push of %s: %s", by_id[failure.id].sku, failure.error
            )
        if transient:
            result = await self._failed(
                f"{len(transient)} of {len(updates)} products not pushed: {transient[0].error}",
                now,
            )
            result.pushed, result.failed = len(outcome.updated), len(outcome.failed)
            result.skus = [by_id[i].sku for i in outcome.updated]
            result.refusals = {by_id[f.id].sku: str(f.error) for f in refused}
            result.error = str(transient[0].error)
            result.key_refused = key_refused
            return result
        async with self.db.transaction() as conn:
            await sync_store.push_result(conn, None)
        log.info(
            "woocommerce: pushed %d products in %d requests (%d refused)",
            len(outcome.updated),
            outcome.requests,
            len(refused),
        )
        return PushResult(
            pushed=len(outcome.updated),
            failed=len(refused),
            skus=[by_id[i].sku for i in outcome.updated],
            refusals={by_id[f.id].sku: str(f.error) for f in refused},
            key_refused=key_refused,
        )

    async def _failed(self, error: str, now: datetime) -> PushResult:
        async with self.db.transaction() as conn:
            failures = await sync_store.push_result(conn, error[:1000])
        delay = min(
            self.settings.retry_max_backoff,
            max(self.settings.push_window, self.settings.retry_backoff) * 2 ** (failures - 1),
        )
        log.warning(
            "woocommerce push failed (%d in a row), again in %gs: %s", failures, delay, error
        )
        return PushResult(retry_at=now + timedelta(seconds=delay))

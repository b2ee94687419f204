"""Hub → shop: the order status the hub wants the shop to show (``OrderStateChanged``).

The wanted status is recorded (committed) before the call and the one the shop confirmed after
it, so a retry finds what already happened: nothing is sent when the shop confirmed the wanted
status already, and a ``PUT`` of a status repeated after a lost answer sets nothing new. A
429/5xx/timeout/open breaker is raised as it is (``TransientError``: the runtime retries); a
refusal is recorded and raised (dead-lettered).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import cast

from actors.orders.messages import OrderStateChanged
from connectors.woocommerce import store
from connectors.woocommerce.changes import OrderStatus
from connectors.woocommerce.client import WooCommerceClient
from hub.db import Database
from hub.errors import PermanentError, TransientError

log = logging.getLogger(__name__)

STATUSES: frozenset[str] = frozenset(
    ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
)


class StatusPusher:
    """Pushes wanted statuses with the client ``shop()`` gives (or a ``TransientError``)."""

    def __init__(self, db: Database, shop: Callable[[], WooCommerceClient]) -> None:
        self.db = db
        self.shop = shop

    async def wanted(self, msg: OrderStateChanged) -> int | None:
        """Record the status the hub wants; the shop order to push, None if not the shop's."""
        if not msg.order_id.startswith("woo-"):
            return None
        async with self.db.transaction() as conn:
            row = await store.want_status(conn, msg.order_id, msg.woo_status, msg.at)
        return row.shop_order_id if row is not None else None

    async def push(self, shop_order_id: int) -> None:
        """Make the shop show the wanted status, unless it confirmed it already."""
        async with self.db.transaction() as conn:
            row = await store.order(conn, shop_order_id)
        if row is None or row.status_wanted is None or row.status_wanted == row.status_pushed:
            return
        status = row.status_wanted
        if status not in STATUSES:
            await self._refused(shop_order_id, f"{status!r} is not a WooCommerce status")
            return
        client = self.shop()
        try:
            await client.update_order_status(shop_order_id, cast(OrderStatus, status))
        except PermanentError as exc:
            await self._refused(shop_order_id, str(exc))
            raise
        except TransientError as exc:
            async with self.db.transaction() as conn:
                await store.status_failed(conn, shop_order_id, str(exc), refused=False)
            raise
        async with self.db.transaction() as conn:
            await store.status_pushed(conn, shop_order_id, status)
        log.info("woocommerce order %s now shows %s", shop_order_id, status)

    async def sweep(self, before: datetime) -> None:
        """Push the statuses still unconfirmed since before ``before`` (a message was lost)."""
        async with self.db.transaction() as conn:
            due = await store.statuses_due(conn, before)
        for shop_order_id in due:
            try:
                await self.push(shop_order_id)
            except (TransientError, PermanentError) as exc:
                log.warning("woocommerce order %s status still not pushed: %s", shop_order_id, exc)

    async def _refused(self, shop_order_id: int, error: str) -> None:
        async with self.db.transaction() as conn:
            await store.status_failed(conn, shop_order_id, error, refused=True)
        log.error("woocommerce order %s: status push refused: %s", shop_order_id, error)

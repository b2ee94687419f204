"""Hub → shop: the order status the hub wants the shop to show (``OrderStateChanged``).

The wanted status is recorded (committed) before the call and the one the shop confirmed after
it, so a retry finds what already happened: nothing is sent when the shop confirmed the wanted
status already, and a ``PUT`` of a status repeated after a lost answer sets nothing new. A
429/5xx/timeout/open breaker is recorded and raised as it is (``TransientError``): the actor
tries again on a durable timer (:func:`retry_delay`, :func:`retry_timer`) rather than through
the runtime's retries, which an outage longer than them would exhaust. A refusal is recorded
and raised (dead-lettered).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from datetime import datetime
from typing import cast

from actors.orders.messages import OrderStateChanged
from connectors.woocommerce import mapping, store
from connectors.woocommerce.changes import OrderStatus
from connectors.woocommerce.client import WooCommerceClient
from connectors.woocommerce.settings import WooCommerceSettings
from hub.breaker import BreakerOpen
from hub.db import Database
from hub.errors import PermanentError, TransientError
from hub.http import PartnerUnavailable

log = logging.getLogger(__name__)

STATUSES: frozenset[str] = frozenset(
    ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
)


def retry_timer(shop_order_id: int) -> str:
    """The name of the timer that pushes a shop order's status again (one per order)."""
    return f"woo-status:{shop_order_id}"


def retry_key(shop_order_id: int) -> str:
    """The bus key of the retry: the order's key in the orders context (``OrderStateChanged``
    carries it), so a retry and a newer status change of the order never run at once."""
    return f"order:{mapping.order_id(shop_order_id)}"


def retry_delay(settings: WooCommerceSettings, attempt: int, error: TransientError) -> float:
    """Seconds before trying again after try ``attempt`` failed: doubling from
    ``retry_backoff`` up to ``retry_max_backoff`` (jittered in its upper half, so the orders of
    one outage do not all come back at once), never sooner than the error's ``retry_after``
    (an open breaker's time left, a 429's ``Retry-After``)."""
    base = min(settings.retry_max_backoff, settings.retry_backoff * 2.0 ** min(attempt - 1, 32))
    delay = base * random.uniform(0.5, 1.0)
    retry_after = error.retry_after if isinstance(error, BreakerOpen | PartnerUnavailable) else None
    return max(delay, retry_after or 0.0)


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

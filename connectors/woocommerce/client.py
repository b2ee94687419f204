"""Typed client of the WooCommerce REST API v3 (``<store>/wp-json/wc/v3``).

- **Auth**: HTTP Basic with the consumer key and secret, over HTTPS only (plain HTTP only to a
  loopback address: the simulator). Credentials are ``Secret``s, in no log or error.
- **Reads** (``GET``) are repeated on 429/5xx/timeouts by ``hub.http.Outbound``. Lists are
  paged with ``per_page``/``page`` and followed by the ``Link: rel="next"`` header (falling back
  on ``X-WP-TotalPages``), ordered by id so a poll with ``modified_after`` neither skips nor
  repeats an item while the store changes underneath it.
- **Updates** (``PUT``, batch ``update``) only *set* fields to values (``changes.py``), so
  they are repeated like reads: the second time leaves the store as the first did.
- **Creates** (``POST``, batch ``create``) and deletes are never repeated blindly: a 429 (the
  host refused before WordPress ran) is retried; a 5xx or a timeout raises ``PartnerUnavailable``
  with ``outcome_unknown`` set, and the caller looks (``find_product_by_sku``) before resending.
- **Errors**: 4xx answers become ``errors.WooCommerceError`` subclasses; per-item batch errors
  are reported in :class:`~connectors.woocommerce.batch.BatchOutcome`, never raised.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from connectors.woocommerce import answers, batch
from connectors.woocommerce.batch import BatchOutcome
from connectors.woocommerce.changes import (
    CustomerUpdate,
    OrderStatus,
    OrderUpdate,
    ProductCreate,
    ProductUpdate,
    Update,
    wire,
)
from connectors.woocommerce.errors import refusal
from connectors.woocommerce.resources import Customer, Order, Product
from connectors.woocommerce.settings import WooCommerceSettings
from hub.breaker import Breaker, BreakerOpen
from hub.errors import ConfigError, PermanentError, TransientError
from hub.http import HttpResult, Outbound, PartnerUnavailable
from hub.ratelimit import MemoryRateLimiter, RateLimiter
from hub.settings import Secret
from hub.telemetry import Metrics

log = logging.getLogger(__name__)

API = "/wp-json/wc/v3"
T = TypeVar("T")


def check_base_url(url: str) -> str:
    """The store URL without a trailing ``/``; HTTPS, or HTTP to a loopback address only."""
    parts = urlsplit(url.strip())
    host = parts.hostname or ""
    secure = parts.scheme == "https" and bool(host)
    if not secure and not (parts.scheme == "http" and _loopback(host)):
        raise ConfigError(
            f"setting CYPHER_WOOCOMMERCE_BASE_URL must be an https:// store URL (got "
            f"{parts.scheme}://{host or '?'}): Basic auth would send the consumer secret in clear"
        )
    base = url.strip().rstrip("/")
    return base.removesuffix(API).rstrip("/")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def gmt_param(moment: datetime) -> str:
    """A timezone-aware moment as WordPress's ``dates_are_gmt`` filters want it (UTC seconds)."""
    if moment.tzinfo is None:
        raise ValueError("modified_after must be timezone-aware")
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


class WooCommerceClient:
    """Calls to one store (see the module docstring for what is repeated and when)."""

    def __init__(
        self,
        outbound: Outbound,
        consumer_key: Secret | None,
        consumer_secret: Secret | None,
        *,
        page_size: int = 100,
        batch_size: int = 100,
        attempts: int = 3,
        max_wait: float = 30.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.outbound = outbound
        self._key = consumer_key
        self._secret = consumer_secret
        self.page_size = max(1, min(100, page_size))
        self.batch_size = max(1, batch_size)
        self._attempts = max(1, attempts)
        self._max_wait = max_wait
        self._sleep = sleep

    # --- reading ----------------------------------------------------------------------------

    async def get_product(self, product_id: int) -> Product:
        """One product. Raises ``UnknownResource`` when there is none."""
        return answers.resource(await self._call("GET", f"/products/{product_id}"), Product)

    async def get_order(self, order_id: int) -> Order:
        """One order. Raises ``UnknownResource`` when there is none."""
        return answers.resource(await self._call("GET", f"/orders/{order_id}"), Order)

    async def get_customer(self, customer_id: int) -> Customer:
        """One customer. Raises ``UnknownResource`` when there is none."""
        return answers.resource(await self._call("GET", f"/customers/{customer_id}"), Customer)

    async def find_product_by_sku(self, sku: str) -> Product | None:
        """The product holding ``sku`` (any status), or ``None``."""
        async for page in self.pages("products", Product, {"sku": sku, "status": "any"}):
            for product in page.items:
                if product.sku == sku:
                    return product
        return None

    def products(
        self,
        *,
        modified_after: datetime | None = None,
        status: str = "any",
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Product]:
        """Every product (changed after ``modified_after``, when given), by id."""
        query = {"status": status, **_modified(modified_after), **(params or {})}
        return self._each("products", Product, query)

    def orders(
        self,
        *,
        modified_after: datetime | None = None,
        statuses: Sequence[str] = (),
        params: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Order]:
        """Every order (changed after ``modified_after``, when given), by id: the reconcile poll.

        WordPress compares ``modified_after`` strictly and to the second: poll from a little
        before the last change seen and drop what was already handled.
        """
        query = {**_modified(modified_after), **(params or {})}
        if statuses:
            query["status"] = ",".join(statuses)
        return self._each("orders", Order, query)

    def customers(
        self, *, role: str = "all", params: Mapping[str, str] | None = None
    ) -> AsyncIterator[Customer]:
        """Every customer of ``role`` (WooCommerce lists only role ``customer`` by default)."""
        return self._each("customers", Customer, {"role": role, **(params or {})})

    async def _each(self, resource: str, kind: type[T], query: dict[str, str]) -> AsyncIterator[T]:
        async for page in self.pages(resource, kind, query):
            for item in page.items:
                yield item

    async def pages(
        self, resource: str, kind: type[T], params: Mapping[str, str] | None = None
    ) -> AsyncIterator[answers.Page[T]]:
        """The pages of ``GET /<resource>`` (``params`` as WooCommerce names them)."""
        query = {"orderby": "id", "order": "asc", **(params or {})}
        query.update(per_page=str(self.page_size), page="1")
        number = 1
        while True:
            result = await self._call("GET", f"/{resource}", params=query)
            items = [answers.as_kind(entry, kind) for entry in answers.read(result, list)]
            yield answers.page(result, number, items)
            following = answers.next_page(result, number, query, len(items))
            if following is None:
                return
            number, query = following

    # --- writing ----------------------------------------------------------------------------

    async def update_order_status(self, order_id: int, status: OrderStatus) -> Order:
        """Set an order's status (``PUT /orders/<id>``; repeated safely on failures)."""
        return await self.update_order(OrderUpdate(id=order_id, status=status))

    async def update_order(self, update: OrderUpdate) -> Order:
        """Set an order's fields (only those set in ``update``)."""
        return answers.resource(await self._put("orders", update), Order)

    async def update_product(self, update: ProductUpdate) -> Product:
        """Set a product's fields (only those set in ``update``)."""
        return answers.resource(await self._put("products", update), Product)

    async def update_customer(self, update: CustomerUpdate) -> Customer:
        """Set a customer's fields (only those set in ``update``)."""
        return answers.resource(await self._put("customers", update), Customer)

    async def create_product(self, product: ProductCreate) -> Product:
        """Create a product (never repeated blindly: see the module docstring)."""
        return answers.resource(await self._once("/products", wire(product)), Product)

    async def batch_products(
        self,
        *,
        create: Sequence[ProductCreate] = (),
        update: Sequence[ProductUpdate] = (),
        delete: Sequence[int] = (),
    ) -> BatchOutcome[Product]:
        """Create/update/delete products, at most ``batch_size`` items per request."""
        return await self.batch("products", Product, create=create, update=update, delete=delete)

    async def batch_orders(
        self, *, update: Sequence[OrderUpdate] = (), delete: Sequence[int] = ()
    ) -> BatchOutcome[Order]:
        """Update/delete orders, at most ``batch_size`` items per request."""
        return await self.batch("orders", Order, update=update, delete=delete)

    async def batch_customers(
        self,
        *,
        create: Sequence[Mapping[str, Any]] = (),
        update: Sequence[CustomerUpdate] = (),
        delete: Sequence[int] = (),
    ) -> BatchOutcome[Customer]:
        """Create/update/delete customers, at most ``batch_size`` items per request."""
        return await self.batch("customers", Customer, create=create, update=update, delete=delete)

    async def batch(
        self,
        resource: str,
        kind: type[T],
        *,
        create: Sequence[Any] = (),
        update: Sequence[Any] = (),
        delete: Sequence[int] = (),
    ) -> BatchOutcome[T]:
        """``POST /<resource>/batch`` in requests of ``batch_size`` items, one after the other.

        Items come back filed in the outcome; nothing is raised for a refused item or a failed
        request. After a request fails, the rest are not sent (``sent=False``): the store is
        unwell or refuses the key, and the caller retries them later.
        """
        pending, skipped = batch.items(create, update, delete)
        outcome: BatchOutcome[T] = BatchOutcome(skipped=skipped)
        chunks = batch.plan(pending, self.batch_size)
        for number, chunk in enumerate(chunks):
            body = batch.body_of(chunk)
            repeatable = set(body) == {"update"}
            try:
                if repeatable:
                    result = await self._call("POST", f"/{resource}/batch", json=body)
                else:
                    result = await self._once(f"/{resource}/batch", body)
                answer = answers.read(result, dict)
            except (TransientError, PermanentError) as exc:
                outcome.requests += 0 if isinstance(exc, BreakerOpen) else 1
                batch.fail(chunk, exc, outcome, sent=not batch.never_sent(exc))
                for rest in chunks[number + 1 :]:
                    batch.fail(rest, exc, outcome, sent=False)
                log.warning(
                    "woocommerce batch %s stopped at request %d of %d: %s",
                    resource,
                    number + 1,
                    len(chunks),
                    exc,
                )
                break
            outcome.requests += 1
            batch.read_answer(chunk, answer, kind, outcome)
        log.info(
            "woocommerce batch %s: %d items in %d requests, %d failed, %d skipped",
            resource,
            len(pending),
            outcome.requests,
            len(outcome.failed),
            len(skipped),
        )
        return outcome

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.outbound.close()

    # --- transport --------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        if not self._key or not self._secret:
            raise ConfigError(
                "missing setting CYPHER_WOOCOMMERCE_CONSUMER_KEY / "
                "CYPHER_WOOCOMMERCE_CONSUMER_SECRET: cannot call the store"
            )
        pair = f"{self._key.reveal()}:{self._secret.reveal()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> HttpResult:
        """A request that is safe to repeat (``Outbound`` retries it); 4xx raised as typed."""
        result = await self.outbound.request(
            method, path, params=params, json=json, headers=self._auth(), retry=True
        )
        if result.status >= 400:
            raise refusal(result)
        return result

    async def _put(self, resource: str, update: Update) -> HttpResult:
        body = wire(update)
        body.pop("id")  # the body's id would win over the URL's in WordPress's request params
        if not body:
            raise ValueError(f"{resource} {update.id}: nothing to update")
        return await self._call("PUT", f"/{resource}/{update.id}", json=body)

    async def _once(self, path: str, body: Any) -> HttpResult:
        """One attempt, repeated only after a 429: a 5xx or timeout may have created it."""
        for attempt in range(1, self._attempts + 1):
            try:
                result = await self.outbound.request(
                    "POST", path, json=body, headers=self._auth(), retry=False
                )
            except PartnerUnavailable as exc:
                if exc.status == 429:
                    wait = exc.retry_after if exc.retry_after is not None else 2.0**attempt
                    if attempt < self._attempts and wait <= self._max_wait:
                        await self._sleep(wait)
                        continue
                    raise
                if exc.status is not None and not exc.outcome_unknown:
                    raise PartnerUnavailable(
                        exc.name,
                        f"HTTP {exc.status}: the store may have saved it before failing",
                        status=exc.status,
                        outcome_unknown=True,
                        retry_after=exc.retry_after,
                    ) from exc
                raise
            if result.status >= 400:
                raise refusal(result)
            return result
        raise AssertionError("unreachable")  # pragma: no cover


def build(
    settings: WooCommerceSettings,
    *,
    limiter: RateLimiter | None = None,
    breaker: Breaker | None = None,
    metrics: Metrics | None = None,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> WooCommerceClient:
    """The client of ``settings.base_url`` with its breaker and rate limit."""
    base = check_base_url(settings.base_url)
    breaker = breaker or Breaker(
        "woocommerce",
        fail_max=settings.breaker_fail_max,
        reset_timeout=settings.breaker_reset_timeout,
        metrics=metrics,
    )
    outbound = Outbound(
        "woocommerce",
        base_url=base + API,
        breaker=breaker,
        timeout=settings.timeout,
        limiter=limiter or MemoryRateLimiter(),
        per_second=settings.per_second,
        burst=settings.burst,
        attempts=settings.attempts,
        backoff=settings.retry_backoff,
        max_backoff=settings.retry_max_backoff,
        metrics=metrics,
        sleep=sleep,
    )
    return WooCommerceClient(
        outbound,
        settings.consumer_key,
        settings.consumer_secret,
        page_size=settings.page_size,
        batch_size=settings.batch_size,
        attempts=settings.attempts,
        max_wait=settings.retry_max_backoff,
        sleep=sleep,
    )


def _modified(moment: datetime | None) -> dict[str, str]:
    if moment is None:
        return {}
    return {"modified_after": gmt_param(moment), "dates_are_gmt": "true"}

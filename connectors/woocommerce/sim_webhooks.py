"""The simulator's webhooks, delivered as ``WC_Webhook::deliver`` does.

- A change fires each *active* webhook of its topic once per request (``is_already_processed``)
  in the background; the body is built when the delivery runs (the resource as it is then,
  ``GET /wc/v3/<kind>s/<id>``; ``{"id": N}`` for ``deleted``), encoded by ``wp_json_encode``.
- Headers: ``X-WC-Webhook-Source`` (``home_url('/')``), ``-Topic``, ``-Resource``, ``-Event``,
  ``-Signature`` (Base64 of HMAC-SHA256 of the body, keyed by the secret after
  ``wp_specialchars_decode``), ``-ID``, ``-Delivery-ID`` (``wp_hash(id . time())``: the same for
  two deliveries of one webhook in one second). POST, no redirects followed, 60 s timeout.
- 2xx/300/301/302 resets ``failure_count``; anything else counts a failure and a webhook whose
  count is already past 5 is disabled. Nothing is ever re-sent.
- ``lose_next``/``lose_all`` drop deliveries before they are sent (a stalled WP-Cron, a host
  that never ran the job): the reconciliation poll has to find those changes.
- The activation ping is an unsigned form body ``webhook_id=<id>``; only 200 succeeds.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from connectors.woocommerce.sim_store import Event, Store
from connectors.woocommerce.sim_wp import RestError, php_json
from connectors.woocommerce.webhooks import wp_specialchars_decode

log = logging.getLogger(__name__)

USER_AGENT = "WooCommerce/9.8.0 Hookshot (WordPress/6.8.1)"
MAX_FAILURES = 5  # woocommerce_max_webhook_delivery_failures


@dataclass
class Webhook:
    """One webhook of the shop (WooCommerce > Settings > Advanced > Webhooks)."""

    id: int
    topic: str  # "order.created"
    delivery_url: str
    secret: str
    status: str = "active"  # active | paused | disabled
    failure_count: int = 0
    name: str = ""

    @property
    def resource(self) -> str:
        return self.topic.partition(".")[0]

    @property
    def event(self) -> str:
        return self.topic.partition(".")[2]


@dataclass
class Delivery:
    """One delivery attempted (or lost), with what was sent and what came back."""

    webhook_id: int
    topic: str
    resource_id: int
    delivery_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    status: int | None = None  # the receiver's answer; None: no answer (or lost)
    lost: bool = False
    error: str | None = None


@dataclass
class WebhookSender:
    """Webhooks of one simulated shop and the deliveries they made."""

    store: Store
    hooks: dict[int, Webhook] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    lose_next: int = 0
    lose_all: bool = False
    clock: Callable[[], float] = time.time
    _salt: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _next_id: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _session: aiohttp.ClientSession | None = None

    def add(self, topic: str, delivery_url: str, secret: str, *, status: str = "active") -> Webhook:
        """A webhook for ``topic`` (``order.updated``...) delivering to ``delivery_url``."""
        self._next_id += 1
        hook = Webhook(self._next_id, topic, delivery_url, secret, status)
        self.hooks[hook.id] = hook
        return hook

    def fire(self, events: Iterable[Event]) -> None:
        """Schedule the deliveries of one request's ``events`` (each webhook once per resource)."""
        seen: set[tuple[int, int]] = set()
        for kind, event, ident in events:
            for hook in list(self.hooks.values()):
                if hook.topic != f"{kind}.{event}" or hook.status != "active":
                    continue
                if (hook.id, ident) in seen:
                    continue
                seen.add((hook.id, ident))
                if self.lose_all or self.lose_next > 0:
                    self.lose_next = max(0, self.lose_next - 1)
                    self.deliveries.append(Delivery(hook.id, hook.topic, ident, lost=True))
                    continue
                task = asyncio.get_running_loop().create_task(self._deliver(hook, ident))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def flush(self) -> None:
        """Wait for every delivery scheduled so far."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def payload(self, hook: Webhook, ident: int) -> bytes:
        """The body as WooCommerce builds it at delivery time."""
        if hook.event == "deleted":
            data: Any = {"id": ident}
        else:
            try:
                data = self.store.view(hook.resource, ident)
            except RestError as exc:  # gone since: the REST error becomes the payload
                data = exc.body()
        return php_json(data).strip()

    def sign(self, secret: str, body: bytes) -> str:
        """``X-WC-Webhook-Signature`` of ``body``."""
        key = wp_specialchars_decode(secret).encode()
        return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode("ascii")

    def delivery_id(self, hook: Webhook) -> str:
        """``wp_hash($id . time())``: HMAC-MD5 with the site's salt, per second."""
        data = f"{hook.id}{int(self.clock())}".encode()
        return hmac.new(self._salt, data, hashlib.md5).hexdigest()

    def headers(self, hook: Webhook, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": self.store.store_url + "/",
            "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": hook.resource,
            "X-WC-Webhook-Event": hook.event,
            "X-WC-Webhook-Signature": self.sign(hook.secret, body),
            "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": self.delivery_id(hook),
        }

    async def _deliver(self, hook: Webhook, ident: int) -> None:
        body = self.payload(hook, ident)
        headers = self.headers(hook, body)
        record = Delivery(
            hook.id, hook.topic, ident, headers["X-WC-Webhook-Delivery-ID"], headers, body
        )
        self.deliveries.append(record)
        try:
            async with self._http().post(
                hook.delivery_url,
                data=body,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=60),
            ) as response:
                record.status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
        if record.status is not None and 200 <= record.status < 303:
            hook.failure_count = 0
        elif hook.failure_count > MAX_FAILURES:
            hook.status = "disabled"
            log.warning("webhook %d disabled after %d failures", hook.id, hook.failure_count)
        else:
            hook.failure_count += 1

    async def ping(self, hook_id: int) -> int | None:
        """The activation ping; the receiver's status (only 200 activates the webhook)."""
        hook = self.hooks[hook_id]
        try:
            async with self._http().post(
                hook.delivery_url,
                data=f"webhook_id={hook.id}".encode(),
                headers={
                    "User-Agent": USER_AGENT,
                    "Content-Type": "application/x-www-form-urlencoded",
                },
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=60),
            ) as response:
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(version=aiohttp.HttpVersion10)
        return self._session

    async def close(self) -> None:
        """Stop pending deliveries and close the session."""
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

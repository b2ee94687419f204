"""A local stand-in for a WooCommerce store's REST API v3 and its webhooks (tests, sandbox, demo).

Paths under ``/wp-json/wc/v3``: ``products``, ``orders``, ``customers`` (list, create, read,
update, delete, ``batch``). It answers as WordPress does: Basic auth with consumer keys (an
unknown key is anonymous: 401 ``woocommerce_rest_cannot_view``...; a wrong secret 401
``woocommerce_rest_authentication_error``), argument checks before permissions, WP_Error
bodies, paging headers, 413 past the batch limit, unknown fields ignored, PHP-style JSON. It
keeps every request it saw (:attr:`WooCommerceSimulator.requests`: method, path, status, batch
items) so a test can count calls, can be told to fail (:class:`Faults`), and sends webhooks
(``sim_webhooks.py``). Details and decisions: docs/WOOCOMMERCE.md.

Sandbox: ``python -m connectors.woocommerce.simulator --port 8027 --seed 250
--webhook-url http://127.0.0.1:8080/webhooks/woocommerce --webhook-secret dev-webhook-secret``.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from connectors.woocommerce import sim_query, sim_rest
from connectors.woocommerce.sim_rest import API
from connectors.woocommerce.sim_store import ARGS, Event, Store
from connectors.woocommerce.sim_webhooks import Webhook, WebhookSender
from connectors.woocommerce.sim_wp import RestError, validate


@dataclass
class Request:
    """One request as the simulator saw it."""

    method: str
    path: str  # under /wp-json/wc/v3, e.g. "/products/batch"
    query: dict[str, str]
    at: float  # time.time() on arrival
    status: int | None = None  # None: the connection was dropped without an answer
    items: int | None = None  # batch requests: create + update + delete items
    body: Any = None  # the JSON body of a write, as received


@dataclass
class Faults:
    """Failures to act out; counters go down as requests use them."""

    latency: float = 0.0  # seconds between doing the work and answering
    fail_after: int = 0  # requests let through before fail_next applies
    fail_next: int = 0  # answer fail_status (WordPress's fatal-error body) to this many
    fail_status: int = 500
    outage_until: float = 0.0  # time.time() until which every request gets outage_status
    outage_status: int = 503
    throttle_next: int = 0  # answer 429 with Retry-After to this many (the host's limiter)
    retry_after: int | None = 10
    drop_next: int = 0  # do the work, then close the connection without an answer


@dataclass
class WooCommerceSimulator:
    """State of one simulated store."""

    keys: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {"ck_test": ("cs_test", "read_write")}
    )  # consumer key -> (secret, "read" | "write" | "read_write")
    store: Store = field(default_factory=Store)
    batch_limit: int = 100  # woocommerce_rest_batch_items_limit
    per_second: int | None = None  # the host's limit (429 past it); None: no limit
    faults: Faults = field(default_factory=Faults)
    requests: list[Request] = field(default_factory=list)
    webhooks: WebhookSender = field(init=False)
    _window: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        self.webhooks = WebhookSender(self.store)

    # --- seeding and shop-side changes ------------------------------------------------------

    def add_product(self, *, modified: datetime | None = None, **fields: Any) -> dict[str, Any]:
        """A product in the store (no webhook); ``modified`` sets its ``date_modified``."""
        return self._seed("product", fields, modified)

    def add_order(self, *, modified: datetime | None = None, **fields: Any) -> dict[str, Any]:
        """An order placed at checkout (no webhook). ``line_items``: ``{sku|product_id,
        quantity[, price]}``; totals with VAT are computed."""
        return self._seed("order", {"created_via": "checkout", **fields}, modified)

    def add_customer(self, *, modified: datetime | None = None, **fields: Any) -> dict[str, Any]:
        """A registered customer (no webhook); ``role`` defaults to ``customer``."""
        return self._seed("customer", fields, modified)

    def place_order(self, **fields: Any) -> dict[str, Any]:
        """A customer orders in the shop: the order, and its ``order.created`` webhooks."""
        order = self.add_order(**fields)
        self.webhooks.fire([("order", "created", order["id"])])
        return order

    def change(self, kind: str, ident: int, **fields: Any) -> dict[str, Any]:
        """Someone edits a record in the shop's admin: saved, ``<kind>.updated`` fired."""
        record, events = self.store.update(kind, ident, _plain(fields), strict=False)
        self.webhooks.fire(events)
        return record

    def add_webhook(self, topic: str, delivery_url: str, secret: str) -> Webhook:
        """An active webhook (send its activation ping with ``await sim.webhooks.ping(id)``)."""
        return self.webhooks.add(topic, delivery_url, secret)

    def outage(self, seconds: float) -> None:
        """Answer ``faults.outage_status`` to everything for ``seconds``."""
        self.faults.outage_until = time.time() + seconds

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        """The requests seen, of ``method`` and whose path starts with ``path`` when given."""
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path.startswith(path))
        ]

    def _seed(self, kind: str, fields: dict[str, Any], modified: datetime | None) -> dict[str, Any]:
        via = str(fields.pop("created_via", "admin"))
        record, _ = self.store.create(kind, _plain(fields), strict=False, via=via)
        stored = self.store.records[kind][record["id"]]
        if modified is not None:
            self.store.stamp(stored, modified, created=True)
        return dict(stored)

    # --- HTTP -------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path.removeprefix(API) if request.path.startswith(API) else request.path
        record = Request(request.method, path, dict(request.query), time.time())
        self.requests.append(record)
        response = self._fault()
        if response is None:  # the request reaches WordPress
            try:
                response = await self._serve(request, path, record)
            except RestError as exc:
                response = sim_rest.error_response(exc)
            if self.faults.drop_next > 0:
                self.faults.drop_next -= 1
                if request.transport is not None:
                    request.transport.abort()  # the work is done; the answer never arrives
                return response
        if self.faults.latency:  # PHP finishes the work even if the client stops waiting
            await asyncio.sleep(self.faults.latency)
        record.status = response.status
        return response

    def _fault(self) -> web.Response | None:
        if time.time() < self.faults.outage_until:
            return sim_rest.fatal(self.faults.outage_status)
        if self.faults.throttle_next > 0 or self._over_limit():
            self.faults.throttle_next = max(0, self.faults.throttle_next - 1)
            headers = {}
            if self.faults.retry_after is not None:
                headers["Retry-After"] = str(self.faults.retry_after)
            return web.Response(
                status=429,
                text="<html><body><h1>429 Too Many Requests</h1></body></html>",
                content_type="text/html",
                headers=headers,
            )
        if self.faults.fail_next > 0 and self.faults.fail_after > 0:
            self.faults.fail_after -= 1
        elif self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            return sim_rest.fatal(self.faults.fail_status)
        return None

    def _over_limit(self) -> bool:
        if self.per_second is None:
            return False
        now = int(time.time())
        start, used = self._window
        if start != now:
            start, used = now, 0
        self._window = (start, used + 1)
        return used + 1 > self.per_second

    async def _serve(self, request: web.Request, path: str, record: Request) -> web.Response:
        anonymous = self._authenticate(request)
        match = sim_rest.ROUTE.match(path)
        action = sim_rest.action_of(request.method, match.group(2) if match else None)
        if match is None or action is None:
            raise RestError(
                404, "rest_no_route", "No route was found matching the URL and request method."
            )
        kind = sim_rest.KINDS[match.group(1)]
        body = await sim_rest.read_body(request) if action in ("create", "update", "batch") else {}
        record.body = body or None
        if action == "batch":
            record.items = sum(len(v) for v in body.values() if isinstance(v, list))
        origin = f"{request.scheme}://{request.host}"
        if anonymous:
            self._check_only(kind, action, request, body)
            code, message = sim_rest.CANNOT[action]
            raise RestError(401, code, message)
        return await self._dispatch(kind, action, match.group(2), request, body, origin)

    def _authenticate(self, request: web.Request) -> bool:
        """True when the request is anonymous; raises for a wrong secret or permission."""
        key = request.query.get("consumer_key", "")
        secret = request.query.get("consumer_secret", "")
        if not (key and secret):
            key, secret = sim_rest.basic_credentials(request.headers.get("Authorization", ""))
        known = self.keys.get(key) if key and secret else None
        if known is None:
            return True
        if not hmac.compare_digest(known[0], secret):
            raise RestError(
                401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
            )
        needed = "read" if request.method in ("GET", "HEAD") else "write"
        if needed not in known[1].split("_"):
            raise RestError(
                401,
                "woocommerce_rest_authentication_error",
                f"The API key provided does not have {needed} permissions.",
            )
        return False

    def _check_only(self, kind: str, action: str, request: web.Request, body: Any) -> None:
        """WordPress checks the arguments before the permission callback."""
        if action == "list":
            sim_query.run(self.store, kind, request.query)
        elif action in ("create", "update"):
            validate(body, ARGS[kind])

    async def _dispatch(
        self,
        kind: str,
        action: str,
        ident: str | None,
        request: web.Request,
        body: dict[str, Any],
        origin: str,
    ) -> web.Response:
        events: list[Event] = []
        if action == "list":
            listing = sim_query.run(self.store, kind, request.query)
            headers = CIMultiDict[str]()
            headers["X-WP-Total"] = str(listing.total)
            headers["X-WP-TotalPages"] = str(listing.total_pages)
            links = sim_query.link_headers(origin + request.path, request.query, listing)
            headers["Link"] = ", ".join(links) if links else sim_rest.api_link(origin)
            return sim_rest.respond(listing.items, 200, headers)
        if action == "read":
            return sim_rest.respond(self.store.view(kind, int(ident or 0)), 200)
        if action == "create":
            created, events = self.store.create(kind, body, strict=True)
            self.webhooks.fire(events)
            location = f"{origin}{API}/{kind}s/{created['id']}"
            return sim_rest.respond(created, 201, {"Location": location})
        if action == "update":
            updated, events = self.store.update(kind, int(ident or 0), body, strict=True)
            self.webhooks.fire(events)
            return sim_rest.respond(updated, 200)
        if action == "delete":
            force = request.query.get("force", "") in ("true", "1")
            deleted, events = self.store.delete(kind, int(ident or 0), force=force)
            self.webhooks.fire(events)
            return sim_rest.respond(deleted, 200)
        answer = sim_rest.batch_items(self.store, kind, body, self.batch_limit, events)
        self.webhooks.fire(events)
        return sim_rest.respond(answer, 200)


def _plain(fields: dict[str, Any]) -> dict[str, Any]:
    """Seeding arguments as JSON would carry them (``Decimal`` prices → strings)."""
    plain: dict[str, Any] = json.loads(json.dumps(fields, default=_jsonable))
    return plain


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def create_app(sim: WooCommerceSimulator | None = None) -> web.Application:
    """The simulator's aiohttp app (its state under ``app[SIMULATOR]``)."""
    sim = sim or WooCommerceSimulator()
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[SIMULATOR] = sim
    app.router.add_route("*", "/{tail:.*}", sim.handle)

    async def close(app: web.Application) -> None:
        await sim.webhooks.close()

    app.on_cleanup.append(close)
    return app


SIMULATOR = web.AppKey("woocommerce_simulator", WooCommerceSimulator)
WEBHOOK_TOPICS = tuple(
    f"{kind}.{event}"
    for kind in ("order", "product", "customer")
    for event in ("created", "updated")
)


def demo_catalog(count: int) -> Iterator[dict[str, Any]]:
    """``count`` LED products to seed a sandbox store with."""
    kinds = ("Banda LED 5050 12V", "Profil aluminiu 2m", "Sursa 12V 100W", "Bec LED E27 9W")
    for n in range(1, count + 1):
        yield {
            "name": f"{kinds[n % len(kinds)]} #{n}",
            "sku": f"LDX-{n:05d}",
            "regular_price": f"{19 + n % 50}.90",
            "manage_stock": True,
            "stock_quantity": n % 40,
        }


def main() -> None:
    """Run on a loopback port (sandbox mode)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8027)
    parser.add_argument("--consumer-key", default="ck_test")
    parser.add_argument("--consumer-secret", default="cs_test")
    parser.add_argument("--seed", type=int, default=0, help="demo products to create")
    parser.add_argument("--per-second", type=int, default=None)
    parser.add_argument("--webhook-url", help="e.g. http://127.0.0.1:8080/webhooks/woocommerce")
    parser.add_argument("--webhook-secret", default="dev-webhook-secret")
    args = parser.parse_args()
    sim = WooCommerceSimulator(
        keys={args.consumer_key: (args.consumer_secret, "read_write")}, per_second=args.per_second
    )
    for product in demo_catalog(args.seed):
        sim.add_product(**product)
    if args.webhook_url:
        for topic in WEBHOOK_TOPICS:
            sim.add_webhook(topic, args.webhook_url, args.webhook_secret)
    print(f"WooCommerce simulator on http://{args.host}:{args.port}{API} ({args.seed} products)")
    web.run_app(create_app(sim), host=args.host, port=args.port)


if __name__ == "__main__":
    main()

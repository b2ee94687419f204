"""``cypher-hub demo``: shop orders into the sandbox, and what the hub makes of them.

It plays the shop's checkout against the WooCommerce simulator of a running sandbox hub
(``POST /wp-json/wc/v3/orders``, which fires the ``order.created`` webhook at the hub), then
watches each order go through: the hub's order and its state (``/api/v1/orders``), the SmartBill
document made for it and the emails sent (the sandbox's ``/sandbox`` views of the simulators),
the status the hub set back in the shop (the shop's REST API). Card and cash-on-delivery orders
are shipped through the hub's API once confirmed, as the warehouse would, so their invoice
(cash on delivery: at shipment) and the shop's ``completed`` appear too; bank transfers stop at
their proforma, waiting for the money.

Shipping and reading the hub's orders need an API key: the demo creates a ``warehouse`` key in
the hub's database for the run (the database the settings name: the sandbox's embedded one) and
revokes it at the end; it is never printed. ``--no-ship`` does without.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from connectors.sandbox.people import Method, Product, method_of, shop_order
from hub.errors import DomainError
from hub.settings import HubSettings

POLL = 0.5  # seconds between two looks at the sandbox
_REQUEST = re.compile(r"\((?:invoice|proforma|credit_note):woo-(\d+)[:)]")
KINDS = {"invoice": "invoice", "estimate": "proforma"}
METHODS: dict[Method, str] = {"card": "card", "cod": "cash on delivery", "transfer": "transfer"}


@dataclass(frozen=True)
class Options:
    """What ``cypher-hub demo`` was asked to do."""

    url: str
    orders: int = 10  # 0: until interrupted
    rate: float = 20.0  # orders per minute
    timeout: float = 120.0  # seconds an order may take to go through
    seed: int | None = None
    ship: bool = True


@dataclass
class Tracked:
    """One demo order and what has been seen of it so far."""

    shop_id: int
    method: Method
    placed: float  # time.monotonic()
    total: str = ""  # the shop's gross
    hub_number: str | None = None
    hub_state: str | None = None
    statuses: int = 0  # statuses the hub set in the shop, seen so far
    shop_status: str = ""
    pushed: list[str] = field(default_factory=list)
    documents: dict[str, str] = field(default_factory=dict)  # "invoice LDX 0001" -> total
    emails: int = 0
    shipped: bool = False
    finished: float | None = None
    late: bool = False

    @property
    def order_id(self) -> str:
        return f"woo-{self.shop_id}"

    def complete(self, ship: bool) -> bool:
        """Whether everything the demo waits for has happened."""
        kinds = {name.split()[0] for name in self.documents}
        if self.method == "transfer":
            return "proforma" in kinds and "processing" in self.pushed
        if ship:
            return "invoice" in kinds and "completed" in self.pushed
        if self.method == "card":
            return "invoice" in kinds and "processing" in self.pushed
        return "processing" in self.pushed


class Demo:
    """Places the orders and reports on them as the sandbox shows their progress."""

    def __init__(
        self,
        options: Options,
        http: aiohttp.ClientSession,
        out: Callable[[str], None] = print,
    ) -> None:
        self.options = options
        self.http = http
        self.out = out
        self.rng = random.Random(options.seed)
        self.orders: dict[int, Tracked] = {}
        self.api_key: str | None = None
        self.started = datetime.now(UTC)
        self.woo: dict[str, Any] = {}

    # --- talking to the sandbox ------------------------------------------------------------

    async def discover(self) -> None:
        """Ask the hub where its simulators are; refuse a hub that runs no sandbox."""
        url = self.options.url.rstrip("/") + "/sandbox"
        try:
            async with self.http.get(url) as resp:
                if resp.status == 404:
                    raise DomainError(
                        f"the hub at {self.options.url} runs no sandbox (start one with "
                        "`make run`: embedded mode, CYPHER_SANDBOX=auto)"
                    )
                resp.raise_for_status()
                info = await resp.json()
        except aiohttp.ClientConnectionError:
            raise DomainError(
                f"no hub answers at {self.options.url}: start it with `make run` "
                "(or give its address with --url)"
            ) from None
        woo = info["simulated"].get("woocommerce")
        if woo is None:
            raise DomainError(
                "WooCommerce is configured for real in this hub, not simulated: the demo only "
                "places orders in the sandbox's simulated shop"
            )
        self.woo = woo
        self.simulated: dict[str, Any] = info["simulated"]

    async def products(self) -> list[Product]:
        """The shop's products in stock, as the storefront lists them."""
        found: list[Product] = []
        page = 1
        while True:
            batch = await self._woo("GET", "/products", params={"per_page": "100", "page": page})
            for p in batch:
                stock = p.get("stock_quantity") or 0
                if p.get("sku") and p.get("price") and p.get("status") == "publish" and stock >= 10:
                    found.append(Product(p["id"], p["sku"], p["name"], p["price"], stock))
            if len(batch) < 100:
                break
            page += 1
        if not found:
            raise DomainError("the simulated shop has no product in stock to order")
        return found

    async def _woo(self, method: str, path: str, **kwargs: Any) -> Any:
        auth = aiohttp.BasicAuth(self.woo["consumer_key"], self.woo["consumer_secret"])
        async with self.http.request(method, self.woo["api"] + path, auth=auth, **kwargs) as resp:
            body = await resp.json(content_type=None)
            if resp.status >= 400:
                raise DomainError(f"the shop answered {resp.status} to {method} {path}: {body}")
            return body

    async def _sandbox(self, path: str, key: str) -> list[dict[str, Any]]:
        async with self.http.get(self.options.url.rstrip("/") + path) as resp:
            if resp.status != 200:
                return []
            items: list[dict[str, Any]] = (await resp.json())[key]
            return items

    async def _api(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        assert self.api_key is not None
        headers = {"X-API-Key": self.api_key}
        url = self.options.url.rstrip("/") + "/api/v1" + path
        async with self.http.request(method, url, headers=headers, **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)

    # --- the run -----------------------------------------------------------------------------

    async def run(self) -> int:
        """Place the orders at the rate asked, report until each went through; 0 if all did."""
        await self.discover()
        products = await self.products()
        self._intro(len(products))
        placing = asyncio.create_task(self._place_all(products))
        try:
            while True:
                await self.poll()
                if placing.done() and all(
                    o.finished is not None or o.late for o in self.orders.values()
                ):
                    break
                await asyncio.sleep(POLL)
            await placing  # its error, if it failed
        finally:
            placing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await placing
        return self._summary()

    def _intro(self, products: int) -> None:
        count = self.options.orders or "endless"
        self.out(f"shop: {self.woo['api']} ({products} products in stock)")
        self.out(f"hub:  {self.options.url}")
        self.out(
            "each order: shop checkout -> webhook -> hub (prices, stock, order) -> SmartBill "
            "document -> emails -> status set back in the shop"
        )
        if self.api_key is None:
            self.out("no API key: nothing is shipped and the hub's orders are not read")
        self.out(f"placing {count} orders, {self.options.rate:g} a minute\n")

    async def _place_all(self, products: list[Product]) -> None:
        interval = 60.0 / self.options.rate
        n = 0
        while not self.options.orders or n < self.options.orders:
            await self.place(n, products)
            n += 1
            if not self.options.orders or n < self.options.orders:
                await asyncio.sleep(interval)

    async def place(self, n: int, products: list[Product]) -> Tracked:
        """The checkout of the n-th order: the shop stores it and tells the hub (webhook)."""
        body = shop_order(self.rng, n, products)
        order = await self._woo("POST", "/orders", json=body)
        tracked = Tracked(order["id"], method_of(body), time.monotonic(), order["total"])
        tracked.shop_status = order["status"]
        self.orders[tracked.shop_id] = tracked
        billing = order["billing"]
        who = billing["company"] or f"{billing['first_name']} {billing['last_name']}"
        place = billing["city"] + (
            f" {billing['address_2'].split(',')[0]}" if billing["state"] == "B" else ""
        )
        lines = len(order["line_items"])
        self._say(
            tracked,
            f"new shop order: {who}, {place} ({billing['state']}) · "
            f"{METHODS[tracked.method]} ({order['payment_method']}) · {lines} "
            f"line{'s' if lines > 1 else ''} · {order['total']} RON · shop status "
            f"{order['status']}",
        )
        return tracked

    async def poll(self) -> None:
        """One look at everything; report what is new."""
        waiting = [o.shop_id for o in self.orders.values() if o.finished is None and not o.late]
        if not waiting:
            return
        ids = ",".join(str(i) for i in waiting[:100])
        shop = await self._woo("GET", "/orders", params={"include": ids, "per_page": "100"})
        updates = await self._sandbox("/sandbox/woocommerce/status-updates", "updates")
        documents = await self._sandbox("/sandbox/smartbill/documents", "documents")
        emails = await self._sandbox("/sandbox/sendgrid/emails", "emails")
        hub = await self._hub_orders()
        pushed: dict[int, list[str]] = {}
        for update in updates:
            pushed.setdefault(update["order"], []).append(update["status"])
        found: dict[int, dict[str, str]] = {}
        for doc in documents:
            for match in _REQUEST.finditer(doc["observations"]):
                name = f"{KINDS.get(doc['kind'], doc['kind'])} {doc['series']} {doc['number']}"
                found.setdefault(int(match.group(1)), {})[name] = doc["total"]
        for order in shop:
            tracked = self.orders.get(order["id"])
            if tracked is not None:
                tracked.shop_status = order["status"]
        for tracked in list(self.orders.values()):
            if tracked.finished is not None or tracked.late:
                continue
            await self._follow(tracked, hub.get(tracked.order_id), pushed, found, emails)

    async def _hub_orders(self) -> dict[str, dict[str, Any]]:
        if self.api_key is None:
            return {}
        since = self.started.isoformat()
        params = {"source": "woocommerce", "since": since, "limit": "200"}
        status, body = await self._api("GET", "/orders", params=params)
        if status != 200:
            self.out(f"hub API answered {status}: {body.get('error')}; not reading it any more")
            self.api_key = None
            return {}
        return {o["id"]: o for o in body["data"]}

    async def _follow(
        self,
        tracked: Tracked,
        hub: dict[str, Any] | None,
        pushed: dict[int, list[str]],
        documents: dict[int, dict[str, str]],
        emails: list[dict[str, Any]],
    ) -> None:
        if hub is not None and hub["state"] != tracked.hub_state:
            tracked.hub_state, tracked.hub_number = hub["state"], hub["number"]
            self._say(tracked, f"hub: order {hub['number']} {hub['state'].replace('_', ' ')}")
        for status in pushed.get(tracked.shop_id, [])[tracked.statuses :]:
            tracked.statuses += 1
            tracked.pushed.append(status)
            self._say(tracked, f"shop: status {status} (set by the hub)")
        for name, total in documents.get(tracked.shop_id, {}).items():
            if name not in tracked.documents:
                tracked.documents[name] = total
                self._say(
                    tracked, f"SmartBill: {name} · {total} RON" + self._differs(tracked, total)
                )
        if tracked.hub_number:
            mine = [e for e in emails if tracked.hub_number in (e.get("subject") or "")]
            for mail in mine[tracked.emails :]:
                self._say(tracked, f"email to {', '.join(mail['to'])}: {mail['subject']!r}")
            tracked.emails = max(tracked.emails, len(mine))
        if self._shippable(tracked):
            await self._ship(tracked)
        if tracked.complete(self.options.ship and self.api_key is not None):
            tracked.finished = time.monotonic()
            self._say(tracked, f"done in {tracked.finished - tracked.placed:.1f} s")
        elif time.monotonic() - tracked.placed > self.options.timeout:
            tracked.late = True
            waited = f"{self.options.timeout:g} s"
            self._say(tracked, f"still not through after {waited}: {self._wait(tracked)}")

    @staticmethod
    def _differs(tracked: Tracked, total: str) -> str:
        if total == tracked.total:  # (the demo ships everything at once: one invoice)
            return ""
        return (
            f" (the shop said {tracked.total}: it had not got the hub's newest prices yet; the "
            "hub flagged the order, see woocommerce.OrderTotalsMismatch)"
        )

    def _shippable(self, tracked: Tracked) -> bool:
        return (
            self.options.ship
            and self.api_key is not None
            and not tracked.shipped
            and tracked.method in ("card", "cod")
            and tracked.hub_state in ("confirmed", "processing")
        )

    async def _ship(self, tracked: Tracked) -> None:
        tracked.shipped = True
        awb = f"FAN {self.rng.randint(10**9, 10**10 - 1)}"
        path = f"/orders/{tracked.order_id}/shipments"
        body = {"tracking": awb, "shipment_id": f"demo-{tracked.order_id}"}
        status, answer = await self._api("POST", path, json=body)
        if status == 202:
            self._say(tracked, f"warehouse: shipped everything, {awb} (POST /api/v1{path})")
        else:
            error = (answer or {}).get("error") or {}
            self._say(tracked, f"warehouse: the hub refused the shipment ({status}: {error})")

    def _wait(self, tracked: Tracked) -> str:
        if tracked.hub_state is None:
            return "the hub has no order for it yet (parked? see `cypher-hub dlq list`)"
        return (
            f"hub state {tracked.hub_state}, documents {sorted(tracked.documents) or 'none'}, "
            f"statuses set in the shop {tracked.pushed or 'none'}"
        )

    def _say(self, tracked: Tracked, text: str) -> None:
        now = datetime.now().strftime("%H:%M:%S")
        self.out(f"{now}  #{tracked.shop_id:<4} {text}")

    def _summary(self) -> int:
        done = [o for o in self.orders.values() if o.finished is not None]
        self.out("")
        self.out(f"{len(self.orders)} orders placed, {len(done)} went all the way through:")
        for o in self.orders.values():
            docs = ", ".join(o.documents) or "no document"
            state = o.hub_state or "?"
            mark = "ok  " if o.finished is not None else "WAIT"
            self.out(
                f"  {mark} #{o.shop_id:<4} {METHODS[o.method]:16} {o.hub_number or '-':11} "
                f"{state:10} {docs:34} shop: {o.shop_status}"
            )
        return 0 if len(done) == len(self.orders) else 1


@contextlib.asynccontextmanager
async def demo_key(settings: HubSettings) -> AsyncIterator[str]:
    """A ``warehouse`` API key in the hub's database for this run, revoked at the end."""
    from hub import audit
    from hub.auth import apikeys
    from hub.bootstrap import open_db

    name = "sandbox-demo-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    async with open_db(settings) as db:
        async with db.transaction() as conn:
            key, plaintext = await apikeys.create_api_key(conn, name=name, roles=["warehouse"])
            await audit.record(
                conn,
                actor="cli:demo",
                action="api_keys.create",
                entity_type="api_key",
                entity_id=str(key.id),
                after={"name": name, "roles": ["warehouse"]},
            )
        try:
            yield plaintext
        finally:
            async with db.transaction() as conn:
                await apikeys.revoke_api_key(conn, key.id)
                await audit.record(
                    conn,
                    actor="cli:demo",
                    action="api_keys.revoke",
                    entity_type="api_key",
                    entity_id=str(key.id),
                    after={"revoked": True},
                )


async def run(options: Options, settings: HubSettings, out: Callable[[str], None] = print) -> int:
    """The demo with its key (unless ``--no-ship``); the exit status."""
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        demo = Demo(options, http, out)
        if not options.ship:
            return await demo.run()
        async with contextlib.AsyncExitStack() as stack:
            try:
                demo.api_key = await stack.enter_async_context(demo_key(settings))
            except Exception as exc:  # the hub's database is not reachable from here
                out(f"no API key for the demo ({type(exc).__name__}: {exc}); nothing is shipped")
            return await demo.run()

"""Fixtures of the WooCommerce client tests: the simulator on loopback, clients of it, and a
receiver of its webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from connectors.woocommerce.client import WooCommerceClient, build
from connectors.woocommerce.settings import WooCommerceSettings
from connectors.woocommerce.simulator import WooCommerceSimulator, create_app
from hub.breaker import Breaker
from hub.ratelimit import MemoryRateLimiter
from hub.settings import Secret

KEY, SECRET = "ck_5e1f0b", "cs_9a7c3d"
WEBHOOK_SECRET = "wh-secret-ledux"


@pytest.fixture
async def sim() -> AsyncIterator[tuple[WooCommerceSimulator, str]]:
    """The simulator and its base URL (the store URL the client is given)."""
    simulator = WooCommerceSimulator(keys={KEY: (SECRET, "read_write")})
    async with TestServer(create_app(simulator), host="127.0.0.1") as server:
        yield simulator, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def make_client(
    sim: tuple[WooCommerceSimulator, str],
) -> AsyncIterator[Callable[..., WooCommerceClient]]:
    """``make_client(**settings)``: a client of the simulator, fast retries by default."""
    made: list[WooCommerceClient] = []
    breakers: list[Breaker] = []

    def make(**overrides: Any) -> WooCommerceClient:
        base = WooCommerceSettings(
            base_url=sim[1],
            consumer_key=Secret(KEY),
            consumer_secret=Secret(SECRET),
            timeout=5.0,
            per_second=1000.0,
            burst=100,
            retry_backoff=0.01,
            retry_max_backoff=0.05,
            breaker_reset_timeout=30.0,
        )
        settings = msgspec.structs.replace(base, **overrides)
        breaker = Breaker(  # one per client: a test's outage must not leak into the next
            "woocommerce-test",
            fail_max=settings.breaker_fail_max,
            reset_timeout=settings.breaker_reset_timeout,
        )
        breakers.append(breaker)
        client = build(settings, limiter=MemoryRateLimiter(), breaker=breaker)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()
    for breaker in breakers:
        breaker.reset()  # the registry (ops page) must not show a test's breaker open


@pytest.fixture
def client(make_client: Callable[..., WooCommerceClient]) -> WooCommerceClient:
    """A client with the default test settings."""
    return make_client()


@dataclass
class Received:
    headers: CIMultiDictProxy[str]
    body: bytes


@dataclass
class Receiver:
    """Where the simulator's webhooks go: what arrived, and the status to answer with."""

    url: str = ""
    answer: int = 200
    got: list[Received] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """An HTTP endpoint on loopback recording webhook deliveries."""
    state = Receiver()

    async def take(request: web.Request) -> web.Response:
        state.got.append(Received(request.headers, await request.read()))
        return web.Response(status=state.answer)

    app = web.Application()
    app.router.add_post("/webhooks/woocommerce", take)
    async with TestServer(app, host="127.0.0.1") as server:
        state.url = str(server.make_url("/webhooks/woocommerce"))
        yield state

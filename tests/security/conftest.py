"""Fixtures of the security tests: the e2e edge on PostgreSQL, RabbitMQ and Redis (the e2e
fixtures themselves, imported rather than copied) and a B2B portal with the actors that make
real orders, quotes and notifications for two customers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest
from argon2 import PasswordHasher, Type

from actors.inventory.actor import InventoryActor
from actors.notifications.actor import NotificationsActor
from actors.orders.actor import OrdersActor
from actors.pricing.actor import Pricing
from actors.pricing.settings import PricingSettings
from actors.quotations.actor import QuotationsActor
from hub.auth import passwords
from hub.cli import installed_apis
from tests.e2e.api_support import Edge
from tests.e2e.conftest import edge, start_api  # noqa: F401  (the e2e fixtures, reused)
from tests.integration.conftest_webhooks import (  # noqa: F401  (the three configured sources)
    sendgrid_headers,
    sendgrid_key,
    sources,
)
from tests.integration.notifications.support import SETTINGS, Connectors
from tests.integration.orders.support import InvoicingStandIn
from tests.security.support import CATALOG, clean_contexts, learn_catalog


@pytest.fixture
async def portal(start_api: Callable[..., Awaitable[Edge]]) -> Edge:  # noqa: F811
    """Every installed route group, with the orders, pricing, inventory, quotations and
    notifications actors (stand-ins for the partners) and a two-product catalog they know."""
    running = await start_api(
        apis=installed_apis(),
        actors=(
            OrdersActor(),
            Pricing(PricingSettings()),
            InventoryActor(),
            QuotationsActor(),
            NotificationsActor(SETTINGS),
            Connectors(),
            InvoicingStandIn(),
        ),
    )
    await clean_contexts(running.conn)
    await learn_catalog(running, CATALOG)
    return running


@pytest.fixture
def real_passwords() -> None:
    """Requested by a test that measures argon2 itself: the real parameters are kept."""


@pytest.fixture(autouse=True)
def fast_passwords(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Cheap argon2 parameters (for the dummy hash of unknown emails too) in tests about what is
    refused rather than how long a hash takes: a verification with the real ones costs 0.4 s
    or more here, and creating each test user costs one."""
    if "real_passwords" in request.fixturenames:
        yield
        return
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    passwords.dummy_hash.cache_clear()
    yield
    passwords.dummy_hash.cache_clear()  # made again, with the real parameters, when next needed

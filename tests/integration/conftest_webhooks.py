"""Fixtures of the webhook tests: the edge with the three real sources, configured for tests.

Test modules load it with ``pytest_plugins = ("tests.integration.conftest_webhooks",)``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.sendgrid import webhooks as sendgrid
from connectors.sendgrid.settings import SendGridSettings
from connectors.whatsapp import webhooks as whatsapp
from connectors.whatsapp.settings import WhatsAppSettings
from connectors.woocommerce import webhooks as woocommerce
from connectors.woocommerce.settings import WooCommerceSettings
from hub.edge.app import create_app
from hub.edge.webhooks import WebhookSource
from hub.settings import HubSettings, Secret
from tests.webhook_support import (
    META_SECRET,
    VERIFY_TOKEN,
    WOO_SECRET,
    public_key_b64,
    sendgrid_signature,
)

Factory = Callable[[HubSettings], WebhookSource]


# --- the edge with the three sources ------------------------------------------------------------


@pytest.fixture(scope="session")
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    """A P-256 key pair standing in for SendGrid's."""
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def sendgrid_headers(
    sendgrid_key: ec.EllipticCurvePrivateKey,
) -> Callable[..., dict[str, str]]:
    """Headers of a SendGrid delivery of ``body``, signed now (or at ``timestamp``)."""

    def build(body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
            "X-Twilio-Email-Event-Webhook-Signature": sendgrid_signature(sendgrid_key, stamp, body),
        }

    return build


@pytest.fixture
def sources(sendgrid_key: ec.EllipticCurvePrivateKey) -> list[Factory]:
    """The three real sources, configured with the test secrets."""
    return [
        lambda s: woocommerce.source(
            s, config=WooCommerceSettings(webhook_secret=Secret(WOO_SECRET))
        ),
        lambda s: whatsapp.source(
            s,
            config=WhatsAppSettings(
                app_secret=Secret(META_SECRET), verify_token=Secret(VERIFY_TOKEN)
            ),
        ),
        lambda s: sendgrid.source(
            s, config=SendGridSettings(webhook_public_key=public_key_b64(sendgrid_key))
        ),
    ]


@pytest.fixture
async def wh_conn(db_conn: asyncpg.Connection) -> asyncpg.Connection:
    """``db_conn`` with the webhook deliveries emptied as well."""
    await db_conn.execute("TRUNCATE webhook_deliveries RESTART IDENTITY")
    return db_conn


@pytest.fixture
async def start_edge(
    make_settings: Callable[..., HubSettings],
    database_url: str,
    wh_conn: asyncpg.Connection,
    sources: list[Factory],
) -> AsyncIterator[Callable[..., Any]]:
    """``client = await start_edge(webhooks=[...], actors=(...), **settings)``: a running edge."""
    clients: list[TestClient] = []

    async def start(
        webhooks: list[Factory] | None = None, actors: tuple[Any, ...] = (), **overrides: Any
    ) -> TestClient:
        settings = make_settings(database_url=database_url, **overrides)
        app = create_app(
            settings,
            actors=[lambda _r, a=a: a for a in actors],
            webhooks=sources if webhooks is None else webhooks,
        )
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in reversed(clients):
        await client.close()


@pytest.fixture
async def edge(start_edge: Callable[..., Any]) -> TestClient:
    """The edge with the three sources configured, default settings."""
    client: TestClient = await start_edge()
    return client

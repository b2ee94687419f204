"""No secret, token or password in a log line: every log record (message, arguments, structured
extras, traceback) written while the edge logs people in, rotates and revokes their tokens, takes
API keys and partners' signed webhooks, and while the SmartBill and WooCommerce clients call
their partners (their failures logged as an actor logs them), is searched for every secret used.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from connectors.smartbill.client import build_client
from connectors.smartbill.settings import SmartBillSettings
from connectors.smartbill.simulator import API as SMARTBILL_API
from connectors.smartbill.simulator import SmartBillSimulator
from connectors.woocommerce.client import build as build_woocommerce
from connectors.woocommerce.settings import WooCommerceSettings
from connectors.woocommerce.simulator import WooCommerceSimulator
from connectors.woocommerce.simulator import create_app as woocommerce_app
from hub import cli
from hub.auth import Role
from hub.breaker import Breaker
from hub.ratelimit import MemoryRateLimiter
from hub.settings import HubSettings, Secret
from tests.e2e.api_support import JWT_SECRET, PASSWORD, Edge
from tests.security.support import basic, leaks
from tests.webhook_support import (
    META_SECRET,
    VERIFY_TOKEN,
    WOO_SECRET,
    meta_notification,
    meta_signature,
    sendgrid_events,
    woo_headers,
    woo_order,
)

NEW_PASSWORD = "a brand new long passphrase"
WRONG_PASSWORD = "hunter2 hunter2 hunter2"
# Records no deployment writes: the test server's access log (``cypher-hub serve`` runs without
# one, see the last test) and the partners' simulators (test doubles, not the hub).
NOT_THE_HUBS = ("aiohttp.access", "connectors.smartbill.sim", "connectors.woocommerce.sim")


def hubs(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    """The records a running hub would write."""
    return [r for r in records if not r.name.startswith(NOT_THE_HUBS)]


async def test_logins_tokens_keys_and_webhooks_leave_no_secret_in_the_logs(
    start_api: Callable[..., Awaitable[Edge]],
    sources: list[Callable[[HubSettings], Any]],
    sendgrid_headers: Callable[..., dict[str, str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    edge = await start_api(webhooks=sources)
    admin_id, _ = await edge.user(Role.admin, email="boss@ledux.ro")
    admin = edge.token(Role.admin, id=admin_id)
    secrets: dict[str, str] = {
        "password": PASSWORD,
        "new password": NEW_PASSWORD,
        "wrong password": WRONG_PASSWORD,
        "JWT key": JWT_SECRET,
        "admin token": admin,
        "WooCommerce webhook secret": WOO_SECRET,
        "Meta app secret": META_SECRET,
        "Meta verify token": VERIFY_TOKEN,
    }

    async def call(method: str, path: str, body: Any = None, **kw: Any) -> dict[str, Any]:
        _, envelope, _ = await edge.call(method, path, json=body, **kw)
        return envelope

    created = await call(
        "POST",
        "/api/v1/users",
        {"email": "ana@ledux.ro", "role": "sales", "password": PASSWORD},
        token=admin,
    )
    user_id = created["data"]["user"]["id"]
    login = {"email": "ana@ledux.ro", "password": PASSWORD}
    first = (await call("POST", "/api/v1/auth/login", login))["data"]
    await call("POST", "/api/v1/auth/login", {**login, "password": WRONG_PASSWORD})
    second = (
        await call("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    )["data"]
    await call("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})  # reuse
    await call("POST", "/api/v1/auth/logout", {"refresh_token": second["refresh_token"]})
    await call("GET", "/api/v1/auth/me", token=first["access_token"])
    await call("POST", "/api/v1/auth/totp/enroll", {"password": WRONG_PASSWORD}, token=admin)
    await call(
        "POST", f"/api/v1/users/{user_id}/reset-password", {"password": NEW_PASSWORD}, token=admin
    )
    key = (await call("POST", "/api/v1/api-keys", {"name": "bot", "roles": ["ops"]}, token=admin))[
        "data"
    ]["secret"]
    forged_key = key[:-4] + "AAAA"
    await call("GET", "/api/v1/ops/dead-letters", headers={"X-API-Key": key})
    await call("GET", "/api/v1/ops/dead-letters", headers={"X-API-Key": forged_key})
    await call("GET", "/api/v1/auth/me", token=first["access_token"][:-3] + "abc")
    secrets |= {
        "access token": first["access_token"],
        "refresh token": first["refresh_token"],
        "rotated refresh token": second["refresh_token"],
        "API key": key,
        "API key's secret part": key.split("_", 2)[2],
        "forged API key": forged_key,
    }

    order = woo_order(9)
    signed = woo_headers(order)
    forged = woo_headers(order, secret="not the shop's secret")
    notification = meta_notification(messages=[("wamid.A1", "40744111222")])
    events = sendgrid_events("sg-1")
    sendgrid = sendgrid_headers(events)
    deliveries = [
        ("/webhooks/woocommerce", order, signed),
        ("/webhooks/woocommerce", order, forged),
        ("/webhooks/woocommerce", b"not json", woo_headers(b"not json")),
        (
            "/webhooks/whatsapp",
            notification,
            {
                "X-Hub-Signature-256": meta_signature(notification),
                "Content-Type": "application/json",
            },
        ),
        (
            "/webhooks/whatsapp",
            notification,
            {"X-Hub-Signature-256": meta_signature(notification, "forged")},
        ),
        ("/webhooks/sendgrid", events, sendgrid),
        ("/webhooks/sendgrid", events + b" ", sendgrid),
    ]
    statuses = []
    for path, body, headers in deliveries:
        statuses.append((await edge.client.post(path, data=body, headers=headers)).status)
    assert statuses == [200, 401, 400, 200, 401, 200, 401]
    for token in (VERIFY_TOKEN, "a guessed verify token"):
        params = {"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "42"}
        await edge.client.get("/webhooks/whatsapp", params=params)
    secrets |= {
        "WooCommerce signature": signed["X-WC-Webhook-Signature"],
        "forged WooCommerce signature": forged["X-WC-Webhook-Signature"],
        "Meta signature": meta_signature(notification).removeprefix("sha256="),
        "SendGrid signature": sendgrid["X-Twilio-Email-Event-Webhook-Signature"],
    }

    records = hubs(caplog.records)
    assert len(records) >= 10  # the hub did log what happened: refusals, webhooks, keys
    assert leaks(records, secrets) == []


async def test_partner_calls_and_their_failures_leave_no_credential_in_the_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    actor_log = logging.getLogger("tests.security.actor")  # as an actor logs a failed call
    smartbill_token, woo_key, woo_secret = "sb-token-7f3a9c", "ck_1f9e2d", "cs_8b7a6c5d"
    smartbill = SmartBillSimulator(username="api@ledux.ro", token=smartbill_token)
    store = WooCommerceSimulator(keys={woo_key: (woo_secret, "read_write")})
    async with (
        TestServer(smartbill.app(), host="127.0.0.1") as sb_server,
        TestServer(woocommerce_app(store), host="127.0.0.1") as woo_server,
    ):
        sb = SmartBillSettings(
            username="api@ledux.ro",
            token=Secret(smartbill_token),
            cif="RO18547290",
            base_url=str(sb_server.make_url(SMARTBILL_API)),
            backoff=0.01,
            max_backoff=0.02,
        )
        woo = WooCommerceSettings(
            base_url=str(woo_server.make_url("")).rstrip("/"),
            consumer_key=Secret(woo_key),
            consumer_secret=Secret(woo_secret),
            retry_backoff=0.01,
            retry_max_backoff=0.02,
        )
        clients = [
            build_client(sb, breaker=Breaker("smartbill-logs", fail_max=100)),
            build_client(
                msgspec.structs.replace(sb, token=Secret(smartbill_token + "-wrong")),
                breaker=Breaker("smartbill-logs-wrong", fail_max=100),
            ),
        ]
        stores = [
            build_woocommerce(
                woo, limiter=MemoryRateLimiter(), breaker=Breaker("woo-logs", fail_max=100)
            ),
            build_woocommerce(
                msgspec.structs.replace(woo, consumer_secret=Secret(woo_secret + "-wrong")),
                limiter=MemoryRateLimiter(),
                breaker=Breaker("woo-logs-wrong", fail_max=100),
            ),
        ]
        outcomes: list[object] = []
        try:
            for client in clients:
                try:
                    outcomes.append(len(await client.taxes()) > 0)
                except Exception:
                    actor_log.exception("smartbill: taxes failed")
                    outcomes.append(False)
            for shop in stores:
                try:
                    await shop.get_order(424242)
                except Exception as exc:
                    actor_log.warning("woocommerce: order 424242: %s", exc, exc_info=True)
                    outcomes.append(type(exc).__name__)
        finally:
            for client in clients:
                await client.close()
            for shop in stores:
                await shop.close()
    assert outcomes[:2] == [True, False]  # the right credentials work, the wrong are refused
    assert outcomes[2] != outcomes[3]  # not found, then not authorised
    secrets = {
        "SmartBill token": smartbill_token,
        "SmartBill Authorization": basic("api@ledux.ro", smartbill_token),
        "wrong SmartBill Authorization": basic("api@ledux.ro", smartbill_token + "-wrong"),
        "WooCommerce consumer secret": woo_secret,
        "WooCommerce Authorization": basic(woo_key, woo_secret),
        "wrong WooCommerce Authorization": basic(woo_key, woo_secret + "-wrong"),
    }
    records = hubs(caplog.records)
    assert any(r.name == actor_log.name for r in records)
    assert leaks(records, secrets) == []


def test_the_served_edge_writes_no_access_log(
    make_settings: Callable[..., HubSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An access log would hold every request line: Meta's subscription handshake carries the
    verify token in its query string (``GET /webhooks/whatsapp?hub.verify_token=...``)."""
    served: dict[str, Any] = {}

    def run_app(app: web.Application, **kw: Any) -> None:
        served.update(kw, app=app)

    monkeypatch.setattr(web, "run_app", run_app)  # the function cmd_serve calls
    assert cli.cmd_serve(make_settings(sandbox="off"), argparse.Namespace()) == 0
    assert served["app"] is not None
    assert served["access_log"] is None

"""API8 — security misconfiguration: every kind of answer the edge gives (successes, each error,
webhooks, health, metrics, paths it does not know) carries the security headers, names no
server software, invites no cross-origin browser, echoes no credential and shows no internals."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse

from hub.auth import Role
from hub.edge.api import Api, Call
from hub.settings import HubSettings
from tests.e2e.api_support import Edge
from tests.webhook_support import woo_headers, woo_order

boom = Api("boom")


@boom.get("/api/v1/boom", name="boom.get", roles={Role.sales}, summary="Fails on our side")
async def explode(call: Call[None, None]) -> None:
    settings = call.services.settings
    dsn = settings.database_url.reveal() if settings.database_url else ""
    key = settings.jwt_secret.reveal() if settings.jwt_secret else ""
    raise RuntimeError(f"cannot reach {dsn} with key {key}")


@pytest.fixture
async def site(
    start_api: Callable[..., Awaitable[Edge]], sources: list[Callable[[HubSettings], Any]]
) -> Edge:
    """The edge with the configured webhook sources, a failing route, and a tight rate limit."""
    return await start_api(
        apis=[boom], webhooks=sources, rate_limit_per_minute=1, rate_limit_burst=2
    )


async def answers(site: Edge) -> dict[str, ClientResponse]:
    """One answer of each kind the edge gives."""
    sales = await site.as_role(Role.sales)
    bearer = {"Authorization": f"Bearer {sales}"}
    order = woo_order(7)
    client = site.client
    out = {
        "api 200": await client.get("/api/v1/auth/me", headers=bearer),
        "api 400": await client.post("/api/v1/auth/login", json={"email": 1, "password": ""}),
        "api 401": await client.get("/api/v1/auth/me"),
        "api 403": await client.get("/api/v1/users", headers=bearer),
        "api 404": await client.get("/api/v1/nowhere"),
        "api 405": await client.delete("/api/v1/auth/me"),
        "api 413": await client.post(
            "/api/v1/auth/login",
            data=b"x" * (site.settings.api_max_body + 1),
            headers={"Content-Type": "application/json"},
        ),
        "api 500": await client.get("/api/v1/boom", headers=bearer),
        "openapi": await client.get("/api/v1/openapi.json"),
        "webhook 200": await client.post(
            "/webhooks/woocommerce", data=order, headers=woo_headers(order)
        ),
        "webhook 401": await client.post(
            "/webhooks/woocommerce", data=order, headers=woo_headers(order, secret="forged")
        ),
        "webhook 403": await client.get(
            "/webhooks/whatsapp",
            params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        ),
        "live": await client.get("/health/live"),
        "ready": await client.get("/health/ready"),
        "metrics": await client.get("/metrics"),
        "other 404": await client.get("/wp-admin/install.php"),
        "other 405": await client.put("/health/live"),
    }
    for _ in range(3):  # the tight burst of the route is spent
        out["api 429"] = await client.get("/api/v1/auth/me", headers=bearer)
    for name, resp in out.items():
        expected = name.split()[-1]
        if expected.isdigit():
            assert resp.status == int(expected), (name, resp.status)
        await resp.read()
    return out


async def test_every_kind_of_answer_carries_the_security_headers(site: Edge) -> None:
    for name, resp in (await answers(site)).items():
        headers = resp.headers
        assert headers.get("X-Content-Type-Options") == "nosniff", name
        assert headers.get("X-Frame-Options") == "DENY", name
        assert headers.get("Referrer-Policy") == "no-referrer", name
        csp = headers.get("Content-Security-Policy", "")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, name
        if resp.url.path.startswith("/api/"):
            assert headers.get("Cache-Control") == "no-store", name
            assert resp.content_type == "application/json", name  # never sniffable as HTML


async def test_no_answer_names_the_server_software_or_its_version(site: Edge) -> None:
    for name, resp in (await answers(site)).items():
        server = resp.headers.get("Server", "")
        assert "aiohttp" not in server and "Python" not in server, (name, server)
        assert not any(c.isdigit() for c in server), (name, server)


async def test_cross_origin_browsers_are_not_invited(site: Edge) -> None:
    """No CORS: a page on another origin can neither read an answer nor send credentials."""
    token = await site.as_role(Role.sales)
    origin = {"Origin": "https://evil.example"}
    preflight = await site.client.options(
        "/api/v1/auth/me",
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    read = await site.client.get(
        "/api/v1/auth/me", headers={**origin, "Authorization": f"Bearer {token}"}
    )
    login = await site.client.post(
        "/api/v1/auth/login", json={"email": "a@b.ro", "password": "x"}, headers=origin
    )
    for resp in (preflight, read, login):
        assert "Access-Control-Allow-Origin" not in resp.headers, resp.url
        assert "Access-Control-Allow-Credentials" not in resp.headers, resp.url
    assert preflight.status in (403, 404, 405)


async def test_errors_show_no_internals_and_echo_no_credentials(site: Edge) -> None:
    secrets = [
        site.settings.jwt_secret.reveal() if site.settings.jwt_secret else "",
        site.settings.database_url.reveal() if site.settings.database_url else "",
    ]
    token = await site.as_role(Role.sales)
    failed = {
        "500": await site.client.get("/api/v1/boom", headers={"Authorization": f"Bearer {token}"}),
        "TRACE": await site.client.request(
            "TRACE", "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}
        ),
        "malformed JSON": await site.client.post(
            "/api/v1/auth/login",
            data=b'{"email": "a@b.ro", "password": ',
            headers={"Content-Type": "application/json"},
        ),
        "wrong type": await site.client.post(
            "/api/v1/auth/login", json={"email": ["a"], "password": {"$ne": 1}}
        ),
        "unknown path": await site.client.get("/api/v1/../../etc/passwd"),
        "unreadable webhook": await site.client.post(
            "/webhooks/woocommerce", data=b"not json", headers=woo_headers(b"not json")
        ),
    }
    assert failed["500"].status == 500 and failed["TRACE"].status == 405
    for name, resp in failed.items():
        text = await resp.text()
        assert resp.status >= 400, name
        for leak in ("Traceback", 'File "', ".py", "RuntimeError", token, *secrets):
            assert not leak or leak not in text, (name, leak[:20])
        if resp.content_type == "application/json":
            body = json.loads(text)
            assert body["success"] is False and body["error"]["code"], name

"""API4 — unrestricted resource consumption: with the settings a deployment starts with, every
list is paged and capped, every array in a body is bounded, bodies over the limits are refused
by API routes and by every webhook source, and expensive renderings are rate limited.

(Custom limits, the import's limits and the generic rate limit are proven in tests/e2e and
tests/integration; these check the defaults and every route at once.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, get_origin

from actors.inventory.api import api as inventory_api
from actors.orders.api import api as orders_api
from actors.quotations.api import api as quotations_api
from hub.auth import Role
from hub.cli import installed_apis
from hub.edge.api import MAX_CURSOR, PageQuery, Route
from hub.edge.keys import HUB
from hub.settings import HubSettings
from tests.e2e.api_support import Edge
from tests.security.support import ALPHA, order_body, quote_body
from tests.webhook_support import (
    META_SECRET,
    meta_signature,
    woo_headers,
)

# Lists answered whole, each for a reason a reviewer accepted.
UNPAGED = {
    "catalog.categories.list": "the category tree: a few dozen rows curated by staff",
    "inventory.availability": "at most 100 SKUs named by the caller",
}
MB = 1024 * 1024


def _role_for(route: Route) -> Role:
    roles = route.roles
    assert isinstance(roles, frozenset)
    return Role.admin if Role.admin in roles else sorted(roles)[0]


async def test_every_list_is_paged_and_a_page_holds_at_most_200(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=installed_apis())
    lists = [r for r in edge.routes if r.method == "GET" and get_origin(r.response) is list]
    assert len(lists) >= 15
    for route in lists:
        if route.name in UNPAGED:
            continue
        assert route.query is not None and issubclass(route.query, PageQuery), route.name
        token = await edge.as_role(_role_for(route))
        for params in ({"limit": "201"}, {"limit": "0"}, {"cursor": "c" * (MAX_CURSOR + 1)}):
            status, body, _ = await edge.call("GET", route.path, token=token, params=params)
            assert status == 400, (route.name, params, body)
            assert body["error"]["details"][0]["field"] in params, (route.name, body)
        status, body, _ = await edge.call("GET", route.path, token=token, params={"limit": "200"})
        assert status == 200, (route.name, body)
        assert len(body["data"]) <= 200
    assert {r.name for r in lists} >= set(UNPAGED)


async def test_arrays_in_requests_are_bounded(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=[orders_api, quotations_api, inventory_api])
    alpha = await edge.as_role(Role.b2b_customer, customer=ALPHA)
    lines = [{"sku": f"S-{n}", "quantity": "1"} for n in range(201)]
    for path, body in (
        ("/api/v1/orders", order_body(lines=lines)),
        ("/api/v1/quotations", quote_body(lines=lines)),
    ):
        status, envelope, _ = await edge.call("POST", path, token=alpha, json=body)
        assert (status, envelope["error"]["details"][0]["field"]) == (400, "lines"), envelope
    skus = ",".join(f"S-{n}" for n in range(101))
    status, envelope, _ = await edge.call(
        "GET", "/api/v1/inventory/availability", token=alpha, params={"sku": skus}
    )
    assert (status, envelope["error"]["code"]) == (400, "validation_error")
    status, envelope, _ = await edge.call(
        "GET", "/api/v1/inventory/availability", token=alpha, params={"sku": "S-1," * 1700}
    )
    assert (status, envelope["error"]["details"][0]["field"]) == (400, "sku")  # the text too


async def test_api_bodies_over_the_default_limit_are_refused_public_routes_included(
    edge: Edge,
) -> None:
    limit = edge.settings.api_max_body
    assert limit == MB  # what a deployment starts with
    big = b'{"email": "a@b.ro", "password": "' + b"x" * limit + b'"}'
    status, body, _ = await edge.call(
        "POST",
        "/api/v1/auth/login",
        data=big,
        headers={"Content-Type": "application/json"},
    )
    assert (status, body["error"]["code"]) == (413, "body_too_large")

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: counted while reading
        for start in range(0, len(big), 256 * 1024):
            yield big[start : start + 256 * 1024]

    status, body, _ = await edge.call(
        "POST",
        "/api/v1/auth/refresh",
        data=chunked(),
        headers={"Content-Type": "application/json"},
    )
    assert (status, body["error"]["code"]) == (413, "body_too_large")
    assert await edge.conn.fetchval("SELECT count(*) FROM audit_log WHERE status <> 413") == 0


async def test_every_webhook_source_refuses_a_signed_body_over_the_default_limit(
    start_api: Callable[..., Awaitable[Edge]],
    sources: list[Callable[[HubSettings], Any]],
    sendgrid_headers: Callable[..., dict[str, str]],
) -> None:
    edge = await start_api(webhooks=sources)
    limit = edge.settings.webhook_max_body
    assert limit == 2 * MB
    big = b'{"padding": "' + b" " * limit + b'"}'
    signed = {
        "/webhooks/woocommerce": woo_headers(big),
        "/webhooks/whatsapp": {
            "Content-Type": "application/json",
            "X-Hub-Signature-256": meta_signature(big, META_SECRET),
        },
        "/webhooks/sendgrid": sendgrid_headers(big),
    }
    for path, headers in signed.items():
        resp = await edge.client.post(path, data=big, headers=headers)
        assert resp.status == 413, path
        assert (await resp.json())["error"]["code"] == "body_too_large"
    registry = edge.client.app[HUB].metrics.registry
    for source in ("woocommerce", "whatsapp", "sendgrid"):
        refused = registry.get_sample_value(
            "hub_webhook_rejected_total", {"source": source, "reason": "too_large"}
        )
        assert refused == 1, source
    assert await edge.conn.fetchval("SELECT count(*) FROM webhook_deliveries") == 0


PDF_BURST = 10  # renders one customer may ask for at once (each takes a worker ~1 s)


async def test_a_customer_cannot_queue_pdf_renders_without_limit(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=[quotations_api])
    alpha = await edge.as_role(Role.b2b_customer, customer=ALPHA)
    # the limit is taken before the owner check: a missing quote spends a token without a render
    statuses = []
    for _ in range(PDF_BURST + 1):
        resp = await edge.client.get(
            "/api/v1/quotations/no-such-quote/pdf", headers={"Authorization": f"Bearer {alpha}"}
        )
        statuses.append(resp.status)
    assert statuses[-1] == 429, statuses
    assert int(resp.headers["Retry-After"]) >= 1

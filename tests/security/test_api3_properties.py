"""API3 — broken object property level authorisation: no caller sets a field it has no say in
(mass assignment), and no answer shows a field its reader may not see (password hashes, TOTP
and key secrets; to B2B customers, the cost and margin behind a price)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import msgspec
from msgspec import inspect as mi

from actors.notifications.api import api as notifications_api
from actors.orders.api import api as orders_api
from actors.quotations.api import api as quotations_api
from hub.auth import Role
from hub.cli import installed_apis
from hub.edge import auth_routes, ops
from hub.edge.api import Route
from tests.e2e.api_support import PASSWORD, Edge
from tests.security.support import (
    ALPHA,
    COST,
    MARGIN,
    create_quote,
    order_body,
    place_order,
    quote_body,
    stored_order,
)

# Answers that carry a secret on purpose, each once: the tokens of a login, a new key's secret.
SECRET_FIELDS = {
    "auth.login:access_token",
    "auth.login:refresh_token",
    "auth.refresh:access_token",
    "auth.refresh:refresh_token",
    "api_keys.create:secret",
}
_SECRET_NAME = re.compile(r"password|secret|hash|token$|last_step", re.I)


def every_route() -> list[Route]:
    """The hub's own routes and every installed context's."""
    apis = [auth_routes.api, ops.api, *installed_apis()]
    return [route for api in apis for route in api.routes]


def structs(t: mi.Type, seen: set[type] | None = None) -> Iterator[mi.StructType]:
    """Every struct reachable from ``t`` (fields, list items, union members, ...)."""
    seen = set() if seen is None else seen
    if isinstance(t, mi.StructType):
        if t.cls in seen:
            return
        seen.add(t.cls)
        yield t
        for f in t.fields:
            yield from structs(f.type, seen)
        return
    for name in t.__struct_fields__:
        value = getattr(t, name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, mi.Type):
                yield from structs(item, seen)


def test_every_request_body_and_query_refuses_unknown_fields() -> None:
    """What is not declared cannot be set: a ``price`` or ``role`` slipped into a body is a 400,
    at every depth (lines, addresses, customers), on every route."""
    checked = 0
    for route in every_route():
        for kind in ("body", "query"):
            declared = getattr(route, kind)
            if declared is None:
                continue
            for struct in structs(mi.type_info(declared)):
                assert struct.forbid_unknown_fields, f"{route.name} {kind}: {struct.cls.__name__}"
                checked += 1
    assert checked >= 60


def test_no_answer_declares_a_secret_but_a_login_and_a_new_key() -> None:
    found = {
        f"{route.name}:{f.name}"
        for route in every_route()
        if route.response is not None
        for struct in structs(mi.type_info(route.response))
        for f in struct.fields
        if _SECRET_NAME.search(f.name)
    }
    assert found == SECRET_FIELDS


async def test_user_and_key_answers_hold_no_hash_and_a_key_secret_only_once(edge: Edge) -> None:
    admin = await edge.person(Role.admin)
    answers: list[Any] = []

    async def call(method: str, path: str, body: Any = None) -> Any:
        status, envelope, _ = await edge.call(method, path, token=admin, json=body)
        assert status < 300, (path, envelope)
        answers.append(envelope)
        return envelope["data"]

    new = {"email": "ana@ledux.ro", "role": "sales", "password": PASSWORD}
    user_id = (await call("POST", "/api/v1/users", new))["user"]["id"]
    await call("GET", "/api/v1/users")
    await call("GET", f"/api/v1/users/{user_id}")
    await call("POST", f"/api/v1/users/{user_id}/reset-password", {"password": PASSWORD + "!"})
    await call("POST", f"/api/v1/users/{user_id}/disable")
    created = await call("POST", "/api/v1/api-keys", {"name": "ops-bot", "roles": ["ops"]})
    key_id, secret = created["api_key"]["id"], created["secret"]
    await call("GET", "/api/v1/api-keys")
    await call("GET", f"/api/v1/api-keys/{key_id}")
    await call("POST", f"/api/v1/api-keys/{key_id}/revoke")
    await call("GET", "/api/v1/audit")

    stored = await edge.conn.fetch(
        "SELECT password_hash AS value FROM auth_users "
        "UNION ALL SELECT totp_secret FROM auth_users WHERE totp_secret IS NOT NULL "
        "UNION ALL SELECT encode(secret_hash, 'hex') FROM auth_api_keys"
    )
    hidden = [r["value"] for r in stored] + [PASSWORD, PASSWORD + "!"]
    assert len(hidden) == 6  # two password hashes, the admin's TOTP secret, a key's hash
    texts = [json.dumps(a) for a in answers]
    for value in hidden:
        assert not [n for n, text in enumerate(texts) if value in text], value[:12]
    key_secret = secret.split("_", 2)[2]
    assert [n for n, text in enumerate(texts) if key_secret in text] == [5]  # its creation


# What the shop decides about an order, each slipped into a customer's order as it would be
# named on the PlaceOrder message or the stored order.
PRIVILEGED: list[tuple[dict[str, Any], str]] = [
    ({"priced": [{"sku": "STRIP-1", "quantity": "3", "unit_net": "0.01"}]}, "priced"),
    ({"paid": True}, "paid"),
    ({"source": "woocommerce"}, "source"),
    ({"state": "confirmed"}, "state"),
    ({"tier": 3}, "tier"),
    ({"hold": "quote:somebody-elses"}, "hold"),
    ({"shipping_fee": "-500"}, "shipping_fee"),
    ({"placed_by": "user:1"}, "placed_by"),
    ({"lines": [{"sku": "STRIP-1", "quantity": "3", "unit_net": "0.01"}]}, "lines[0].unit_net"),
    ({"customer": {"kind": "company", "name": "X", "tier": 3}}, "customer.tier"),
]


async def test_a_customer_cannot_set_prices_payment_origin_or_state_of_its_order(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=[orders_api])
    alpha = await edge.as_role(Role.b2b_customer, customer=ALPHA)
    for extra, field in PRIVILEGED:
        status, envelope, _ = await edge.call(
            "POST", "/api/v1/orders", token=alpha, json=order_body(**extra)
        )
        assert (status, envelope["error"]["code"]) == (400, "validation_error"), envelope
        assert envelope["error"]["details"][0]["field"] == field
    placed = "SELECT count(*) FROM hub_outbox WHERE type = 'orders.PlaceOrder'"
    assert await edge.conn.fetchval(placed) == 0


async def test_a_customer_cannot_set_what_the_shop_decides_on_quotes_keys_or_preferences(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=[quotations_api, notifications_api])
    await edge.conn.execute("TRUNCATE quotations, notification_recipients CASCADE")
    alpha = await edge.person(Role.b2b_customer, customer=ALPHA)
    refused = [
        ("/api/v1/quotations", "POST", quote_body(status="accepted"), "status"),
        ("/api/v1/quotations", "POST", quote_body(priced_tier=3), "priced_tier"),
        (
            "/api/v1/quotations",
            "POST",
            quote_body(lines=[{"sku": "STRIP-1", "quantity": "1", "unit_net": "1"}]),
            "lines[0].unit_net",
        ),
        (
            "/api/v1/api-keys",
            "POST",
            {"name": "erp", "roles": ["b2b_customer"], "created_by": 1},
            "created_by",
        ),
        (
            "/api/v1/api-keys",
            "POST",
            {"name": "erp", "roles": ["b2b_customer"], "revoked_at": None},
            "revoked_at",
        ),
        (
            f"/api/v1/customers/{ALPHA}/preferences",
            "PUT",
            {"customer_id": "C-BETA", "marketing_consent": True},
            "customer_id",
        ),
    ]
    for path, method, body, field in refused:
        status, envelope, _ = await edge.call(method, path, token=alpha, json=body)
        assert (status, envelope["error"]["details"][0]["field"]) == (400, field), envelope
    assert await edge.conn.fetchval("SELECT count(*) FROM quotations") == 0
    assert await edge.conn.fetchval("SELECT count(*) FROM auth_api_keys") == 0
    assert await edge.conn.fetchval("SELECT count(*) FROM notification_recipients") == 0


async def test_a_customer_moves_its_own_order_to_cancelled_only(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=[orders_api])
    await edge.conn.execute("TRUNCATE orders CASCADE")
    alpha = await edge.as_role(Role.b2b_customer, customer=ALPHA)
    states = {"on_hold": "confirmed", "confirmed": "processing", "shipped": "delivered"}
    for state, allowed_next in states.items():  # each a move the order's state allows
        order_id = await stored_order(edge.conn, ALPHA, state)
        for to in (allowed_next, "refunded"):
            status, envelope, _ = await edge.call(
                "POST",
                f"/api/v1/orders/{order_id}/transitions",
                token=alpha,
                json={"to": to, "reason": "I decide"},
            )
            assert (status, envelope["error"]["code"]) == (403, "forbidden"), (to, envelope)
        found = await edge.conn.fetchval("SELECT state FROM orders WHERE id = $1", order_id)
        assert found == state


async def test_a_customer_learns_no_cost_or_margin_from_its_prices_orders_or_quotes(
    portal: Edge,
) -> None:
    alpha = await portal.as_role(Role.b2b_customer, customer=ALPHA)
    status, quoted, _ = await portal.call(
        "POST",
        "/api/v1/prices/quote",
        token=alpha,
        json={"lines": [{"sku": "STRIP-1", "quantity": "2"}]},
    )
    assert status == 200, quoted
    order = await place_order(portal, alpha, order_body())
    quote = await create_quote(portal, alpha, quote_body())
    seen = {"prices.quote": quoted["data"], "orders.get": order, "quotations.get": quote}
    leaked = {
        name: [v for v in (COST, MARGIN) if v in msgspec.json.encode(answer).decode()]
        for name, answer in seen.items()
    }
    assert leaked == {name: [] for name in seen}

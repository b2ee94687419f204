"""API1 — broken object level authorisation: a B2B customer reaches no record of another
customer, by any id in a path, through any list filter, with a token or with an API key.

The convention tests check that every such route *declares* an owner check; these drive real
records of customer ALPHA (an order, a quote, an in-app message, preferences, a WhatsApp
conversation, a tier, an API key) made through the routes and actors, and try each of them as
customer BETA."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, get_origin

import pytest

from actors.notifications.api import api as notifications_api
from actors.notifications.api_chat import api as chat_api
from actors.orders.api import api as orders_api
from hub.auth import Role, create_api_key
from tests.e2e.api_support import Edge
from tests.security.support import (
    ALPHA,
    BETA,
    CHAT_TABLES,
    PHONES,
    create_quote,
    customer_writes_on_whatsapp,
    notify_in_app,
    order_body,
    place_order,
    quote_body,
)

# Routes that take an id and admit B2B customers, but whose records are not a customer's.
SHARED = {"catalog.products.get"}  # the catalog: every active product is everyone's
# Lists that admit B2B customers but hold nothing of a customer's.
SHARED_LISTS = {"catalog.products.list", "catalog.categories.list", "inventory.availability"}


@dataclass
class World:
    """ALPHA's records, and the credentials of both customers."""

    alpha: str  # ALPHA's user token
    beta: str  # BETA's user token
    beta_key: str  # BETA's API key
    order: str
    quote: str
    in_app: str
    key_id: int


@pytest.fixture
async def world(portal: Edge) -> World:
    alpha = await portal.person(Role.b2b_customer, customer=ALPHA)
    beta = await portal.person(Role.b2b_customer, customer=BETA)
    sales = await portal.as_role(Role.sales)
    order = await place_order(portal, alpha, order_body())
    assert order["state"] == "on_hold"  # no stock yet: a state its customer may still cancel
    quote = await create_quote(portal, alpha, quote_body())
    status, _, _ = await portal.call("POST", f"/api/v1/quotations/{quote['id']}/send", token=sales)
    assert status == 200  # sent: a state its customer may accept or reject
    prefs = {"phone": PHONES[ALPHA], "whatsapp_opt_in": True, "marketing_consent": False}
    status, _, _ = await portal.call(
        "PUT", f"/api/v1/customers/{ALPHA}/preferences", token=alpha, json=prefs
    )
    assert status == 200
    await customer_writes_on_whatsapp(portal.conn, PHONES[ALPHA], "Când vine comanda?")
    status, _, _ = await portal.call(
        "PUT", f"/api/v1/pricing/customer-tiers/{ALPHA}", token=sales, json={"tier": 2}
    )
    assert status == 200
    key, _ = await create_api_key(
        portal.conn, name="alpha-erp", roles=[Role.b2b_customer], customer_id=ALPHA
    )
    _, beta_key = await create_api_key(
        portal.conn, name="beta-erp", roles=[Role.b2b_customer], customer_id=BETA
    )
    in_app = await notify_in_app(portal, ALPHA, "order:alpha:delivered")
    return World(alpha, beta, beta_key, order["id"], quote["id"], in_app, key.id)


def cases(w: World) -> dict[str, tuple[str, str, str, str, Any]]:
    """Per route: method, path (``{}`` for the id), ALPHA's id, an id nobody has, body."""
    return {
        "orders.get": ("GET", "/api/v1/orders/{}", w.order, "no-such-order", None),
        "orders.transition": (
            "POST",
            "/api/v1/orders/{}/transitions",
            w.order,
            "no-such-order",
            {"to": "cancelled", "reason": "not mine, but let us see"},
        ),
        "quotations.get": ("GET", "/api/v1/quotations/{}", w.quote, "no-such-quote", None),
        "quotations.pdf": ("GET", "/api/v1/quotations/{}/pdf", w.quote, "no-such-quote", None),
        "quotations.accept": (
            "POST",
            "/api/v1/quotations/{}/accept",
            w.quote,
            "no-such-quote",
            None,
        ),
        "quotations.reject": (
            "POST",
            "/api/v1/quotations/{}/reject",
            w.quote,
            "no-such-quote",
            {"reason": "x"},
        ),
        "notifications.read": (
            "POST",
            "/api/v1/notifications/{}/read",
            w.in_app,
            "no-such-notification",
            None,
        ),
        "notifications.preferences": (
            "GET",
            "/api/v1/customers/{}/preferences",
            ALPHA,
            "C-NOBODY",
            None,
        ),
        "notifications.preferences_save": (
            "PUT",
            "/api/v1/customers/{}/preferences",
            ALPHA,
            "C-NOBODY",
            {"email": "attacker@example.ro", "marketing_consent": True},
        ),
        "notifications.whatsapp.get": (
            "GET",
            "/api/v1/customers/{}/whatsapp",
            ALPHA,
            "C-NOBODY",
            None,
        ),
        "pricing.customer_tiers.get": (
            "GET",
            "/api/v1/pricing/customer-tiers/{}",
            ALPHA,
            "C-NOBODY",
            None,
        ),
        "api_keys.get": ("GET", "/api/v1/api-keys/{}", str(w.key_id), "999999", None),
        "api_keys.revoke": ("POST", "/api/v1/api-keys/{}/revoke", str(w.key_id), "999999", None),
    }


async def alpha_state(edge: Edge, w: World) -> dict[str, Any]:
    """What BETA's refused calls must leave as it was."""
    q = edge.conn.fetchval
    return {
        "order": await q("SELECT state FROM orders WHERE id = $1", w.order),
        "quote": await q("SELECT status FROM quotations WHERE id = $1", w.quote),
        "read": await q("SELECT read_at FROM notification_in_app WHERE id = $1", w.in_app),
        "prefs": await q(
            "SELECT (email, marketing_consent)::text FROM notification_recipients "
            "WHERE customer_id = $1",
            ALPHA,
        ),
        "key": await q("SELECT revoked_at FROM auth_api_keys WHERE id = $1", w.key_id),
    }


async def test_a_customer_reaches_no_record_of_another_by_id_or_in_a_list(
    portal: Edge, world: World
) -> None:
    table = cases(world)
    per_customer = {
        r.name
        for r in portal.routes
        if "{" in r.path and not r.public and Role.b2b_customer in r.roles  # type: ignore[operator]
    }
    assert per_customer - SHARED == set(table), "a new per-customer route needs a case here"
    before = await alpha_state(portal, world)

    as_beta = [{"Authorization": f"Bearer {world.beta}"}, {"X-API-Key": world.beta_key}]
    for name, (method, path, theirs, missing, body) in table.items():
        for headers in as_beta:
            status, refused, _ = await portal.call(
                method, path.format(theirs), json=body, headers=headers
            )
            assert status == 404, (name, refused)
            assert refused["error"]["code"] == "not_found", (name, refused)
            _, absent, _ = await portal.call(
                method, path.format(missing), json=body, headers=headers
            )
            assert refused["error"] == absent["error"], f"{name}: another's record shows through"
    assert await alpha_state(portal, world) == before, "a refused call changed ALPHA's records"

    await _lists_hold_only_their_customers_records(portal, world)

    # the same calls reach ALPHA's records for ALPHA: the ids above were real
    for name, (method, path, theirs, _, body) in table.items():
        if name == "quotations.pdf":
            continue  # a render costs seconds; its id and owner check are quotations.get's
        status, envelope, _ = await portal.call(
            method, path.format(theirs), token=world.alpha, json=body
        )
        assert status != 404, (name, envelope)


async def _lists_hold_only_their_customers_records(portal: Edge, world: World) -> None:
    """BETA finds none of ALPHA's records in a list, even filtering by ALPHA's id."""
    lists = {
        "orders.list": ("/api/v1/orders", world.order),
        "quotations.list": ("/api/v1/quotations", world.quote),
        "notifications.list": ("/api/v1/notifications", world.in_app),
        "api_keys.list": ("/api/v1/api-keys", world.key_id),
    }
    readable = {
        r.name
        for r in portal.routes
        if r.method == "GET"
        and not r.public
        and Role.b2b_customer in r.roles  # type: ignore[operator]
        and get_origin(r.response) is list
    }
    assert readable - SHARED_LISTS == set(lists), "a new per-customer list needs a case here"
    for name, (path, theirs) in lists.items():
        _, own, _ = await portal.call("GET", path, token=world.alpha)
        assert theirs in [item["id"] for item in own["data"]], name  # the record is listed
        for params in ({}, {"customer_id": ALPHA}):
            for headers in (
                {"Authorization": f"Bearer {world.beta}"},
                {"X-API-Key": world.beta_key},
            ):
                status, envelope, _ = await portal.call("GET", path, headers=headers, params=params)
                assert status == 200, (name, envelope)
                assert theirs not in [item["id"] for item in envelope["data"]], (name, params)


async def test_a_customer_cannot_place_an_order_for_another(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=[orders_api])
    beta = await edge.as_role(Role.b2b_customer, customer=BETA)
    status, envelope, _ = await edge.call(
        "POST", "/api/v1/orders", token=beta, json=order_body(customer_id=ALPHA)
    )
    assert (status, envelope["error"]["code"]) == (403, "forbidden")
    assert envelope["error"]["details"][0]["field"] == "customer.customer_id"
    placed = "SELECT count(*) FROM hub_outbox WHERE type = 'orders.PlaceOrder'"
    assert await edge.conn.fetchval(placed) == 0


@pytest.fixture
async def desk(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    """The edge with the customers' preferences and WhatsApp conversation routes."""
    running = await start_api(apis=[notifications_api, chat_api])
    await running.conn.execute(f"TRUNCATE {CHAT_TABLES}, notification_recipients")
    return running


async def test_a_customer_cannot_read_another_customers_whatsapp_by_claiming_its_phone(
    desk: Edge,
) -> None:
    alpha = await desk.as_role(Role.b2b_customer, customer=ALPHA)
    beta = await desk.as_role(Role.b2b_customer, customer=BETA)
    status, _, _ = await desk.call(
        "PUT", f"/api/v1/customers/{BETA}/preferences", token=beta, json={"phone": PHONES[BETA]}
    )
    assert status == 200
    await customer_writes_on_whatsapp(desk.conn, PHONES[BETA], "Factura pe CUI-ul nostru nou")

    await desk.call(  # refused (the phone is BETA's) or accepted: either way it must not...
        "PUT", f"/api/v1/customers/{ALPHA}/preferences", token=alpha, json={"phone": PHONES[BETA]}
    )
    _, envelope, _ = await desk.call("GET", f"/api/v1/customers/{ALPHA}/whatsapp", token=alpha)
    # ...show ALPHA what BETA wrote
    assert "Factura pe CUI-ul nostru nou" not in str(envelope)
    _, envelope, _ = await desk.call("GET", f"/api/v1/customers/{BETA}/whatsapp", token=beta)
    assert [m["text"] for m in envelope["data"]["messages"]] == ["Factura pe CUI-ul nostru nou"]

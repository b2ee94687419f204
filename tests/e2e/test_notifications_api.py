"""The notifications API over HTTP with the real notifications actor on RabbitMQ: in-app
messages listed only for their owner, newest first in cursor pages, marked read; the staff's
view of a notification's deliveries; preferences saved with a normalised phone and validated."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest

from actors.notifications.actor import NotificationsActor
from actors.notifications.api import api as notifications_api
from actors.notifications.messages import NotifyCustomer
from hub.auth import Role
from hub.edge.keys import HUB
from hub.messages import Envelope, encode
from tests.e2e.api_support import Edge
from tests.integration.notifications.support import SETTINGS, Connectors, clean, settled
from tests.support import eventually

DATA = {"order_id": "o-1", "number": "CMD-1", "customer_name": "Ana Ionescu"}


@pytest.fixture
async def hub_edge(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    edge = await start_api(
        apis=[notifications_api], actors=(NotificationsActor(SETTINGS), Connectors())
    )
    await clean(edge.conn)
    return edge


async def notify(edge: Edge, key: str, customer_id: str) -> None:
    msg = NotifyCustomer(
        notification_key=key,
        template="order_delivered",
        data={**DATA, "number": key},
        customer_id=customer_id,
        channels=("in_app",),
    )
    env = Envelope.new(msg, key=customer_id)
    await edge.client.app[HUB].bus.publish(env, encode(msg))


async def call(
    edge: Edge, method: str, path: str, role: Role, body: Any = None, customer: str | None = None
) -> tuple[int, dict[str, Any]]:
    token = await edge.as_role(role, customer=customer)
    status, envelope, _ = await edge.call(method, path, token=token, json=body)
    return status, envelope


async def test_in_app_notifications_are_listed_only_for_their_owner(hub_edge: Edge) -> None:
    edge = hub_edge
    for key in ("n-1", "n-2", "n-3"):
        await notify(edge, key, "C-1")
    await notify(edge, "other", "C-2")
    for key in ("n-1", "n-2", "n-3", "other"):
        await eventually(partial(settled, edge.conn, key, 1))

    status, env = await call(
        edge, "GET", "/api/v1/notifications?limit=2", Role.b2b_customer, customer="C-1"
    )
    assert status == 200, env
    first = env["data"]
    assert [n["title"] for n in first] == [
        "Comanda n-3 a fost livrată",
        "Comanda n-2 a fost livrată",
    ]
    cursor = env["metadata"]["next_cursor"]
    status, env = await call(
        edge,
        "GET",
        f"/api/v1/notifications?limit=2&cursor={cursor}",
        Role.b2b_customer,
        customer="C-1",
    )
    assert [n["title"] for n in env["data"]] == ["Comanda n-1 a fost livrată"]

    status, env = await call(
        edge, "GET", "/api/v1/notifications?customer_id=C-2", Role.b2b_customer, customer="C-1"
    )
    assert {n["customer_id"] for n in env["data"]} == {"C-1"}  # its own, whatever it asks
    status, env = await call(edge, "GET", "/api/v1/notifications?customer_id=C-2", Role.ops)
    assert [n["title"] for n in env["data"]] == ["Comanda other a fost livrată"]
    others = env["data"][0]["id"]

    status, env = await call(
        edge, "POST", f"/api/v1/notifications/{others}/read", Role.b2b_customer, customer="C-1"
    )
    assert status == 404, env
    mine = first[0]["id"]
    status, env = await call(
        edge, "POST", f"/api/v1/notifications/{mine}/read", Role.b2b_customer, customer="C-1"
    )
    assert status == 200 and env["data"]["read_at"] is not None, env
    status, env = await call(
        edge, "GET", "/api/v1/notifications?unread=true", Role.b2b_customer, customer="C-1"
    )
    unread = [n["title"] for n in env["data"]]
    assert unread == ["Comanda n-2 a fost livrată", "Comanda n-1 a fost livrată"]


async def test_staff_see_a_notifications_deliveries_customers_do_not(hub_edge: Edge) -> None:
    edge = hub_edge
    await notify(edge, "order:o-1:delivered", "C-1")
    await eventually(lambda: settled(edge.conn, "order:o-1:delivered", 1))
    status, env = await call(
        edge, "GET", "/api/v1/notifications/order:o-1:delivered/deliveries", Role.ops
    )
    assert status == 200, env
    (delivery,) = env["data"]["deliveries"]
    assert (delivery["channel"], delivery["status"]) == ("in_app", "delivered")
    assert [h["status"] for h in delivery["history"]] == ["delivered"]
    status, env = await call(
        edge,
        "GET",
        "/api/v1/notifications/order:o-1:delivered/deliveries",
        Role.b2b_customer,
        customer="C-1",
    )
    assert status == 403, env


async def test_preferences_are_validated_normalised_and_owned(hub_edge: Edge) -> None:
    edge = hub_edge
    path = "/api/v1/customers/C-1/preferences"
    status, env = await call(edge, "GET", path, Role.b2b_customer, customer="C-1")
    assert status == 200 and env["data"]["whatsapp_opt_in"] is False, env
    body = {"email": "Ana@Example.ro", "phone": "0744 123 456", "whatsapp_opt_in": True}
    status, env = await call(edge, "PUT", path, Role.b2b_customer, body, customer="C-1")
    assert status == 200, env
    assert (env["data"]["phone"], env["data"]["email"]) == ("40744123456", "ana@example.ro")
    stored = await edge.conn.fetchval(
        "SELECT phone FROM notification_recipients WHERE customer_id = 'C-1'"
    )
    assert stored == "40744123456"

    status, env = await call(
        edge, "PUT", path, Role.b2b_customer, {"whatsapp_opt_in": True}, customer="C-1"
    )
    assert status == 422 and env["error"]["details"][0]["field"] == "phone", env
    status, env = await call(
        edge, "PUT", path, Role.b2b_customer, {"phone": "not a phone"}, customer="C-1"
    )
    assert status == 422, env
    status, env = await call(
        edge, "PUT", path, Role.b2b_customer, {"email": "nope"}, customer="C-1"
    )
    assert status in (400, 422), env
    assert await edge.conn.fetchval(
        "SELECT whatsapp_opt_in FROM notification_recipients WHERE customer_id = 'C-1'"
    )  # the refused calls changed nothing

    status, env = await call(edge, "GET", path, Role.b2b_customer, customer="C-2")
    assert status == 404, env
    status, env = await call(edge, "PUT", path, Role.sales, {"marketing_consent": True})
    assert status == 200 and env["data"]["marketing_consent"] is True, env


async def test_a_phone_belongs_to_one_customer_until_it_lets_it_go(hub_edge: Edge) -> None:
    edge = hub_edge
    mine, theirs = "/api/v1/customers/C-1/preferences", "/api/v1/customers/C-2/preferences"
    status, env = await call(
        edge, "PUT", mine, Role.b2b_customer, {"phone": "0744 123 456"}, customer="C-1"
    )
    assert status == 200, env
    for role, customer in ((Role.b2b_customer, "C-2"), (Role.sales, None)):
        body = {"phone": "+40 744 123 456", "whatsapp_opt_in": True}  # written another way
        status, env = await call(edge, "PUT", theirs, role, body, customer=customer)
        assert (status, env["error"]["code"]) == (409, "phone_taken"), env
        assert env["error"]["details"][0]["field"] == "phone"
        assert "C-1" not in env["error"]["message"]  # who holds it is not told
    held = "SELECT customer_id FROM notification_recipients WHERE phone = '40744123456'"
    assert [r["customer_id"] for r in await edge.conn.fetch(held)] == ["C-1"]

    status, env = await call(  # saving its own phone again is no conflict
        edge, "PUT", mine, Role.b2b_customer, {"phone": "0744123456"}, customer="C-1"
    )
    assert status == 200, env
    status, env = await call(edge, "PUT", mine, Role.b2b_customer, {}, customer="C-1")
    assert status == 200 and env["data"]["phone"] is None, env
    status, env = await call(
        edge, "PUT", theirs, Role.b2b_customer, {"phone": "0744 123 456"}, customer="C-2"
    )
    assert status == 200 and env["data"]["phone"] == "40744123456", env

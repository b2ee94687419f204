"""The WhatsApp chat API over HTTP: staff read a customer's conversation a page at a time with
the state of the 24-hour window and answer inside it (the reply queued, its SendWhatsApp in the
outbox of the same transaction); outside the window a 409 says when it closed; a B2B customer
reads its own conversation only and cannot reply."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from openapi_spec_validator import validate as validate_openapi

from actors.notifications import chat
from actors.notifications.api_chat import api as chat_api
from connectors.whatsapp import webhooks
from connectors.whatsapp.messages import SendWhatsApp, WebhookReceived
from hub.auth import Role
from tests.e2e.api_support import Edge

BASE = "/api/v1/customers/{}/whatsapp"
PHONES = {"C-1": "40744123456", "C-2": "40755000111"}


@pytest.fixture
async def desk(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    """The edge with the chat routes; customers C-1 and C-2 known by phone."""
    edge = await start_api(apis=[chat_api])
    await edge.conn.execute(
        "TRUNCATE notification_chat_messages, notification_chat_statuses, "
        "notification_chat_conversations, notification_recipients"
    )
    for customer_id, phone in PHONES.items():
        await edge.conn.execute(
            "INSERT INTO notification_recipients (customer_id, phone) VALUES ($1, $2)",
            customer_id,
            phone,
        )
    return edge


async def customer_writes(edge: Edge, customer_id: str, at: datetime, *texts: str) -> None:
    """Meta notifies us of the customer's messages, sent at ``at``."""
    messages = [
        {
            "from": PHONES[customer_id],
            "id": f"wamid.{customer_id}.{at.timestamp():.0f}.{n}",
            "timestamp": str(int(at.timestamp())),
            "type": "text",
            "text": {"body": t},
        }
        for n, t in enumerate(texts)
    ]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "40212345678", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ion"}, "wa_id": PHONES[customer_id]}],
        "messages": messages,
    }
    body = msgspec.json.encode(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    )
    event = webhooks.message({}, body).message
    assert isinstance(event, WebhookReceived)
    async with edge.conn.transaction():
        await chat.on_webhook(edge.conn, event, datetime.now(UTC))


async def sent_commands(edge: Edge) -> list[SendWhatsApp]:
    rows = await edge.conn.fetch(
        "SELECT body FROM hub_outbox WHERE type = 'whatsapp.SendWhatsApp' ORDER BY id"
    )
    return [msgspec.json.decode(r["body"], type=SendWhatsApp) for r in rows]


async def test_staff_answer_inside_the_window_and_see_the_reply_queued(desk: Edge) -> None:
    sales = await desk.as_role(Role.sales)
    wrote = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    await customer_writes(desk, "C-1", wrote, "Aveți banda 5050?", "Și drivere?")
    status, env, _ = await desk.call(
        "POST", BASE.format("C-1"), token=sales, json={"text": "Da, avem ambele."}
    )
    assert status == 202, env
    reply = env["data"]
    assert reply["status"] == "queued"
    (command,) = await sent_commands(desk)
    assert (command.delivery_id, command.to, command.text) == (
        reply["delivery_id"],
        PHONES["C-1"],
        "Da, avem ambele.",
    )
    assert command.reply_to is not None and command.reply_to.startswith("wamid.C-1.")

    status, env, _ = await desk.call("GET", BASE.format("C-1"), token=sales)
    assert status == 200, env
    view = env["data"]
    assert view["window"] == {
        "open": True,
        "open_until": (wrote + timedelta(hours=24)).isoformat().replace("+00:00", "Z"),
    }
    assert [(m["direction"], m["text"]) for m in view["messages"]] == [
        ("in", "Aveți banda 5050?"),
        ("in", "Și drivere?"),
        ("out", "Da, avem ambele."),
    ]
    out = view["messages"][-1]
    assert (out["id"], out["status"]) == (reply["message_id"], "queued")
    assert out["author"].startswith("user:")
    audited = await desk.conn.fetchval(
        "SELECT count(*) FROM audit_log WHERE action = 'notifications.whatsapp.reply'"
    )
    assert audited == 1


async def test_outside_the_window_a_reply_is_refused_with_when_it_closed(desk: Edge) -> None:
    ops = await desk.as_role(Role.ops)
    wrote = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=25)
    await customer_writes(desk, "C-1", wrote, "Salut")
    status, env, _ = await desk.call("POST", BASE.format("C-1"), token=ops, json={"text": "Bună"})
    assert status == 409, env
    assert env["error"]["code"] == "window_closed"
    closed = (wrote + timedelta(hours=24)).isoformat()
    assert closed in env["error"]["message"] and "template" in env["error"]["message"]
    status, env, _ = await desk.call("POST", BASE.format("C-2"), token=ops, json={"text": "Bună"})
    assert status == 409 and "never" in env["error"]["message"]
    assert await sent_commands(desk) == []
    count = await desk.conn.fetchval(
        "SELECT count(*) FROM notification_chat_messages WHERE direction = 'out'"
    )
    assert count == 0
    status, env, _ = await desk.call("GET", BASE.format("C-1"), token=ops)
    assert env["data"]["window"]["open"] is False


async def test_bad_replies_and_unknown_customers_are_refused(desk: Edge) -> None:
    admin = await desk.as_role(Role.admin)
    for body in ({"text": ""}, {"text": "a" * 4097}, {"text": "x", "template": "y"}):
        status, env, _ = await desk.call("POST", BASE.format("C-1"), token=admin, json=body)
        assert (status, env["error"]["code"]) == (400, "validation_error"), body
    status, env, _ = await desk.call("POST", BASE.format("C-404"), token=admin, json={"text": "x"})
    assert status == 404
    status, env, _ = await desk.call("GET", BASE.format("C-404"), token=admin)
    assert status == 404


async def test_the_conversation_comes_in_pages_oldest_first(desk: Edge) -> None:
    sales = await desk.as_role(Role.sales)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    for n in range(5):
        await customer_writes(desk, "C-1", start + timedelta(minutes=n), f"mesaj {n}")
    seen: list[str] = []
    cursor = None
    for _ in range(4):
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        status, env, _ = await desk.call("GET", BASE.format("C-1") + query, token=sales)
        assert status == 200, env
        seen += [m["text"] for m in env["data"]["messages"]]
        cursor = env["metadata"]["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"mesaj {n}" for n in range(5)]


async def test_a_b2b_customer_reads_only_its_own_conversation_and_cannot_reply(
    desk: Edge,
) -> None:
    mine = await desk.as_role(Role.b2b_customer, customer="C-1")
    wrote = datetime.now(UTC) - timedelta(hours=1)
    await customer_writes(desk, "C-1", wrote, "Comanda mea?")
    await customer_writes(desk, "C-2", wrote, "Altcineva")
    status, env, _ = await desk.call("GET", BASE.format("C-1"), token=mine)
    assert status == 200 and [m["text"] for m in env["data"]["messages"]] == ["Comanda mea?"]
    status, env, _ = await desk.call("GET", BASE.format("C-2"), token=mine)
    assert (status, env["error"]["code"]) == (404, "not_found")
    status, env, _ = await desk.call("POST", BASE.format("C-1"), token=mine, json={"text": "x"})
    assert status == 403
    warehouse = await desk.as_role(Role.warehouse)
    status, _, _ = await desk.call("GET", BASE.format("C-1"), token=warehouse)
    assert status == 403
    assert await sent_commands(desk) == []


async def test_the_chat_routes_are_documented_in_the_openapi_document(desk: Edge) -> None:
    resp = await desk.client.get("/api/v1/openapi.json")
    doc = await resp.json()
    validate_openapi(doc)
    item = doc["paths"]["/api/v1/customers/{id}/whatsapp"]
    assert item["get"]["x-roles"] == ["admin", "b2b_customer", "ops", "sales"]
    assert item["post"]["x-roles"] == ["admin", "ops", "sales"]
    assert "requestBody" in item["post"] and "202" in item["post"]["responses"]

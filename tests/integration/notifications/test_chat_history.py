"""The WhatsApp chat on PostgreSQL: Meta's notifications (in Meta's own shape, through the
webhook source's translation) stored once, linked to the customer by phone, statuses applied
forwards only; the 24-hour window at a controlled ``now``; staff replies inside and outside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest

from actors.notifications import chat
from connectors.whatsapp import webhooks
from connectors.whatsapp.messages import WebhookReceived, WhatsAppAccepted, WhatsAppFailed
from hub.errors import NotFound, PermanentError

PHONE = "40744123456"
WROTE = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
CHAT_TABLES = (
    "notification_chat_messages, notification_chat_statuses, notification_chat_conversations, "
    "notification_recipients"
)


def notification(
    *, messages: list[Any] | None = None, statuses: list[Any] | None = None
) -> WebhookReceived:
    """Meta's notification as the edge receives it, translated by the WhatsApp source."""
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "40212345678", "phone_number_id": "106540352242922"},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Ion Popescu"}, "wa_id": PHONE}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    body = msgspec.json.encode(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}
            ],
        }
    )
    event = webhooks.message({}, body).message
    assert isinstance(event, WebhookReceived)
    return event


def text(wamid: str, body: str, at: datetime = WROTE, **extra: Any) -> dict[str, Any]:
    """An inbound text message, as Meta sends it."""
    return {
        "from": PHONE,
        "id": wamid,
        "timestamp": str(int(at.timestamp())),
        "type": "text",
        "text": {"body": body},
        **extra,
    }


def status(wamid: str, state: str, at: datetime, **extra: Any) -> dict[str, Any]:
    """A status of one of our messages, as Meta sends it."""
    return {
        "id": wamid,
        "status": state,
        "timestamp": str(int(at.timestamp())),
        "recipient_id": PHONE,
        **extra,
    }


@pytest.fixture
async def conn(db_conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    await db_conn.execute(f"TRUNCATE {CHAT_TABLES}")
    yield db_conn


async def customer(
    conn: asyncpg.Connection,
    customer_id: str = "C-1",
    phone: str | None = PHONE,
    opt_in: bool = True,
) -> None:
    await conn.execute(
        "INSERT INTO notification_recipients (customer_id, phone, whatsapp_opt_in) "
        "VALUES ($1, $2, $3) ON CONFLICT (customer_id) DO UPDATE SET phone = $2",
        customer_id,
        phone,
        opt_in,
    )


async def receive(conn: asyncpg.Connection, msg: WebhookReceived, now: datetime) -> None:
    async with conn.transaction():
        assert await chat.on_webhook(conn, msg, now) == []


async def history(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT m.*, c.customer_id, c.contact_name FROM notification_chat_messages m "
        "JOIN notification_chat_conversations c USING (phone) ORDER BY m.at, m.id"
    )
    return rows


async def test_an_inbound_message_delivered_twice_is_stored_once_for_its_customer(
    conn: asyncpg.Connection,
) -> None:
    await customer(conn)
    msg = notification(messages=[text("wamid.IN1", "Aveți banda 5050 pe stoc?")])
    await receive(conn, msg, WROTE + timedelta(seconds=2))
    await receive(conn, msg, WROTE + timedelta(minutes=5))
    rows = await history(conn)
    assert len(rows) == 1
    row = rows[0]
    assert (row["direction"], row["wamid"], row["type"]) == ("in", "wamid.IN1", "text")
    assert row["body"] == "Aveți banda 5050 pe stoc?"
    assert (row["customer_id"], row["contact_name"]) == ("C-1", "Ion Popescu")
    assert row["at"] == WROTE and row["at"].tzinfo is not None
    assert (
        await conn.fetchval(
            "SELECT last_inbound_at FROM notification_chat_conversations WHERE phone = $1", PHONE
        )
        == WROTE
    )


async def test_media_and_the_reply_context_are_kept(conn: asyncpg.Connection) -> None:
    photo = {
        "from": PHONE,
        "id": "wamid.IMG",
        "timestamp": str(int(WROTE.timestamp())),
        "type": "image",
        "image": {"caption": "asta s-a ars", "mime_type": "image/jpeg", "id": "1479537139650"},
        "context": {"from": "40212345678", "id": "wamid.OUT0"},
    }
    await receive(conn, notification(messages=[photo]), WROTE)
    (row,) = await history(conn)
    assert (row["type"], row["body"], row["reply_to"]) == (
        "image",
        "[image] asta s-a ars",
        "wamid.OUT0",
    )
    assert row["customer_id"] is None  # nobody has this phone yet


async def test_a_conversation_is_linked_when_a_customer_gets_the_phone_later(
    conn: asyncpg.Connection,
) -> None:
    await customer(conn, "C-9", phone="40700000000")
    await receive(conn, notification(messages=[text("wamid.IN1", "Bună ziua")]), WROTE)
    assert (await history(conn))[0]["customer_id"] is None
    await customer(conn, "C-9", phone=PHONE)
    assert (await history(conn))[0]["customer_id"] == "C-9"
    await customer(conn, "C-9", phone="40711111111")
    assert (await history(conn))[0]["customer_id"] is None


async def test_the_window_counts_from_the_last_inbound_message(conn: asyncpg.Connection) -> None:
    assert not await chat.window_open(conn, PHONE, WROTE)
    later = WROTE + timedelta(hours=3)
    # The later message arrives first: the window still counts from it.
    await receive(conn, notification(messages=[text("wamid.IN2", "Mersi", later)]), later)
    await receive(conn, notification(messages=[text("wamid.IN1", "Salut")]), later)
    assert await chat.window_open(conn, PHONE, later + timedelta(hours=24) - timedelta(seconds=1))
    assert not await chat.window_open(conn, PHONE, later + timedelta(hours=24))
    assert await chat.window_open(conn, "+40 744 123 456", later)


async def test_a_reply_inside_the_window_is_queued_and_answers_the_last_message(
    conn: asyncpg.Connection,
) -> None:
    await customer(conn, opt_in=False)  # wrote to us first: may be answered without opt-in
    await receive(conn, notification(messages=[text("wamid.IN1", "Aveți drivere 100W?")]), WROTE)
    async with conn.transaction():
        message_id, command = await chat.reply(
            conn, "C-1", "Da, 12 bucăți.", by="user:4", now=WROTE + timedelta(hours=23)
        )
    assert (command.to, command.text, command.reply_to) == (PHONE, "Da, 12 bucăți.", "wamid.IN1")
    assert command.template is None
    out = (await history(conn))[-1]
    assert (out["id"], out["direction"], out["status"]) == (message_id, "out", "queued")
    assert (out["author"], out["delivery_id"]) == ("user:4", command.delivery_id)


async def test_a_reply_outside_the_window_is_refused_and_nothing_is_stored(
    conn: asyncpg.Connection,
) -> None:
    await customer(conn)
    with pytest.raises(chat.WindowClosed, match="never"):
        await chat.reply(conn, "C-1", "Bună", by="user:4", now=WROTE)
    await receive(conn, notification(messages=[text("wamid.IN1", "Salut")]), WROTE)
    with pytest.raises(chat.WindowClosed, match="2026-11-29T09:30:00") as refused:
        await chat.reply(conn, "C-1", "Bună", by="user:4", now=WROTE + timedelta(hours=24))
    assert refused.value.closed_at == WROTE + timedelta(hours=24)
    assert [r["direction"] for r in await history(conn)] == ["in"]


async def test_a_reply_needs_a_known_customer_with_a_phone(conn: asyncpg.Connection) -> None:
    with pytest.raises(NotFound):
        await chat.reply(conn, "C-404", "Bună", by="user:4", now=WROTE)
    await customer(conn, "C-2", phone=None)
    with pytest.raises(chat.InvalidReply, match="no WhatsApp phone"):
        await chat.reply(conn, "C-2", "Bună", by="user:4", now=WROTE)


async def replied(conn: asyncpg.Connection) -> str:
    """A reply in the window; its delivery id."""
    await customer(conn)
    await receive(conn, notification(messages=[text("wamid.IN1", "Salut")]), WROTE)
    _, command = await chat.reply(conn, "C-1", "Bună ziua!", by="user:4", now=WROTE)
    return command.delivery_id


async def reply_status(conn: asyncpg.Connection) -> tuple[str, str | None]:
    row = await conn.fetchrow(
        "SELECT status, error FROM notification_chat_messages WHERE direction = 'out'"
    )
    return row["status"], row["error"]


def accepted(delivery_id: str) -> WhatsAppAccepted:
    return WhatsAppAccepted(
        delivery_id=delivery_id, wamid="wamid.OUT1", wa_id=PHONE, accepted_at=WROTE
    )


async def test_statuses_move_a_reply_forward_only(conn: asyncpg.Connection) -> None:
    delivery_id = await replied(conn)
    assert await chat.on_accepted(conn, accepted(delivery_id))
    t = WROTE + timedelta(seconds=1)
    await receive(conn, notification(statuses=[status("wamid.OUT1", "delivered", t)]), t)
    await receive(conn, notification(statuses=[status("wamid.OUT1", "sent", t)]), t)
    assert await reply_status(conn) == ("delivered", None)
    await receive(conn, notification(statuses=[status("wamid.OUT1", "read", t)]), t)
    failed = status("wamid.OUT1", "failed", t, errors=[{"code": 131026, "title": "Undeliverable"}])
    await receive(conn, notification(statuses=[failed]), t)
    await receive(conn, notification(statuses=[status("wamid.OUT1", "read", t)]), t)
    assert await reply_status(conn) == ("read", None)
    assert await conn.fetchval("SELECT count(*) FROM notification_chat_statuses") == 4


async def test_a_status_before_the_acceptance_is_applied_when_it_comes(
    conn: asyncpg.Connection,
) -> None:
    delivery_id = await replied(conn)
    t = WROTE + timedelta(seconds=1)
    failed = status("wamid.OUT1", "failed", t, errors=[{"code": 131047, "title": "Re-engagement"}])
    await receive(conn, notification(statuses=[failed]), t)
    assert await reply_status(conn) == ("queued", None)
    assert await chat.on_accepted(conn, accepted(delivery_id))
    assert await reply_status(conn) == ("failed", "131047: Re-engagement")


async def test_a_refused_send_fails_the_reply_for_good(conn: asyncpg.Connection) -> None:
    delivery_id = await replied(conn)
    refused = WhatsAppFailed(
        delivery_id=delivery_id, reason="re_engagement", permanent=True, code=131047, detail="x"
    )
    assert await chat.on_failed(conn, refused)
    assert await reply_status(conn) == ("failed", "re_engagement 131047: x")
    assert await chat.on_accepted(conn, accepted(delivery_id))
    t = WROTE + timedelta(seconds=1)
    await receive(conn, notification(statuses=[status("wamid.OUT1", "delivered", t)]), t)
    assert (await reply_status(conn))[0] == "failed"


async def test_deliveries_that_are_not_chat_replies_are_left_to_the_caller(
    conn: asyncpg.Connection,
) -> None:
    other = WhatsAppFailed(delivery_id="notif-1", reason="template", permanent=True)
    assert not await chat.on_failed(conn, other)
    assert not await chat.on_accepted(conn, accepted("notif-1"))


async def test_a_notification_not_in_metas_shape_is_refused_and_changes_nothing(
    conn: asyncpg.Connection,
) -> None:
    good = notification(messages=[text("wamid.IN1", "Salut")])
    broken = msgspec.structs.replace(good, payload=msgspec.Raw(b'{"entry": {"changes": 1}}'))
    with pytest.raises(PermanentError, match="not Meta's shape"):
        await receive(conn, broken, WROTE)
    assert await history(conn) == []

"""What happens after the send: SendGrid events (each once, statuses forward only, bounces
suppress, unsubscribes withdraw consent), WhatsApp statuses by wamid, retries of failures that
sent nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec

from actors.notifications.actor import NotificationsActor
from actors.notifications.messages import NotifyCustomer
from connectors.sendgrid.messages import EventsReceived
from connectors.whatsapp.messages import WebhookReceived
from hub.bootstrap import Hub
from tests.integration.notifications.support import (
    SETTINGS,
    Connectors,
    notification,
    save_customer,
    send,
    settled,
)
from tests.support import eventually

StartHub = Callable[..., Any]
DATA = {"order_id": "o-1", "number": "CMD-1", "customer_name": "Ana Ionescu"}


async def started(start_hub: StartHub, **settings: Any) -> tuple[Hub, Connectors]:
    connectors = Connectors()
    actor = NotificationsActor(msgspec.structs.replace(SETTINGS, **settings))
    hub, _ = await start_hub(actor, connectors)
    return hub, connectors


def delivered(key: str, **kw: Any) -> NotifyCustomer:
    return NotifyCustomer(
        notification_key=key, template="order_delivered", data=DATA, customer_id="C1", **kw
    )


def batch(*events: dict[str, Any]) -> EventsReceived:
    ts = int(datetime.now(UTC).timestamp())
    full = [{"timestamp": ts, **e} for e in events]
    return EventsReceived(
        event_ids=tuple(e["sg_event_id"] for e in events),
        events=len(events),
        payload=msgspec.Raw(msgspec.json.encode(full)),
    )


async def email_delivery(conn: asyncpg.Connection, key: str) -> tuple[str, str, list[Any]]:
    row = await conn.fetchrow(
        "SELECT d.delivery_id, d.provider_id, d.history FROM notification_deliveries d "
        "JOIN notification_notifications n ON n.id = d.notification_id "
        "WHERE n.notification_key = $1 AND d.channel = 'email'",
        key,
    )
    return row["delivery_id"], row["provider_id"], row["history"]


async def test_a_repeated_sendgrid_event_is_applied_once_and_statuses_move_forward(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, _ = await started(start_hub)
    await save_customer(ndb, "C1", whatsapp_opt_in=False, in_app_enabled=False)
    await send(hub, delivered("order:o-1:delivered"))
    await eventually(lambda: settled(ndb, "order:o-1:delivered", 1))
    did, xmsg, _ = await email_delivery(ndb, "order:o-1:delivered")
    mail = {"email": "c1@example.ro", "sg_message_id": f"{xmsg}.filter0001.1.0"}
    await send(hub, batch({**mail, "event": "delivered", "sg_event_id": "ev-1"}))
    await send(
        hub,
        batch(
            {**mail, "event": "delivered", "sg_event_id": "ev-1"},  # SendGrid sends it again
            {**mail, "event": "processed", "sg_event_id": "ev-0", "delivery_id": did},  # late
            {**mail, "event": "open", "sg_event_id": "ev-2", "delivery_id": did},
        ),
    )
    n = await eventually(
        lambda: ndb.fetchval("SELECT count(*) = 3 FROM notification_provider_events")
    )
    assert n
    history = await eventually(
        lambda: _history_ending(ndb, "order:o-1:delivered", "opened"), what="opened"
    )
    assert [h["status"] for h in history] == ["requested", "accepted", "delivered", "opened"]


async def _history_ending(conn: asyncpg.Connection, key: str, status: str) -> list[Any] | None:
    _, _, history = await email_delivery(conn, key)
    return history if history[-1]["status"] == status else None


async def test_a_bounce_suppresses_further_email_to_that_address(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    await save_customer(ndb, "C1", whatsapp_opt_in=False)
    await send(hub, delivered("order:o-1:delivered"))
    await eventually(lambda: settled(ndb, "order:o-1:delivered", 2))
    did, _, _ = await email_delivery(ndb, "order:o-1:delivered")
    bounce = {
        "email": "C1@example.ro",
        "event": "bounce",
        "sg_event_id": "ev-b",
        "delivery_id": did,
        "reason": "550 5.1.1 The email account does not exist",
    }
    await send(hub, batch(bounce))
    await eventually(lambda: _bounced(ndb), what="suppressed")
    await eventually(lambda: _email_status(ndb, did, "bounced"))
    await send(hub, delivered("order:o-2:delivered"))
    later = await eventually(lambda: settled(ndb, "order:o-2:delivered", 1))
    assert later["deliveries"] == {"in_app": "delivered"}
    assert len(connectors.emails_to("c1@example.ro")) == 1


async def _bounced(conn: asyncpg.Connection) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT reason = 'bounce' FROM notification_suppressions "
            "WHERE address = 'c1@example.ro'"
        )
    )


async def _email_status(conn: asyncpg.Connection, delivery_id: str, status: str) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT status = $2 FROM notification_deliveries WHERE delivery_id = $1",
            delivery_id,
            status,
        )
    )


async def test_an_unsubscribe_turns_marketing_consent_off(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, _ = await started(start_hub)
    await save_customer(ndb, "C1", marketing_consent=True)
    event = {"email": "c1@example.ro", "event": "group_unsubscribe", "sg_event_id": "ev-u"}
    await send(hub, batch(event))
    await eventually(
        lambda: ndb.fetchval(
            "SELECT NOT marketing_consent FROM notification_recipients WHERE customer_id = 'C1'"
        )
    )
    assert (
        await ndb.fetchval(
            "SELECT reason FROM notification_suppressions WHERE address = 'c1@example.ro'"
        )
        == "unsubscribe"
    )


async def test_whatsapp_statuses_update_the_delivery_by_wamid(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, _ = await started(start_hub)
    await save_customer(ndb, "C1", email_enabled=False, in_app_enabled=False)
    await send(hub, delivered("order:o-1:delivered"))
    n = await eventually(lambda: settled(ndb, "order:o-1:delivered", 1))
    wamid = n["providers"]["whatsapp"]
    statuses = (f"{wamid}:sent", f"{wamid}:read", f"{wamid}:delivered")
    payload = {"object": "whatsapp_business_account", "entry": []}
    await send(
        hub,
        WebhookReceived(
            phone_number_ids=("1234",),
            message_ids=(),
            statuses=statuses,
            contact="40744123456",
            payload=msgspec.Raw(msgspec.json.encode(payload)),
        ),
    )
    done = await eventually(
        lambda: _whatsapp_read(ndb, "order:o-1:delivered"), what="whatsapp read"
    )
    assert done == "read"  # a late "delivered" does not move it back


async def _whatsapp_read(conn: asyncpg.Connection, key: str) -> str | None:
    n = await notification(conn, key)
    return "read" if n and n["deliveries"].get("whatsapp") == "read" else None


async def test_an_email_sendgrid_refused_with_503_is_retried_as_new_deliveries_up_to_the_limit(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub, retry_backoff=0.05, retry_attempts=3)
    connectors.fail.add("c1@example.ro")
    await save_customer(ndb, "C1", whatsapp_opt_in=False, in_app_enabled=False)
    await send(hub, delivered("order:o-1:delivered"))

    async def attempts() -> list[Any] | None:
        rows = await ndb.fetch(
            "SELECT attempt, status FROM notification_deliveries ORDER BY attempt"
        )
        done = [tuple(r) for r in rows]
        return done if done == [(1, "failed"), (2, "failed"), (3, "failed")] else None

    assert await eventually(attempts)
    assert await ndb.fetchval("SELECT count(*) FROM hub_timers") == 0  # no fourth attempt
    assert connectors.emails == {}

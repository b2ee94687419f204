"""NotifyCustomer through the real bus: channels by preference, one notification per key, a bad
payload recorded as failed while the actor keeps working, attachments on the email."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from actors.notifications.actor import NotificationsActor
from actors.notifications.messages import Attachment, NotifyCustomer
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
EXPIRING = {
    "quotation_id": "q-1",
    "number": "OF-2027-00001",
    "customer_name": "Ana Ionescu",
    "valid_until": "2027-05-24",
    "expires_at": "2027-05-24T21:00:00+00:00",
    "gross": "1234.56",
    "currency": "RON",
}


async def started(start_hub: StartHub) -> tuple[Hub, Connectors]:
    connectors = Connectors()
    hub, _ = await start_hub(NotificationsActor(SETTINGS), connectors)
    return hub, connectors


def expiring(key: str = "quotation:q-1:expiring", **kw: Any) -> NotifyCustomer:
    args: dict[str, Any] = {
        "notification_key": key,
        "template": "quotation_expiring",
        "data": EXPIRING,
        "customer_id": "C1",
        **kw,
    }
    return NotifyCustomer(**args)


async def test_an_opted_in_customer_gets_email_whatsapp_and_in_app(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    await save_customer(ndb, "C1")
    await send(hub, expiring())
    n = await eventually(lambda: settled(ndb, "quotation:q-1:expiring", 3))
    assert n["status"] == "sent"
    assert n["deliveries"] == {"email": "accepted", "whatsapp": "accepted", "in_app": "delivered"}
    assert n["providers"]["whatsapp"].startswith("wamid.")
    (email,) = connectors.emails_to("c1@example.ro")
    assert email.subject == "Oferta OF-2027-00001 expiră în curând"
    assert "1.234,56 lei" in email.text and "24.05.2027" in email.html
    (wa,) = connectors.whatsapps.values()
    assert (wa.to, wa.template, wa.language) == ("40744123456", "quotation_expiring_v1", "ro")
    assert wa.parameters == ("Ana Ionescu", "OF-2027-00001", "24.05.2027")
    title = await ndb.fetchval("SELECT title FROM notification_in_app WHERE customer_id = 'C1'")
    assert title == "Oferta OF-2027-00001 expiră în curând"


async def test_the_same_key_twice_notifies_once(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    await save_customer(ndb, "C1", whatsapp_opt_in=False)
    await send(hub, expiring(), key="customer:C1")
    await send(hub, expiring(data={**EXPIRING, "number": "OTHER"}), key="customer:C1")
    marker = expiring(key="quotation:q-2:expiring", data={**EXPIRING, "number": "OF-2"})
    await send(hub, marker, key="customer:C1")  # handled after the duplicate
    await eventually(lambda: settled(ndb, "quotation:q-2:expiring", 2))
    await eventually(lambda: settled(ndb, "quotation:q-1:expiring", 2))
    subjects = sorted(m.subject for m in connectors.emails_to("c1@example.ro"))
    assert subjects == ["Oferta OF-2 expiră în curând", "Oferta OF-2027-00001 expiră în curând"]
    assert await ndb.fetchval("SELECT count(*) FROM notification_in_app") == 2


async def test_a_missing_template_value_fails_the_notification_and_the_actor_goes_on(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, _ = await started(start_hub)
    await save_customer(ndb, "C1")
    bad = {k: v for k, v in EXPIRING.items() if k != "gross"}
    await send(hub, expiring(key="quotation:bad:expiring", data=bad))
    await send(hub, expiring(key="quotation:good:expiring"))
    failed = await eventually(lambda: notification(ndb, "quotation:bad:expiring"))
    assert failed["status"] == "failed" and "gross" in failed["reason"]
    assert failed["deliveries"] == {}
    await eventually(lambda: settled(ndb, "quotation:good:expiring", 3))
    assert await ndb.fetchval("SELECT count(*) FROM hub_dead_letters") == 0


async def test_a_guest_gets_email_only_with_the_invoice_attached(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    pdf = Attachment(filename="LDX-0099.pdf", content_type="application/pdf", content=b"%PDF-1.7")
    data = {
        "order_id": "o-1",
        "order_number": "CMD-1",
        "customer_name": "Ion Vlădescu",
        "invoice_number": "LDX-0099",
        "gross": "99.9",
        "issued_on": "2027-05-12",
    }
    await send(
        hub,
        NotifyCustomer(
            notification_key="invoice:LDX-0099:issued",
            template="invoice_issued",
            data=data,
            email="ion@example.ro",
            phone="0744 123 456",
            attachments=(pdf,),
        ),
    )
    n = await eventually(lambda: settled(ndb, "invoice:LDX-0099:issued", 1))
    assert n["deliveries"] == {"email": "accepted"}
    (email,) = connectors.emails_to("ion@example.ro")
    assert email.attachments[0].content == b"%PDF-1.7"
    assert email.attachments[0].filename == "LDX-0099.pdf"
    assert "99,90 lei" in email.text


async def test_nothing_usable_is_recorded_as_skipped_with_why(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    await send(hub, expiring(customer_id=None))
    n = await eventually(lambda: notification(ndb, "quotation:q-1:expiring"))
    assert n["status"] == "skipped"
    assert "no email address" in n["reason"] and "portal user" in n["reason"]
    assert connectors.emails == {}


async def test_preferences_are_honoured(start_hub: StartHub, ndb: asyncpg.Connection) -> None:
    hub, connectors = await started(start_hub)
    await save_customer(ndb, "C1", email_enabled=False, in_app_enabled=False)
    await send(hub, expiring())
    n = await eventually(lambda: settled(ndb, "quotation:q-1:expiring", 1))
    assert n["deliveries"] == {"whatsapp": "accepted"}
    assert connectors.emails == {}

"""Business events that notify: an order confirmed, shipped, delivered (each once, however often
the event comes), a quote sent, the low-stock digest to the staff."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal as D
from functools import partial
from typing import Any

import asyncpg

from actors.inventory.messages import LowStockDigest, LowStockItem
from actors.notifications.actor import NotificationsActor
from actors.orders.messages import Customer, OrderPlaced, OrderStateChanged, ShipmentSent
from actors.pricing.messages import CartTotals
from actors.quotations.messages import QuotationStatusChanged
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
NOW = datetime(2027, 5, 10, 8, 0, tzinfo=UTC)
TOTALS = CartTotals(net=D("1037.45"), vat=D("197.11"), gross=D("1234.56"))


async def started(start_hub: StartHub) -> tuple[Hub, Connectors]:
    connectors = Connectors()
    hub, _ = await start_hub(NotificationsActor(SETTINGS), connectors)
    return hub, connectors


def placed(order_id: str = "o-1", customer_id: str | None = None) -> OrderPlaced:
    return OrderPlaced(
        order_id=order_id,
        number="CMD-2027-00042",
        source="api",
        external_ref=None,
        customer=Customer(
            kind="consumer",
            name="Ana Ionescu",
            email="ana@example.ro",
            phone="0744 123 456",
            customer_id=customer_id,
        ),
        payment_method="bank_transfer",
        lines=(),
        totals=TOTALS,
        placed_at=NOW,
    )


def moved(to_state: str, order_id: str = "o-1", from_state: str = "pending") -> OrderStateChanged:
    return OrderStateChanged(
        order_id=order_id,
        number="CMD-2027-00042",
        external_ref=None,
        from_state=from_state,  # type: ignore[arg-type]
        to_state=to_state,  # type: ignore[arg-type]
        woo_status="processing",
        at=NOW,
        by="user:1",
        reason="",
    )


async def test_a_confirmed_order_is_told_once_however_often_the_event_comes(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    await send(hub, placed(), key="order:o-1")
    for _ in range(2):
        await send(hub, moved("confirmed"), key="order:o-1")
    await send(hub, moved("delivered", from_state="shipped"), key="order:o-1")
    await eventually(lambda: settled(ndb, "order:o-1:delivered", 1))
    n = await eventually(lambda: settled(ndb, "order:o-1:confirmed", 1))
    assert n["deliveries"] == {"email": "accepted"}  # a guest: email only
    subjects = sorted(m.subject for m in connectors.emails_to("ana@example.ro"))
    assert subjects == [
        "Comanda CMD-2027-00042 a fost confirmată",
        "Comanda CMD-2027-00042 a fost livrată",
    ]
    confirmed = next(m for m in connectors.emails.values() if "confirmată" in m.subject)
    assert "1.234,56 lei" in confirmed.text


async def test_each_shipment_is_told_with_its_tracking_to_a_portal_customer(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    await save_customer(ndb, "C1", email="ana@example.ro")
    await send(hub, placed(customer_id="C1"), key="order:o-1")
    sent = ShipmentSent(
        order_id="o-1", shipment_id="s-1", lines=(), complete=True, tracking="FAN123"
    )
    await send(hub, sent, key="order:o-1")
    await send(hub, sent, key="order:o-1")
    n = await eventually(lambda: settled(ndb, "shipment:s-1:shipped", 3))
    assert n["deliveries"] == {"email": "accepted", "whatsapp": "accepted", "in_app": "delivered"}
    (email,) = connectors.emails_to("ana@example.ro")
    assert "AWB: FAN123" in email.text
    (wa,) = connectors.whatsapps.values()
    assert wa.parameters == ("Ana Ionescu", "CMD-2027-00042", "FAN123")


async def test_other_order_states_notify_nobody(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, _ = await started(start_hub)
    await send(hub, placed(), key="order:o-1")
    await send(hub, moved("cancelled"), key="order:o-1")
    await send(hub, moved("confirmed"), key="order:o-1")  # a marker behind it
    await eventually(lambda: settled(ndb, "order:o-1:confirmed", 1))
    assert await ndb.fetchval("SELECT count(*) FROM notification_notifications") == 1


async def test_a_quote_sent_to_a_known_customer_is_told_in_their_language(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    await save_customer(ndb, "C1", language="en", whatsapp_opt_in=False)
    event = QuotationStatusChanged(
        quotation_id="q-1",
        number="OF-2027-00001",
        customer_id="C1",
        from_status="draft",
        to_status="sent",
        at=NOW,
        by="user:1",
        valid_until=date(2027, 5, 24),
        totals=TOTALS,
    )
    await send(hub, event, key="quotation:q-1")
    await eventually(lambda: settled(ndb, "quotation:q-1:sent", 2))
    (email,) = connectors.emails_to("c1@example.ro")
    assert email.subject == "Quotation OF-2027-00001 from Ledux"
    assert "1,234.56 RON" in email.text and "24.05.2027" in email.text


async def test_the_low_stock_digest_goes_to_every_staff_address(
    start_hub: StartHub, ndb: asyncpg.Connection
) -> None:
    hub, connectors = await started(start_hub)
    items = (LowStockItem(sku="STRIP-1", available=D("3"), reorder_point=D("10")),)
    env = await send(hub, LowStockDigest(items=items))
    for address in SETTINGS.staff_emails:
        key = f"low_stock:{env.message_id}:{address}"
        assert await eventually(partial(settled, ndb, key, 1))
        (email,) = connectors.emails_to(address)
        assert "STRIP-1: disponibil 3, prag 10" in email.text
        assert email.subject.startswith("Stoc scăzut: 1 produse")
    assert await notification(ndb, "nothing") is None

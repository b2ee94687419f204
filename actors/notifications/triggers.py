"""Business events that notify someone, each turned into a :class:`NotifyCustomer` whose key is
derived from the event (``order:<id>:confirmed``, ``shipment:<id>:shipped``), so a repeated
event never notifies twice."""

from __future__ import annotations

import asyncpg

from actors.inventory.messages import LowStockDigest
from actors.notifications import people
from actors.notifications.messages import Language, NotifyCustomer
from actors.notifications.phones import maybe
from actors.orders.messages import OrderPlaced, OrderStateChanged, ShipmentSent
from actors.quotations.messages import QuotationStatusChanged
from hub.errors import TransientError

ORDER_TEMPLATES = {"confirmed": "order_confirmed", "delivered": "order_delivered"}


async def order_placed(conn: asyncpg.Connection, msg: OrderPlaced, language: str) -> None:
    """Remember who to tell about this order's later events."""
    c = msg.customer
    await people.save_contact(
        conn,
        people.OrderContact(
            order_id=msg.order_id,
            number=msg.number,
            customer_id=c.customer_id,
            name=c.name,
            email=c.email,
            phone=maybe(c.phone),
            language=language,
            gross=msg.totals.gross,
            currency=msg.totals.currency,
            placed_at=msg.placed_at,
        ),
    )


async def _contact(conn: asyncpg.Connection, order_id: str) -> people.OrderContact:
    found = await people.contact(conn, order_id)
    if found is None:  # its OrderPlaced is still on the way: the runtime retries this later
        raise TransientError(f"order {order_id}: OrderPlaced not received yet")
    return found


def _request(c: people.OrderContact, key: str, template: str, **data: object) -> NotifyCustomer:
    language: Language = "en" if c.language == "en" else "ro"
    return NotifyCustomer(
        notification_key=key,
        template=template,
        data={
            "order_id": c.order_id,
            "number": c.number,
            "customer_name": c.name,
            "gross": str(c.gross),
            "currency": c.currency,
            **data,
        },
        customer_id=c.customer_id,
        email=c.email,
        phone=c.phone,
        language=language,
    )


async def order_state(conn: asyncpg.Connection, msg: OrderStateChanged) -> NotifyCustomer | None:
    """Confirmed and delivered orders are told to the customer."""
    template = ORDER_TEMPLATES.get(msg.to_state)
    if template is None:
        return None
    c = await _contact(conn, msg.order_id)
    return _request(c, f"order:{msg.order_id}:{msg.to_state}", template)


async def shipment_sent(conn: asyncpg.Connection, msg: ShipmentSent) -> NotifyCustomer:
    """Each shipment is told once, with its tracking number."""
    c = await _contact(conn, msg.order_id)
    return _request(
        c,
        f"shipment:{msg.shipment_id}:shipped",
        "order_shipped",
        tracking=msg.tracking,
        complete=msg.complete,
    )


async def quotation_sent(
    conn: asyncpg.Connection, msg: QuotationStatusChanged, default_language: str
) -> NotifyCustomer | None:
    """A quote sent to a known customer is told to them (a prospect's quote goes by the
    staff's own email with the PDF, outside the hub)."""
    if msg.to_status != "sent" or msg.customer_id is None:
        return None
    r = await people.recipient(conn, msg.customer_id)
    language = r.language if r is not None else default_language
    return NotifyCustomer(
        notification_key=f"quotation:{msg.quotation_id}:sent",
        template="quotation_sent",
        data={
            "quotation_id": msg.quotation_id,
            "number": msg.number,
            "gross": str(msg.totals.gross),
            "currency": msg.totals.currency,
            "valid_until": msg.valid_until.isoformat() if msg.valid_until else None,
        },
        customer_id=msg.customer_id,
        language="en" if language == "en" else "ro",
    )


def low_stock(
    msg: LowStockDigest, digest_id: str, staff: tuple[str, ...], language: str
) -> list[NotifyCustomer]:
    """One email per staff address (``digest_id``: the digest event's message id)."""
    items = [
        {"sku": i.sku, "available": str(i.available), "reorder_point": str(i.reorder_point)}
        for i in msg.items
    ]
    return [
        NotifyCustomer(
            notification_key=f"low_stock:{digest_id}:{address.lower()}",
            template="low_stock_digest",
            data={"items": items},
            email=address,
            language="en" if language == "en" else "ro",
            channels=("email",),
        )
        for address in staff
    ]

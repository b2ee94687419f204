"""Helpers of the invoicing tests: a recorder of outcomes and Romanian orders to invoice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg

from actors.invoicing.messages import (
    CreditNoteIssued,
    DocumentFailed,
    DocumentLine,
    InvoiceIssued,
    IssueInvoice,
    IssueProforma,
    Party,
    ProformaIssued,
)
from actors.notifications.messages import NotifyCustomer
from hub.actor import Actor, Context, handler
from hub.bootstrap import Hub
from hub.messages import Envelope, Message, encode
from tests.support import eventually

Outcome = InvoiceIssued | ProformaIssued | CreditNoteIssued | DocumentFailed


class Outcomes(Actor, name="invoicing-outcomes"):
    """What the invoicing actor announced, as orders and notifications would receive it."""

    def __init__(self) -> None:
        self.events: list[Outcome] = []
        self.notices: list[NotifyCustomer] = []

    @handler
    async def record(
        self,
        msg: InvoiceIssued | ProformaIssued | CreditNoteIssued | DocumentFailed,
        ctx: Context,
    ) -> None:
        self.events.append(msg)

    @handler
    async def notice(self, msg: NotifyCustomer, ctx: Context) -> None:
        self.notices.append(msg)

    def of(self, request_id: str) -> list[Outcome]:
        return [e for e in self.events if e.request_id == request_id]


CONSUMER = Party(
    kind="consumer",
    name="Ioana Mărgărit",
    street="Str. Ștefan cel Mare 12",
    city="Iași",
    county="Iași",
    email="ioana@lumina.ro",
    phone="+40722111222",
)
COMPANY = Party(
    kind="company",
    name="Lumină Ţesătura SRL",
    street="Bd. Unirii 5, Sector 3",
    city="București",
    county="București",
    cui="RO18547290",
    reg_com="J40/1234/2010",
    email="contabil@lumina-tesatura.ro",
)


def line(sku: str = "LED-STRIP-5M", quantity: str = "2", unit_net: str = "100.00") -> DocumentLine:
    q, net = Decimal(quantity), Decimal(unit_net)
    line_net = q * net
    vat = (line_net * Decimal("0.21")).quantize(Decimal("0.01"))
    return DocumentLine(
        sku=sku,
        name="Bandă LED 5m, lumină caldă",
        unit="piece",
        quantity=q,
        unit_net=net,
        vat_rate=Decimal("0.21"),
        line_net=line_net,
        line_vat=vat,
        line_gross=line_net + vat,
    )


def invoice(request_id: str, order: str = "o-1", **kw: Any) -> IssueInvoice:
    fields: dict[str, Any] = {
        "request_id": request_id,
        "order_id": order,
        "order_number": f"LDX-{order}",
        "party": CONSUMER,
        "lines": (line(),),
        "payment_method": "card",
        "paid": True,
    }
    fields.update(kw)
    return IssueInvoice(**fields)


def proforma(request_id: str, order: str = "o-2") -> IssueProforma:
    return IssueProforma(
        request_id=request_id,
        order_id=order,
        order_number=f"LDX-{order}",
        party=COMPANY,
        lines=(line(quantity="3"),),
    )


async def send(hub: Hub, message: Message) -> None:
    await hub.bus.publish(Envelope.new(message), encode(message))


async def settled(outcomes: Outcomes, request_id: str, timeout: float = 15.0) -> Outcome:
    def found() -> Outcome | None:
        return next(iter(outcomes.of(request_id)), None)

    result: Outcome = await eventually(found, timeout=timeout, what=f"outcome of {request_id}")
    return result


async def state(conn: asyncpg.Connection, request_id: str) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT state FROM invoicing_documents WHERE request_id = $1", request_id
    )
    return value

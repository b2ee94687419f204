"""Which document invoicing is asked for, when, with which lines; and what became of it.

When (``domain.documents_due``): card → the invoice at confirmation; cash on delivery → an
invoice per shipment, for what it carries; bank transfer → a proforma at confirmation and the
invoice once payments cover the gross total. A return asks for a credit note reversing the
returned lines; cancelling an invoiced order reverses its invoice.

Request ids are deterministic, so a document is never asked for twice: ``invoice:<order>``,
``invoice:<order>:<shipment>`` (cash on delivery), ``proforma:<order>``,
``credit_note:<order>:<return>`` (``…:<return>:<shipment>`` for a shipment's invoice) and
``credit_note:<order>:cancel``. The row in ``order_documents`` is written in the transaction that
emits the command; its unique index refuses a second one.

Rounding: a line taken in full keeps the order line's amounts exactly. A part of a line (a
shipment's or a return's quantity) is priced as the pricing engine prices a line: net =
unit_net * quantity rounded half up to the cent, VAT = net * rate rounded half up, gross = net +
VAT. So the parts of a line may differ from the whole by a cent; each document adds up on its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import asyncpg

from actors.invoicing.messages import (
    CreditNoteIssued,
    DocumentFailed,
    DocumentLine,
    InvoiceIssued,
    IssueCreditNote,
    IssueInvoice,
    IssueProforma,
    Party,
    ProformaIssued,
)
from actors.orders import document_store as dstore
from actors.orders import domain, store
from actors.orders.effects import Outcome, order_key

CENT = Decimal("0.01")
LIVE = ("requested", "issued", "parked")  # a document that exists, or may


def money(amount: Decimal) -> Decimal:
    """To the cent, half up (as the pricing engine rounds)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def party(order: store.Order) -> Party:
    """The client on the order's documents: the customer at its billing address."""
    c, a = order.customer, order.billing
    return Party(
        kind=c.kind,
        name=c.name if c.kind == "company" else a.name,
        street=a.street,
        city=a.city,
        county=a.county,
        country=a.country,
        cui=c.cui if c.kind == "company" else None,
        reg_com=c.reg_com if c.kind == "company" else None,
        email=c.email,
        phone=c.phone or a.phone,
    )


SHIPPING_SKU = "TRANSPORT"


def shipping_line(order: store.Order) -> tuple[DocumentLine, ...]:
    """The order's delivery charge as a service line (none when delivery is free)."""
    if order.shipping_net <= 0:
        return ()
    net, vat = order.shipping_net, order.shipping_vat
    return (
        DocumentLine(
            sku=SHIPPING_SKU,
            name="Transport",
            unit="piece",
            quantity=Decimal(1),
            unit_net=net,
            vat_rate=(vat / net).quantize(Decimal("0.01")) if vat else Decimal(0),
            line_net=net,
            line_vat=vat,
            line_gross=net + vat,
            service=True,
        ),
    )


def part(line: DocumentLine, quantity: Decimal) -> DocumentLine:
    """``quantity`` of a document line, priced pro rata (the whole line: itself)."""
    if quantity == line.quantity:
        return line
    net = money(line.unit_net * quantity)
    vat = money(net * line.vat_rate)
    return DocumentLine(
        sku=line.sku,
        name=line.name,
        unit=line.unit,
        quantity=quantity,
        unit_net=line.unit_net,
        vat_rate=line.vat_rate,
        line_net=net,
        line_vat=vat,
        line_gross=net + vat,
    )


def whole(line: store.Line) -> DocumentLine:
    """An order line as a document line (it must be priced)."""
    p = line.priced()
    return DocumentLine(
        sku=p.sku,
        name=line.name,
        unit=p.unit,
        quantity=p.quantity,
        unit_net=p.unit_net,
        vat_rate=p.vat_rate,
        line_net=p.line_net,
        line_vat=p.line_vat,
        line_gross=p.line_gross,
    )


def document_lines(
    lines: Sequence[store.Line], quantities: Mapping[str, Decimal] | None = None
) -> tuple[DocumentLine, ...]:
    """The order's lines on a document: all of them, or ``quantities`` per SKU (pro rata)."""
    if quantities is None:
        return tuple(whole(x) for x in lines)
    return tuple(part(whole(x), quantities[x.sku]) for x in lines if quantities.get(x.sku))


def allocate_credit(
    invoices: Sequence[dstore.Document],
    credit_notes: Sequence[dstore.Document],
    returned: Mapping[str, Decimal],
) -> list[tuple[dstore.Document, tuple[DocumentLine, ...]]]:
    """Which invoice's lines a return reverses: each SKU from the invoices in the order they
    were asked for, up to what each invoiced less what earlier credit notes reversed of it."""
    credited: dict[tuple[str, str], Decimal] = {}
    for note in credit_notes:
        for x in note.lines:
            key = (note.invoice_request_id or "", x.sku)
            credited[key] = credited.get(key, Decimal(0)) + x.quantity
    left = dict(returned)
    out: list[tuple[dstore.Document, tuple[DocumentLine, ...]]] = []
    for invoice in invoices:
        taken: list[DocumentLine] = []
        for x in invoice.lines:
            open_ = x.quantity - credited.get((invoice.request_id, x.sku), Decimal(0))
            take = min(left.get(x.sku, Decimal(0)), open_)
            if take > 0:
                taken.append(part(x, take))
                left[x.sku] -= take
        if taken:
            out.append((invoice, tuple(taken)))
    return out


async def ask(
    conn: asyncpg.Connection,
    order: store.Order,
    kind: domain.Document,
    request_id: str,
    lines: tuple[DocumentLine, ...],
    *,
    now: datetime,
    out: Outcome,
    shipment_id: str | None = None,
    paid: bool = False,
) -> None:
    """Ask for an invoice or a proforma, unless it was asked for already."""
    if not await dstore.add_document(
        conn, order.id, request_id, kind, lines, at=now, shipment_id=shipment_id
    ):
        out.notes.append(f"{request_id} was asked for already")
        return
    if kind == "proforma":
        out.emit(
            IssueProforma(
                request_id=request_id,
                order_id=order.id,
                order_number=order.number,
                party=party(order),
                lines=lines,
                currency=order.currency,
                customer_id=order.customer_id,
            ),
            order_key(order.id),
        )
        return
    proforma = f"proforma:{order.id}" if order.payment_method == "bank_transfer" else None
    out.emit(
        IssueInvoice(
            request_id=request_id,
            order_id=order.id,
            order_number=order.number,
            party=party(order),
            lines=lines,
            payment_method=order.payment_method,
            paid=paid,
            shipment_id=shipment_id,
            proforma_request_id=proforma,
            currency=order.currency,
            customer_id=order.customer_id,
        ),
        order_key(order.id),
    )


async def at_confirmation(
    conn: asyncpg.Connection, order: store.Order, *, now: datetime, out: Outcome
) -> None:
    """The documents due when an order is confirmed (a bank transfer already paid in full
    gets its invoice at once, after the proforma)."""
    lines = document_lines(await store.lines(conn, order.id)) + shipping_line(order)
    for kind in domain.documents_due(order.payment_method, "confirmed"):
        await ask(
            conn, order, kind, f"{kind}:{order.id}", lines, now=now, out=out, paid=order.prepaid
        )
    if order.payment_method == "bank_transfer" and order.paid_in_full:
        await at_payment(conn, order, now=now, out=out)


async def at_shipment(
    conn: asyncpg.Connection,
    order: store.Order,
    shipment_id: str,
    quantities: Mapping[str, Decimal],
    *,
    now: datetime,
    out: Outcome,
) -> None:
    """The documents due when a shipment left: cash on delivery invoices what it carries (the
    delivery charge with the first shipment)."""
    for kind in domain.documents_due(order.payment_method, "shipped"):
        lines = document_lines(await store.lines(conn, order.id), quantities)
        if not await dstore.has_kind(conn, order.id, kind):
            lines += shipping_line(order)
        request_id = f"{kind}:{order.id}:{shipment_id}"
        await ask(conn, order, kind, request_id, lines, now=now, out=out, shipment_id=shipment_id)


async def at_payment(
    conn: asyncpg.Connection, order: store.Order, *, now: datetime, out: Outcome
) -> None:
    """The documents due once payments cover the order: a bank transfer's invoice, paid."""
    for kind in domain.documents_due(order.payment_method, "payment_recorded"):
        lines = document_lines(await store.lines(conn, order.id)) + shipping_line(order)
        await ask(conn, order, kind, f"{kind}:{order.id}", lines, now=now, out=out, paid=True)


async def credit(
    conn: asyncpg.Connection,
    order: store.Order,
    returned: Mapping[str, Decimal] | None,
    *,
    return_id: str | None,
    reason: str,
    now: datetime,
    out: Outcome,
) -> None:
    """Ask for the credit notes reversing ``returned`` (None: everything invoiced, for a
    cancelled order) of the invoices asked for so far, one per invoice it touches."""
    docs = await dstore.documents(conn, order.id)
    invoices = [d for d in docs if d.kind == "invoice" and d.status in LIVE]
    notes = [d for d in docs if d.kind == "credit_note" and d.status in LIVE]
    if returned is None:
        returned = {}
        for invoice in invoices:
            for x in invoice.lines:
                returned[x.sku] = returned.get(x.sku, Decimal(0)) + x.quantity
    suffix = return_id or "cancel"
    for invoice, lines in allocate_credit(invoices, notes, returned):
        request_id = f"credit_note:{order.id}:{suffix}"
        if invoice.shipment_id is not None:
            request_id += f":{invoice.shipment_id}"
        if not await dstore.add_document(
            conn,
            order.id,
            request_id,
            "credit_note",
            lines,
            at=now,
            shipment_id=invoice.shipment_id,
            return_id=return_id,
            invoice_request_id=invoice.request_id,
        ):
            out.notes.append(f"{request_id} was asked for already")
            continue
        out.emit(
            IssueCreditNote(
                request_id=request_id,
                order_id=order.id,
                order_number=order.number,
                invoice_request_id=invoice.request_id,
                lines=lines,
                reason=reason,
            ),
            order_key(order.id),
        )


async def issued(
    conn: asyncpg.Connection, msg: InvoiceIssued | ProformaIssued | CreditNoteIssued
) -> Outcome:
    """Keep the document's series, number and gross."""
    out = Outcome()
    await store.find(conn, msg.order_id)  # the order's lock: its documents change with it
    if not await dstore.mark_issued(
        conn,
        msg.request_id,
        msg.order_id,
        series=msg.series,
        number=msg.number,
        gross=msg.gross,
        issued_at=msg.issued_at,
    ):
        out.notes.append(f"no document {msg.request_id} was asked for order {msg.order_id}")
    return out


async def failed(conn: asyncpg.Connection, msg: DocumentFailed) -> Outcome:
    """Keep why a document could not be issued (``parked``: a person must decide)."""
    out = Outcome()
    await store.find(conn, msg.order_id)
    if await dstore.mark_failed(
        conn, msg.request_id, msg.order_id, parked=msg.parked, error=msg.reason
    ):
        out.notes.append(f"{msg.request_id} {'parked' if msg.parked else 'failed'}: {msg.reason}")
    return out

"""The invoicing contract: the documents other contexts ask for, and what became of them.

Orders ask (it knows *when* a document is due, see ``actors.orders.domain.documents_due``);
the invoicing context (with the SmartBill connector) issues. Each request carries a
``request_id`` chosen by the asker: it is the document's idempotency key — asking twice with
the same id never makes two documents. Results carry it back.

Money is ``Decimal`` RON; ``unit_net`` is the unit price net of VAT, ``vat_rate`` a fraction
(0.21). Quantities are positive, also on a credit note (the document reverses them).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import msgspec

from hub.messages import Command, Event

DocumentKind = Literal["invoice", "proforma", "credit_note"]


class Party(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The client on a document: a company (``cui``) or a consumer (no CUI)."""

    kind: Literal["consumer", "company"]
    name: str
    street: str
    city: str
    county: str
    country: str = "RO"
    cui: str | None = None
    reg_com: str | None = None
    email: str | None = None
    phone: str | None = None


class DocumentLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One product line of a document, priced as the order was."""

    sku: str
    name: str
    unit: Literal["piece", "metre"]
    quantity: Decimal
    unit_net: Decimal
    vat_rate: Decimal
    line_net: Decimal
    line_vat: Decimal
    line_gross: Decimal
    service: bool = False  # not goods (delivery): SmartBill moves no stock for it


class IssueInvoice(Command, tag="invoicing.IssueInvoice"):
    """Issue an invoice for an order (all of it, or one shipment's lines for cash on delivery)."""

    request_id: str
    order_id: str
    order_number: str
    party: Party
    lines: tuple[DocumentLine, ...]
    payment_method: Literal["card", "cash_on_delivery", "bank_transfer"]
    paid: bool  # collected already (card, a recorded bank transfer): the invoice shows it paid
    shipment_id: str | None = None
    proforma_request_id: str | None = None  # the proforma this invoice follows
    currency: str = "RON"
    customer_id: str | None = None  # the hub's customer, for the in-app copy of the email


class IssueProforma(Command, tag="invoicing.IssueProforma"):
    """Issue a proforma (SmartBill "estimate") the customer pays by bank transfer."""

    request_id: str
    order_id: str
    order_number: str
    party: Party
    lines: tuple[DocumentLine, ...]
    currency: str = "RON"
    customer_id: str | None = None  # the hub's customer, for the in-app copy of the email


class IssueCreditNote(Command, tag="invoicing.IssueCreditNote"):
    """Reverse (storno) returned lines of an issued invoice."""

    request_id: str
    order_id: str
    order_number: str
    invoice_request_id: str
    lines: tuple[DocumentLine, ...]
    reason: str


class DocumentIssued(Event, kw_only=True, frozen=True):
    """Fields every issued-document event has (not a message itself)."""

    request_id: str
    order_id: str
    series: str
    number: str
    gross: Decimal
    issued_at: datetime


class InvoiceIssued(DocumentIssued, tag="invoicing.InvoiceIssued"):
    """The invoice exists in SmartBill: ``series`` + ``number`` name it."""


class ProformaIssued(DocumentIssued, tag="invoicing.ProformaIssued"):
    """The proforma exists in SmartBill."""


class CreditNoteIssued(DocumentIssued, tag="invoicing.CreditNoteIssued"):
    """The credit note (storno) exists in SmartBill."""


class DocumentFailed(Event, tag="invoicing.DocumentFailed"):
    """A document could not be issued. ``parked``: the outcome is unknown (a lost response
    that could not be reconciled) and a person must decide; otherwise it was refused."""

    request_id: str
    order_id: str
    document: DocumentKind
    reason: str
    parked: bool = False


class StockDiscrepanciesFound(Event, tag="invoicing.StockDiscrepanciesFound"):
    """The daily comparison found SmartBill's stock and the hub's on hand apart (the report:
    ``invoicing_stock_checks`` / ``_discrepancies`` of ``check_id``). ``missing``: in the hub,
    not in SmartBill; ``extra``: in SmartBill, not in the hub; ``different``: other quantities;
    ``unmapped``: SmartBill warehouses with no hub code (not compared)."""

    check_id: int
    on: date
    compared: int
    missing: int
    extra: int
    different: int
    unmapped: tuple[str, ...] = ()


InvoicingMessage = (
    IssueInvoice
    | IssueProforma
    | IssueCreditNote
    | InvoiceIssued
    | ProformaIssued
    | CreditNoteIssued
    | DocumentFailed
    | StockDiscrepanciesFound
)

"""What a simulated SmartBill company holds: series, VAT rates, stock and issued documents.

Numbers are consecutive per series (zero-padded to 4 digits, as ``"0023"``); a draft takes no
number; deleting the last document of a series gives its number back (``nextNumber`` goes down).
A storno is a new invoice in the same series with the quantities negated. Documents issued with
``useStock`` take their quantities from the warehouse; cancelling, reversing or deleting them
puts the quantities back. Totals are VAT included, rounded per line to the document precision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from connectors.smartbill.sim_rules import (
    NO_SERIES,
    Refused,
    check_document,
    check_payment,
    day,
    flag,
    number,
)

Kind = Literal["invoice", "estimate"]
_TYPE: dict[str, str] = {"invoice": "f", "estimate": "p"}
_NAME: dict[str, str] = {"invoice": "Factura", "estimate": "Proforma"}


@dataclass
class SeriesState:
    """A series: its name, type (``f``, ``p``, ``c``) and the number it gives next."""

    name: str
    type: str
    next: int = 1
    width: int = 4

    def format(self, n: int) -> str:
        return str(n).zfill(self.width)


@dataclass
class StockItem:
    name: str
    code: str
    unit: str
    quantity: Decimal


@dataclass
class Warehouse:
    name: str
    type: str = "en detail"
    items: dict[str, StockItem] = field(default_factory=dict)  # by code (or name)


@dataclass
class SimDocument:
    """An invoice or proforma as SmartBill keeps it (``body``: what was sent)."""

    kind: Kind
    series: str
    number: str  # "" for a draft
    issue_date: date
    client: dict[str, Any]
    lines: list[dict[str, Any]]
    total: Decimal
    body: dict[str, Any]
    id: int
    draft: bool = False
    paid: Decimal = Decimal(0)
    cancelled: bool = False
    stock_moved: bool = False
    reverses: str | None = None  # the invoice this storno reverses
    reversed_by: str | None = None
    from_estimate: str | None = None
    invoiced_by: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """Series and number together, as SmartBill writes them in messages (``LDX0042``)."""
        return f"{self.series}{self.number}"


def _default_series() -> dict[str, SeriesState]:
    return {
        "LDX": SeriesState("LDX", "f"),
        "LDXP": SeriesState("LDXP", "p"),
        "LDXC": SeriesState("LDXC", "c"),
    }


def _default_taxes() -> list[tuple[str, Decimal]]:
    # Law 141/2025 from 1 Aug 2025: 21 % standard, 11 % reduced, 9 % transitional for housing.
    return [
        ("Normala", Decimal(21)),
        ("Redusa", Decimal(11)),
        ("Redusa locuinte", Decimal(9)),
        ("Taxare inversa", Decimal(0)),
        ("SDD", Decimal(0)),
        ("SFDD", Decimal(0)),
    ]


def _default_stock() -> dict[str, Warehouse]:
    shop = Warehouse("Depozit Bucuresti", "en gros")
    shop.items["LED-STRIP-5M"] = StockItem("Banda LED 5m", "LED-STRIP-5M", "buc", Decimal(120))
    shop.items["PROF-AL-2M"] = StockItem("Profil aluminiu 2m", "PROF-AL-2M", "buc", Decimal(40))
    return {shop.name: shop}


@dataclass
class Books:
    """One SmartBill company (``cif``) and its configuration (the simulator's knobs)."""

    cif: str = "RO18547290"
    series: dict[str, SeriesState] = field(default_factory=_default_series)
    default_series: dict[str, str] = field(default_factory=lambda: {"f": "LDX", "p": "LDXP"})
    taxes: list[tuple[str, Decimal]] = field(default_factory=_default_taxes)
    warehouses: dict[str, Warehouse] = field(default_factory=_default_stock)
    currencies: frozenset[str] = frozenset({"RON", "EUR", "USD", "GBP", "HUF", "BGN"})
    languages: frozenset[str] = frozenset({"RO", "EN", "DE", "FR", "IT", "ES", "HU"})
    uses_product_codes: bool = True
    vat_payer: bool = True
    check_client_cif: bool = False  # SmartBill leaves this to ANAF; see docs/SMARTBILL.md
    documents: list[SimDocument] = field(default_factory=list)

    # --- lookups ----------------------------------------------------------------------------

    def series_for(self, kind: str, name: Any) -> SeriesState:
        """The named series of ``kind`` (or the account's default one); refused if unknown."""
        wanted = str(name) if name else self.default_series.get(_TYPE[kind], "")
        series = self.series.get(wanted)
        if series is None or series.type != _TYPE[kind]:
            raise Refused(NO_SERIES)
        return series

    def has_tax(self, name: str, percentage: Any) -> bool:
        value = number(percentage)
        return any(n == name and (value is None or p == value) for n, p in self.taxes)

    def find(self, kind: Kind, series: str, number: str) -> SimDocument | None:
        for doc in self.documents:
            if (doc.kind, doc.series, doc.number) == (kind, series, number) and number:
                return doc
        return None

    def get(self, kind: Kind, series: str | None, number: str | None) -> SimDocument:
        """The document, or SmartBill's "not found" refusal."""
        doc = self.find(kind, series or "", number or "")
        if doc is None:
            raise Refused(f"{_NAME[kind]} cu seria si numarul {series}{number} nu a fost gasita!")
        return doc

    # --- documents --------------------------------------------------------------------------

    def issue(self, kind: Kind, body: dict[str, Any], today: date) -> SimDocument:
        """Check ``body`` and issue it (the next number of its series, unless a draft)."""
        check_document(kind, body, self)
        series = self.series_for(kind, body.get("seriesName"))
        client, lines, estimate = body.get("client") or {}, body.get("products") or [], None
        if kind == "invoice" and flag(body.get("useEstimateDetails")):
            ref = body.get("estimate") or {}
            estimate = self.find("estimate", str(ref.get("seriesName")), str(ref.get("number")))
            if estimate is None:
                found = f"{ref.get('seriesName', '')}{ref.get('number', '')}"
                raise Refused(f"Factura proforma {found} nu a fost gasita!")
            client, lines = estimate.client, estimate.lines
        draft = flag(body.get("isDraft"))
        precision = min(4, int(number(body.get("precision")) or 2))
        doc = SimDocument(
            kind=kind,
            series=series.name,
            number="" if draft else series.format(series.next),
            issue_date=day(body.get("issueDate")) or today,
            client=client,
            lines=lines,
            total=self._total(lines, precision),
            body=body,
            id=len(self.documents) + 1,
            draft=draft,
        )
        use_stock = kind == "invoice" and flag(body.get("useStock")) and not draft
        if use_stock:
            self._take_stock(doc)
        if not draft:
            series.next += 1
        payment = body.get("payment") if kind == "invoice" else None
        if payment and not draft:
            doc.paid = number(payment.get("value")) or Decimal(0)
            if payment.get("type") == "Chitanta":
                self.series[str(payment["paymentSeries"])].next += 1
        if estimate is not None and not draft:
            estimate.invoiced_by.append(doc.ref)
            doc.from_estimate = estimate.ref
        self.documents.append(doc)
        return doc

    def invoices_of(self, series: str | None, number_: str | None) -> list[SimDocument]:
        """The invoices made from a proforma (``useEstimateDetails``; drafts are not listed)."""
        estimate = self.get("estimate", series, number_)
        return [d for d in self.documents if d.from_estimate == estimate.ref and not d.draft]

    def collect(self, body: dict[str, Any]) -> tuple[Decimal, list[SimDocument], str]:
        """``POST /payment``: a collection spread over the invoices listed (in order, each up
        to what it still owes; with ``useInvoiceDetails``, the one invoice's unpaid amount).
        Returns the value, the invoices it paid and the receipt number (``Chitanta``)."""
        check_payment(body, self)
        wanted = body.get("invoicesList") or []
        invoices = [self.get_paid(str(i.get("seriesName")), str(i.get("number"))) for i in wanted]
        payer = str((body.get("client") or {}).get("name") or "").strip()
        for doc in invoices:
            if not flag(body.get("useInvoiceDetails")) and doc.client.get("name") != payer:
                raise Refused(f"Clientul facturii {doc.ref} nu corespunde cu clientul incasarii!")
        if flag(body.get("useInvoiceDetails")):
            value = invoices[0].total - invoices[0].paid
        else:
            value = number(body.get("value")) or Decimal(0)
        left = value
        for doc in invoices:
            share = min(left, max(doc.total - doc.paid, Decimal(0)))
            doc.paid += share
            left -= share
        receipt = ""
        if body.get("type") == "Chitanta":
            state = self.series[str(body.get("seriesName"))]
            receipt = f"{state.name}{state.format(state.next)}"
            state.next += 1
        return value, invoices, receipt

    def get_paid(self, series: str, number_: str) -> SimDocument:
        """An invoice a payment is recorded on: it must exist and not be cancelled."""
        doc = self.find("invoice", series, number_)
        if doc is None:
            raise Refused("Factura nu a fost gasita!")
        if doc.cancelled:
            raise Refused(
                f"Factura {doc.ref} este anulata, nu o puteti incasa. Restaurati intai factura "
                "sau emiteti incasarea independent de factura."
            )
        return doc

    def reverse(self, series: Any, number_: Any, issue_date: date) -> SimDocument:
        """Storno of a whole invoice: a new invoice with the quantities negated."""
        if not series:
            raise Refused("Seria facturii trebuie specificata in parametrul 'seriesName'!")
        if not number_:
            raise Refused("Numarul facturii trebuie specificat in parametrul 'number'!")
        original = self.get("invoice", str(series), str(number_))
        if original.reverses is not None:
            raise Refused(f"Factura {original.ref} este de tip storno. Nu se poate storna.")
        if original.reversed_by is not None:
            raise Refused("Factura este deja stornata.")
        if issue_date < original.issue_date:
            raise Refused(
                "Data emiterii facturii storno nu poate fi anterioara datei emiterii "
                "facturii stornate."
            )
        state = self.series[original.series]
        lines = [_negated(line) for line in original.lines]
        doc = SimDocument(
            kind="invoice",
            series=state.name,
            number=state.format(state.next),
            issue_date=issue_date,
            client=original.client,
            lines=lines,
            total=-original.total,
            body={"seriesName": state.name, "reverses": original.ref},
            id=len(self.documents) + 1,
            reverses=original.ref,
        )
        state.next += 1
        original.reversed_by = doc.ref
        if original.stock_moved:
            self._return_stock(original)
        self.documents.append(doc)
        return doc

    def cancel(self, kind: Kind, series: str | None, number_: str | None) -> SimDocument:
        doc = self.get(kind, series, number_)
        if not doc.cancelled and doc.stock_moved:
            self._return_stock(doc)
        doc.cancelled = True
        return doc

    def restore(self, kind: Kind, series: str | None, number_: str | None) -> SimDocument:
        doc = self.get(kind, series, number_)
        if doc.cancelled and flag(doc.body.get("useStock")):
            self._take_stock(doc, check=False)
        doc.cancelled = False
        return doc

    def delete(self, kind: Kind, series: str | None, number_: str | None) -> SimDocument:
        """Delete the last document of its series (its number is given back)."""
        doc = self.get(kind, series, number_)
        state = self.series[doc.series]
        if int(doc.number) != state.next - 1:
            raise Refused(f"Documentul cu seria si numarul {doc.ref} nu este ultimul din serie!")
        if doc.stock_moved:
            self._return_stock(doc)
        state.next -= 1
        self.documents.remove(doc)
        return doc

    # --- money and stock --------------------------------------------------------------------

    def _total(self, lines: list[dict[str, Any]], precision: int) -> Decimal:
        quantum = Decimal(1).scaleb(-precision)
        totals: list[Decimal] = []
        for line in lines:
            if flag(line.get("isDiscount")):
                count = int(number(line.get("numberOfItems")) or 1)
                if line.get("discountType") in (2, "2", None):
                    percent = number(line.get("discountPercentage")) or Decimal(0)
                    value = -sum(totals[-count:], Decimal(0)) * percent / 100
                else:
                    value = self._gross(line, number(line.get("discountValue")) or Decimal(0))
            else:
                amount = (number(line.get("quantity")) or 0) * (number(line.get("price")) or 0)
                value = self._gross(line, Decimal(amount))
            totals.append(value.quantize(quantum, ROUND_HALF_UP))
        return sum(totals, Decimal(0))

    def _gross(self, line: dict[str, Any], amount: Decimal) -> Decimal:
        percent = number(line.get("taxPercentage"))
        if not self.vat_payer or percent is None or flag(line.get("isTaxIncluded")):
            return amount
        return amount * (1 + percent / 100)

    def _item(self, line: dict[str, Any]) -> tuple[Warehouse, str]:
        warehouse = self.warehouses[str(line.get("warehouseName"))]
        key = str(line.get("code") if self.uses_product_codes else line.get("name"))
        return warehouse, key

    def _take_stock(self, doc: SimDocument, *, check: bool = True) -> None:
        goods = [line for line in doc.lines if not flag(line.get("isDiscount"))]
        for position, line in enumerate(goods, 1):
            warehouse, key = self._item(line)
            item = warehouse.items.get(key)
            if item is None:
                raise Refused(
                    f"Nu ai facut nicio achizitie pentru produsul {line['name']}. Incarca mai "
                    "intai stoc pentru produs sau emite documentul fara descarcare de gestiune."
                )
            if check and item.quantity < (number(line.get("quantity")) or 0):
                raise Refused(
                    f"Cantitate stoc insuficienta la Factura {doc.ref} din data "
                    f"{doc.issue_date:%d/%m/%Y} pentru produsul {line['name']} de la pozitia "
                    f"{position}"
                )
        for line in goods:
            warehouse, key = self._item(line)
            warehouse.items[key].quantity -= number(line.get("quantity")) or 0
        doc.stock_moved = True

    def _return_stock(self, doc: SimDocument) -> None:
        for line in doc.lines:
            if not flag(line.get("isDiscount")):
                warehouse, key = self._item(line)
                warehouse.items[key].quantity += number(line.get("quantity")) or 0
        doc.stock_moved = False


def _negated(line: dict[str, Any]) -> dict[str, Any]:
    copy = dict(line)
    if not flag(line.get("isDiscount")):
        copy["quantity"] = -(number(line.get("quantity")) or 0)
    return copy

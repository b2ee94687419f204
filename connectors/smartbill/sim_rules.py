"""The simulator's checks of a document body, answered with SmartBill's own ``errorText``.

The messages are the ones of the spec's "Mesaje de eroare 400" tables for ``POST /invoice`` and
``POST /estimate``; the first rule broken is answered, as SmartBill answers one error at a time.
This module is deliberately independent of the client's :mod:`connectors.smartbill.rules`, so a
mistake in one is caught by the other. Values are read the way SmartBill documents them:
booleans as ``true``/``false`` or ``1``/``0``, numbers as JSON numbers (or numeric strings).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connectors.smartbill.sim_books import Books

PAYMENT_TYPES = frozenset(
    {
        "Chitanta",
        "Bon",
        "Card",
        "CEC",
        "Bilet ordin",
        "Ordin plata",
        "Mandat postal",
        "Alta incasare",
    }
)
# POST /payment's "type" (its spec table): "Bon" goes through the fiscal-receipt call instead.
COLLECTION_TYPES = frozenset(
    {
        "Alta incasare",
        "Bilet ordin",
        "Card",
        "Card online",
        "CEC",
        "Chitanta",
        "Extras de cont",
        "Mandat postal",
        "Ordin plata",
        "Ramburs",
    }
)
MAX_LINES = 400
BAD_DATE = "Data documentului trebuie sa fie de forma yyyy-MM-dd."
NO_SERIES = "Seria nu a fost gasita! Folositi o serie creata in contul de cloud."


class Refused(Exception):
    """A request SmartBill answers with ``status`` and a ``Fault`` carrying ``text``."""

    def __init__(self, text: str, status: int = 400) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


def flag(value: Any) -> bool:
    """A SmartBill boolean: ``true``/``false`` or ``1``/``0`` (strings too)."""
    return value is True or value == 1 or str(value).lower() in ("true", "1")


def number(value: Any) -> Decimal | None:
    """A SmartBill number as Decimal; None when absent or not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def day(value: Any) -> date | None:
    """A ``YYYY-MM-DD`` date; None when absent. Refused when malformed."""
    if value in (None, ""):
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise Refused(BAD_DATE) from None


def check_document(kind: str, body: dict[str, Any], books: Books) -> None:
    """Refuse ``body`` (of ``kind`` "invoice" or "estimate") as SmartBill would."""
    for field in ("issueDate", "dueDate", "deliveryDate", "paymentDate"):
        day(body.get(field))
    books.series_for(kind, body.get("seriesName"))
    language = body.get("language")
    if language and str(language).upper() not in books.languages:
        raise Refused("Limba nu a fost gasita pe server!")
    currency = body.get("currency") or "RON"
    if currency not in books.currencies:
        raise Refused("Moneda nu a fost gasita pe server!")
    if kind == "invoice" and flag(body.get("useEstimateDetails")):
        return  # client and products come from the proforma (Books.issue checks it)
    _check_client(body.get("client"), books)
    _check_lines(kind, body, books, currency)
    if kind == "invoice":
        _check_payment(body, books)


def _check_client(client: Any, books: Books) -> None:
    if not isinstance(client, dict):
        raise Refused("client trebuie specificat")
    name = client.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Refused("Client invalid!")
    vat = str(client.get("vatCode") or "")
    if books.check_client_cif and vat.upper().startswith("RO") and not _valid_cif(vat):
        raise Refused("CIF-ul clientului nu este valid!")  # our assumption: see docs


def _valid_cif(value: str) -> bool:
    digits = value.upper().removeprefix("RO").strip()
    if not digits.isdigit() or not 2 <= len(digits) <= 10:
        return False
    body = digits[:-1].zfill(9)
    control = sum(int(d) * int(k) for d, k in zip(body, "753217532", strict=True)) * 10 % 11
    return (0 if control == 10 else control) == int(digits[-1])


def _check_lines(kind: str, body: dict[str, Any], books: Books, currency: str) -> None:
    lines = body.get("products")
    if not isinstance(lines, list) or not lines:
        raise Refused(
            "Factura nu contine produse!" if kind == "invoice" else "Proforma nu contine produse!"
        )
    if len(lines) > MAX_LINES:
        raise Refused("Numarul maxim acceptat de 400 intrari pe document a fost depasit.")
    if all(isinstance(line, dict) and flag(line.get("isDiscount")) for line in lines):
        raise Refused(
            "Nu poti sa emiti un document care contine doar un discount. "
            "Trebuie sa ai si produse / servicii adaugate."
        )
    stock = kind == "invoice" and flag(body.get("useStock"))
    for line in lines:
        if not isinstance(line, dict):
            raise Refused("name trebuie specificat pentru fiecare produs")
        _check_line(line, books, currency, stock)


def _check_line(line: dict[str, Any], books: Books, currency: str, stock: bool) -> None:
    for field in ("name", "measuringUnitName", "currency"):
        if not line.get(field):
            raise Refused(f"{field} trebuie specificat pentru fiecare produs")
    name = line["name"]
    if line["currency"] not in books.currencies:
        raise Refused("Moneda nu a fost gasita pe server!")
    if currency != "RON" and line["currency"] != currency:
        raise Refused(
            f"Nu puteti emite documente in {currency} cu moneda de referinta a produselor "
            f"in {line['currency']} !"
        )
    if flag(line.get("isDiscount")):
        kind = 1 if line.get("discountType") not in (2, "2", None) else 2
        field = "discountValue" if kind == 1 else "discountPercentage"
        if number(line.get(field)) is None:
            raise Refused(f"{field} trebuie specificat pentru fiecare produs de tip discount")
        if line.get("taxName") and not books.has_tax(line["taxName"], line.get("taxPercentage")):
            raise Refused(f"Cota {line['taxName']} nu a fost gasita pe server!")
        return
    for field in ("quantity", "price"):
        if number(line.get(field)) is None:
            raise Refused(f"{field} trebuie specificat pentru fiecare produs")
    if books.uses_product_codes and not line.get("code"):
        raise Refused(f"Produsul {name} nu are codul specificat.")
    if books.vat_payer:
        if not line.get("taxName") or number(line.get("taxPercentage")) is None:
            raise Refused(f"Trebuie sa setezi o cota tva pentru produsul {name}.")
        if not books.has_tax(line["taxName"], line.get("taxPercentage")):
            raise Refused(f"Cota tva a produsului {name} nu a fost gasita pe server!")
    if stock:
        warehouse = line.get("warehouseName")
        if not warehouse:
            raise Refused(f"Gestiunea predatoare nu este setata pentru produsul {name}.")
        if warehouse not in books.warehouses:
            raise Refused(f"Gestiunea predatoare {warehouse} a produsului {name} nu a fost gasita.")


def _check_payment(body: dict[str, Any], books: Books) -> None:
    if flag(body.get("usePaymentTax")):
        for field in ("paymentBase", "colectedTax", "paymentTotal"):
            if number(body.get(field)) is None:
                raise Refused(f"{field} trebuie specificat")
    payment = body.get("payment")
    if payment is None:
        return
    if not isinstance(payment, dict) or not payment.get("type"):
        raise Refused("type trebuie specificat pentru incasare")
    if number(payment.get("value")) is None:
        raise Refused("value trebuie specificat pentru incasare")
    if payment["type"] not in PAYMENT_TYPES:
        raise Refused("Tipul incasarii nu a fost gasit!")
    if payment["type"] == "Chitanta":
        series = books.series.get(str(payment.get("paymentSeries") or ""))
        if series is None or series.type != "c":
            raise Refused("Seria incasarii nu a fost gasita pe server.")


def check_payment(body: dict[str, Any], books: Books) -> None:
    """Refuse a ``POST /payment`` body as SmartBill would (its "Mesaje de eroare 400" table)."""
    kind = body.get("type")
    if not kind:
        raise Refused("Tipul incasarii trebuie specificat.")
    if not body.get("issueDate"):
        raise Refused("issueDate trebuie specificat")
    day(body.get("issueDate"))
    if kind == "Bon":
        raise Refused("Nu puteti adauga bonuri prin API.")
    if kind not in COLLECTION_TYPES:
        raise Refused("Tipul incasarii nu a fost gasit!")
    if kind == "Chitanta":
        series = books.series.get(str(body.get("seriesName") or ""))
        if series is None:
            raise Refused(NO_SERIES)
        if series.type != "c":
            raise Refused("Seria nu poate fi folosita la chitante.")
    currency = body.get("currency") or "RON"
    if currency not in books.currencies:
        raise Refused("Moneda nu a fost gasita pe server!")
    invoices = body.get("invoicesList") or []
    if not isinstance(invoices, list) or not all(isinstance(i, dict) for i in invoices):
        raise Refused("Factura nu a fost gasita!")
    if flag(body.get("useInvoiceDetails")):
        if len(invoices) != 1:
            raise Refused("Trebuie specificata doar o factura!")
        if not (invoices[0].get("seriesName") and invoices[0].get("number")):
            raise Refused(
                "Pentru emiterea unei incasari cu datele de pe factura trebuie specificate "
                "seria si numarul facturii."
            )
        return
    value = number(body.get("value"))
    if value is None or value <= 0:
        raise Refused("Valoarea incasarii trebuie specificata.")
    _check_client(body.get("client"), books)

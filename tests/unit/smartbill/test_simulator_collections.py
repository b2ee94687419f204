"""The simulator's invoices from proformas and its collections (POST /payment), without HTTP."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.smartbill.sim_books import Books
from connectors.smartbill.sim_rules import Refused

TODAY = date(2026, 11, 29)
LINE = {
    "name": "Banda LED 5m",
    "code": "LED-STRIP-5M",
    "measuringUnitName": "buc",
    "currency": "RON",
    "quantity": 2,
    "price": Decimal("100.00"),
    "taxName": "Normala",
    "taxPercentage": 21,
}


def estimate(books: Books) -> Any:
    body = {"companyVatCode": books.cif, "client": {"name": "Lumina SRL"}, "products": [LINE]}
    return books.issue("estimate", body, TODAY)


def from_estimate(books: Books, series: str, number: str, **extra: Any) -> Any:
    body = {
        "companyVatCode": books.cif,
        "useEstimateDetails": True,
        "estimate": {"seriesName": series, "number": number},
        **extra,
    }
    return books.issue("invoice", body, TODAY)


def pay(**fields: Any) -> dict[str, Any]:
    return {"issueDate": "2026-11-29", "type": "Ordin plata", **fields}


def test_invoices_of_a_proforma_leave_drafts_out() -> None:
    books = Books()
    proforma = estimate(books)
    assert books.invoices_of(proforma.series, proforma.number) == []
    from_estimate(books, proforma.series, proforma.number, isDraft=True)
    made = from_estimate(books, proforma.series, proforma.number)
    assert [d.ref for d in books.invoices_of(proforma.series, proforma.number)] == [made.ref]
    assert made.total == Decimal("242.00") and made.client == {"name": "Lumina SRL"}
    with pytest.raises(Refused, match="Proforma cu seria si numarul LDXP0009 nu a fost gasita"):
        books.invoices_of("LDXP", "0009")


def test_a_collection_pays_invoices_in_order_up_to_what_they_owe() -> None:
    books = Books()
    proforma = estimate(books)
    made = from_estimate(books, proforma.series, proforma.number)
    ref = [{"seriesName": made.series, "number": made.number}]
    value, _, receipt = books.collect(
        pay(value=Decimal("100"), client={"name": "Lumina SRL"}, invoicesList=ref)
    )
    assert (value, made.paid, receipt) == (Decimal("100"), Decimal("100"), "")
    value, _, _ = books.collect(pay(useInvoiceDetails=True, invoicesList=ref))
    assert value == Decimal("142.00") and made.paid == made.total
    _, _, receipt = books.collect(
        pay(type="Chitanta", seriesName="LDXC", value=1, client={"name": "X"}, invoicesList=[])
    )
    assert receipt == "LDXC0001"


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"issueDate": "2026-11-29"}, "Tipul incasarii trebuie specificat."),
        ({"type": "Ordin plata"}, "issueDate trebuie specificat"),
        (pay(type="Bon"), "Nu puteti adauga bonuri prin API."),
        (pay(type="Cash"), "Tipul incasarii nu a fost gasit!"),
        (
            pay(type="Chitanta", seriesName="LDX", value=1),
            "Seria nu poate fi folosita la chitante.",
        ),
        (pay(client={"name": "X"}), "Valoarea incasarii trebuie specificata."),
        (pay(useInvoiceDetails=True, invoicesList=[]), "Trebuie specificata doar o factura!"),
        (
            pay(useInvoiceDetails=True, invoicesList=[{"seriesName": "LDX", "number": "0099"}]),
            "Factura nu a fost gasita!",
        ),
    ],
)
def test_collections_are_refused_as_smartbill_refuses_them(body: dict[str, Any], text: str) -> None:
    with pytest.raises(Refused) as caught:
        Books().collect(body)
    assert caught.value.text == text


def test_a_cancelled_invoice_or_another_client_cannot_be_collected() -> None:
    books = Books()
    proforma = estimate(books)
    made = from_estimate(books, proforma.series, proforma.number)
    ref = [{"seriesName": made.series, "number": made.number}]
    with pytest.raises(Refused, match="nu corespunde cu clientul incasarii"):
        books.collect(pay(value=1, client={"name": "Alt client"}, invoicesList=ref))
    books.cancel("invoice", made.series, made.number)
    with pytest.raises(Refused, match="este anulata, nu o puteti incasa"):
        books.collect(pay(useInvoiceDetails=True, invoicesList=ref))
    assert made.paid == 0

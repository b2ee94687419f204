"""The simulator's books without HTTP: totals, numbering, stornos, stock, the rate limit, PDFs."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from connectors.smartbill.sim_books import Books
from connectors.smartbill.sim_pdf import render
from connectors.smartbill.sim_rules import Refused
from connectors.smartbill.simulator import RateLimit

TODAY = date(2026, 11, 29)


def line(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "Banda LED 5m",
        "code": "LED-STRIP-5M",
        "measuringUnitName": "buc",
        "currency": "RON",
        "quantity": Decimal(2),
        "price": Decimal("49.90"),
        "isTaxIncluded": True,
        "taxName": "Normala",
        "taxPercentage": Decimal(21),
    }
    fields.update(changes)
    return fields


def body(*lines: dict[str, Any], **changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "companyVatCode": "RO18547290",
        "seriesName": "LDX",
        "client": {"name": "Ion Popescu"},
        "products": list(lines) or [line()],
    }
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("lines", "total"),
    [
        ([line()], "99.80"),
        ([line(isTaxIncluded=False, price=Decimal(100), quantity=1)], "121.00"),
        ([line(taxName="Redusa", taxPercentage=11, isTaxIncluded=False, price=10)], "22.20"),
        (
            [
                line(),
                {
                    "name": "Reducere",
                    "isDiscount": True,
                    "numberOfItems": 1,
                    "measuringUnitName": "buc",
                    "currency": "RON",
                    "discountType": 2,
                    "discountPercentage": 10,
                },
            ],
            "89.82",
        ),
        (
            [
                line(),
                {
                    "name": "Reducere",
                    "isDiscount": True,
                    "numberOfItems": 1,
                    "measuringUnitName": "buc",
                    "currency": "RON",
                    "discountType": 1,
                    "discountValue": -5,
                    "isTaxIncluded": True,
                },
            ],
            "94.80",
        ),
    ],
)
def test_totals_include_vat_and_discounts(lines: list[dict[str, Any]], total: str) -> None:
    assert Books().issue("invoice", body(*lines), TODAY).total == Decimal(total)


def test_numbers_are_consecutive_and_a_delete_gives_the_last_one_back() -> None:
    books = Books()
    first = books.issue("invoice", body(), TODAY)
    second = books.issue("invoice", body(), TODAY)
    assert (first.number, second.number, books.series["LDX"].next) == ("0001", "0002", 3)

    with pytest.raises(Refused, match="nu este ultimul din serie"):
        books.delete("invoice", "LDX", "0001")
    books.delete("invoice", "LDX", "0002")
    assert books.issue("invoice", body(), TODAY).number == "0002"


def test_a_storno_negates_the_invoice_and_gives_its_stock_back() -> None:
    books = Books()
    warehouse = books.warehouses["Depozit Bucuresti"]
    sale = body(line(quantity=Decimal(5), warehouseName="Depozit Bucuresti"), useStock=True)
    original = books.issue("invoice", sale, TODAY)
    assert warehouse.items["LED-STRIP-5M"].quantity == 115

    storno = books.reverse("LDX", original.number, TODAY)

    assert storno.total == -original.total and storno.reverses == "LDX0001"
    assert storno.lines[0]["quantity"] == -5
    assert warehouse.items["LED-STRIP-5M"].quantity == 120
    with pytest.raises(Refused, match="este de tip storno"):
        books.reverse("LDX", storno.number, TODAY)
    with pytest.raises(Refused, match="anterioara"):
        books.reverse("LDX", books.issue("invoice", body(), TODAY).number, date(2026, 1, 1))


def test_cancelling_a_stock_invoice_puts_the_stock_back() -> None:
    books = Books()
    sale = body(line(quantity=Decimal(7), warehouseName="Depozit Bucuresti"), useStock=True)
    doc = books.issue("invoice", sale, TODAY)
    books.cancel("invoice", "LDX", doc.number)
    assert books.warehouses["Depozit Bucuresti"].items["LED-STRIP-5M"].quantity == 120


def test_a_missing_series_means_the_accounts_default_one() -> None:
    books = Books()
    document = body()
    del document["seriesName"]
    assert books.issue("invoice", document, TODAY).series == "LDX"
    books.default_series = {}
    with pytest.raises(Refused, match="Seria nu a fost gasita"):
        books.issue("invoice", document, TODAY)


def test_the_client_cif_check_is_a_knob() -> None:
    document = body(client={"name": "Firma SRL", "vatCode": "RO12345678"})
    assert Books().issue("invoice", document, TODAY).number == "0001"
    with pytest.raises(Refused, match="CIF-ul clientului"):
        Books(check_client_cif=True).issue("invoice", document, TODAY)


def test_the_rate_limit_counts_fixed_windows_and_blocks() -> None:
    limit = RateLimit(calls=3, window=10.0, block=600.0)

    admitted = [limit.admit(100.0 + i)[0] for i in range(3)]
    blocked, headers = limit.admit(104.0)

    assert admitted == [True, True, True] and not blocked
    assert headers == {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": "110",
    }
    assert not limit.admit(703.9)[0]
    assert limit.admit(704.0)[0]  # 600 s after the call that broke the limit
    assert limit.admit(705.0)[1]["X-RateLimit-Remaining"] == "1"


def test_the_block_can_be_extended_by_calls_during_it() -> None:
    limit = RateLimit(calls=1, window=10.0, block=600.0, extend_block=True)
    limit.admit(0.0)
    limit.admit(1.0)  # blocked until 601
    limit.admit(500.0)  # extends to 1100
    assert not limit.admit(700.0)[0]


def test_the_pdf_is_valid_and_names_the_document() -> None:
    books = Books()
    doc = books.issue("invoice", body(client={"name": "Ştefan Ionescu (SRL)"}), TODAY)

    pdf = render(doc, books.cif)

    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "FACTURA seria LDX nr. 0001" in text and "Stefan Ionescu (SRL)" in text

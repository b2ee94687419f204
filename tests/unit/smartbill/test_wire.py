"""The bodies the client sends (the spec's field names and formats) and how answers are read."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import msgspec
import pytest

from connectors.smartbill.wire import (
    Client,
    DocumentResponse,
    EstimateRef,
    Invoice,
    Payment,
    PaymentStatus,
    Product,
    Reverse,
    SeriesList,
    StockList,
    TaxList,
    encode,
    error_text,
    unwrap,
)


def sent(body: msgspec.Struct) -> dict[str, object]:
    decoded: dict[str, object] = msgspec.json.decode(encode(body))
    return decoded


def test_an_invoice_body_uses_the_specs_names_numbers_and_dates() -> None:
    body = Invoice(
        company_vat_code="RO18547290",
        series_name="LDX",
        client=Client(name="Ion Popescu", vat_code="-", is_tax_payer=False, save_to_db=False),
        issue_date=date(2026, 11, 29),
        due_date=date(2026, 12, 14),
        mentions="Comanda O-1",
        use_payment_tax=True,
        payment_base=Decimal("100.00"),
        colected_tax=Decimal("21.00"),
        payment_total=Decimal("121.00"),
        payment=Payment(value=Decimal("121.00"), type="Card", is_cash=False),
        products=(
            Product(
                name="Banda LED 5m",
                code="LED-STRIP-5M",
                measuring_unit_name="buc",
                currency="RON",
                quantity=Decimal("2.5"),
                price=Decimal("49.90"),
                is_tax_included=True,
                tax_name="Normala",
                tax_percentage=Decimal(21),
                warehouse_name="Depozit Bucuresti",
            ),
            Product(
                name="Reducere 10%",
                measuring_unit_name="buc",
                currency="RON",
                is_discount=True,
                number_of_items=1,
                discount_type=2,
                discount_percentage=Decimal(10),
            ),
        ),
    )

    raw = encode(body)

    assert b'"price":49.90' in raw and b'"taxPercentage":21' in raw  # numbers, not strings
    assert sent(body) == {
        "companyVatCode": "RO18547290",
        "seriesName": "LDX",
        "client": {"name": "Ion Popescu", "vatCode": "-", "isTaxPayer": False, "saveToDb": False},
        "issueDate": "2026-11-29",
        "dueDate": "2026-12-14",
        "mentions": "Comanda O-1",
        "products": [
            {
                "name": "Banda LED 5m",
                "measuringUnitName": "buc",
                "currency": "RON",
                "code": "LED-STRIP-5M",
                "quantity": 2.5,
                "price": 49.9,
                "isTaxIncluded": True,
                "taxName": "Normala",
                "taxPercentage": 21,
                "warehouseName": "Depozit Bucuresti",
            },
            {
                "name": "Reducere 10%",
                "measuringUnitName": "buc",
                "currency": "RON",
                "isDiscount": True,
                "numberOfItems": 1,
                "discountType": 2,
                "discountPercentage": 10,
            },
        ],
        "usePaymentTax": True,
        "paymentBase": 100.0,
        "colectedTax": 21.0,  # SmartBill's spelling
        "paymentTotal": 121.0,
        "payment": {"value": 121.0, "type": "Card", "isCash": False},
    }


def test_an_invoice_from_a_proforma_sends_no_client_nor_products() -> None:
    body = Invoice(
        company_vat_code="RO18547290",
        series_name="LDX",
        use_estimate_details=True,
        estimate=EstimateRef(series_name="LDXP", number="0032"),
    )

    assert sent(body) == {
        "companyVatCode": "RO18547290",
        "seriesName": "LDX",
        "useEstimateDetails": True,
        "estimate": {"seriesName": "LDXP", "number": "0032"},
    }


def test_a_storno_body() -> None:
    body = Reverse(company_vat_code="RO1", series_name="LDX", number="0025")
    assert sent(body) == {"companyVatCode": "RO1", "seriesName": "LDX", "number": "0025"}


def test_answers_are_read_wrapped_or_flat_with_exact_amounts() -> None:
    wrapped = b'{"sbcResponse":{"errorText":"","message":"","number":"0023","series":"FCT"}}'
    flat = b'{"errorText":"","number":"0985","series":"FFF","documentId":"274119"}'
    status = (
        b'{"sbcInvoicePaymentStatusResponse":{"errorText":"","invoiceTotalAmount":220.80,'
        b'"paidAmount":0.1,"unpaidAmount":220.70,"paid":false}}'
    )

    assert unwrap(wrapped, DocumentResponse).number == "0023"
    assert unwrap(flat, DocumentResponse).document_id == "274119"
    paid = unwrap(status, PaymentStatus)
    assert (paid.invoice_total_amount, paid.paid_amount) == (Decimal("220.80"), Decimal("0.1"))
    assert (
        unwrap(b'{"Response":{"invoiceTotalAmount":100,"paid":false}}', PaymentStatus).paid is False
    )


def test_series_taxes_and_stocks_answers() -> None:
    series = (
        b'{"sbcSeries":{"errorText":"","list":[{"name":"FCT","nextNumber":"0117","type":"f"}]}}'
    )
    taxes = b'{"sbcTaxes":{"errorText":"","taxes":[{"name":"Normala","percentage":21}]}}'
    stocks = (
        b'{"stocks":{"errorText":"","list":[{"warehouse":{"warehouseName":"GestiuneMagazin1",'
        b'"warehouseType":"en detail"},"products":[{"measuringUnit":"buc","productCode":"IT001",'
        b'"productName":"Revista IT","quantity":100}]}]}}'
    )

    assert unwrap(series, SeriesList).list[0].next_number == "0117"
    assert unwrap(taxes, TaxList).taxes[0].percentage == Decimal(21)
    [stock] = unwrap(stocks, StockList).list
    assert stock.products[0].quantity == 100 and stock.warehouse is not None


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (
            b'{"Fault":{"errorText":"Seria nu a fost gasita!","message":"","number":""}}',
            "Seria nu a fost gasita!",
        ),
        (
            b'{"fault":{"errorText":"Factura nu a fost gasita",'
            b'"invoiceTotalAmount":{"null":true}}}',
            "Factura nu a fost gasita",
        ),
        (b"<html><h1>HTTP Status 401 - Unauthorized</h1></html>", ""),
        (b"", ""),
    ],
)
def test_error_text_of_any_answer(raw: bytes, text: str) -> None:
    assert error_text(raw) == text

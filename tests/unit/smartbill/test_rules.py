"""What the client refuses before spending a call: SmartBill's required fields and the CIF."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from connectors.smartbill.rules import looks_like_romanian_cif, problems, tax_problems, valid_cif
from connectors.smartbill.wire import (
    Client,
    Estimate,
    EstimateRef,
    Invoice,
    Payment,
    Product,
    Tax,
)


def product(**changes: Any) -> Product:
    fields: dict[str, Any] = {
        "name": "Banda LED 5m",
        "code": "LED-STRIP-5M",
        "measuring_unit_name": "buc",
        "currency": "RON",
        "quantity": Decimal(1),
        "price": Decimal("49.90"),
        "tax_name": "Normala",
        "tax_percentage": Decimal(21),
    }
    fields.update(changes)
    return Product(**fields)


def discount(**changes: Any) -> Product:
    fields: dict[str, Any] = {
        "name": "Reducere",
        "measuring_unit_name": "buc",
        "currency": "RON",
        "is_discount": True,
        "number_of_items": 1,
        "discount_type": 1,
        "discount_value": Decimal(-5),
    }
    fields.update(changes)
    return Product(**fields)


def invoice(*lines: Product, **changes: Any) -> Invoice:
    fields: dict[str, Any] = {
        "company_vat_code": "RO18547290",
        "series_name": "LDX",
        "client": Client(name="Ion Popescu", vat_code="-"),
        "products": lines or (product(),),
    }
    fields.update(changes)
    return Invoice(**fields)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("4221306", True),
        ("RO4221306", True),
        ("ro 4221306", True),
        ("12345674", True),
        ("12345678", False),
        ("RO12345678", False),  # the sample CIF of SmartBill's own Postman collection
        ("RO18547290", True),
        ("RO", False),
        ("1", False),
    ],
)
def test_the_cif_check_digit(value: str, valid: bool) -> None:
    assert valid_cif(value) is valid


@pytest.mark.parametrize("value", ["-", "0", "0000000000000", "1960101123456", "DE123456789"])
def test_individuals_and_foreign_vat_numbers_are_not_held_to_the_romanian_check(value: str) -> None:
    assert not looks_like_romanian_cif(value)
    assert problems(invoice(client=Client(name="Ion", vat_code=value))) == []


def test_a_complete_invoice_and_a_discount_have_no_problems() -> None:
    assert problems(invoice(product(), discount())) == []
    assert (
        problems(
            Estimate(
                company_vat_code="RO1",
                series_name="P",
                client=Client(name="A"),
                products=(product(),),
            )
        )
        == []
    )


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (invoice(company_vat_code=""), "companyVatCode is required"),
        (invoice(series_name=""), "seriesName is required"),
        (invoice(client=None), "client is required"),
        (invoice(client=Client(name="  ")), "client.name must not be empty"),
        (invoice(client=Client(name="Firma", vat_code="RO12345678")), "not a valid Romanian CIF"),
        (invoice(products=()), "products must hold at least one line"),
        (invoice(discount()), "cannot hold only discounts"),
        (invoice(product(quantity=None)), "quantity is required"),
        (invoice(product(price=None)), "price is required"),
        (invoice(product(price=Decimal(-1))), "price must not be negative"),
        (invoice(product(measuring_unit_name="")), "measuringUnitName must not be empty"),
        (invoice(product(tax_percentage=None)), "taxName and taxPercentage go together"),
        (invoice(product(), discount(discount_value=Decimal(5))), "discountValue must be negative"),
        (invoice(product(), discount(discount_value=None)), "discountValue is required"),
        (
            invoice(product(), discount(discount_type=2, discount_value=None)),
            "discountPercentage is required",
        ),
        (invoice(product(), discount(number_of_items=2)), "reaches before line 1"),
        (
            invoice(payment=Payment(value=Decimal(10), type="Chitanta")),
            "paymentSeries is required for a Chitanta",
        ),
        (invoice(*(product() for _ in range(401))), "at most 400 lines"),
        (
            invoice(client=None, products=(), use_estimate_details=True),
            "estimate.seriesName is required",
        ),
    ],
)
def test_what_smartbill_would_refuse_is_named(document: Invoice, problem: str) -> None:
    assert any(problem in p for p in problems(document)), problems(document)


def test_an_invoice_from_a_proforma_needs_only_the_proforma() -> None:
    ref = EstimateRef(series_name="LDXP", number="0001")
    document = invoice(client=None, products=(), use_estimate_details=True, estimate=ref)
    assert problems(document) == []


def test_every_problem_is_listed_at_once() -> None:
    found = problems(invoice(product(quantity=None, price=None), client=Client(name="")))
    assert len(found) == 3


def test_vat_pairs_are_checked_against_the_accounts_taxes() -> None:
    taxes = (
        Tax(name="Normala", percentage=Decimal(21)),
        Tax(name="Redusa", percentage=Decimal(11)),
    )
    old_rate = product(tax_percentage=Decimal(19))
    document = invoice(product(), old_rate, discount())

    assert tax_problems(document, taxes) == [
        "products[2] ('Banda LED 5m'): VAT Normala 19% is not defined in SmartBill"
    ]

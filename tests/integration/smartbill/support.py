"""Documents the tests issue: an LED shop's invoice lines with Romanian VAT."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.smartbill.wire import Client, Estimate, Invoice, Product

BUYER = Client(
    name="Lumina Design SRL",
    vat_code="RO4221306",
    is_tax_payer=True,
    address="Str. Lalelelor 7",
    city="Cluj-Napoca",
    county="Cluj",
    country="Romania",
    email="office@lumina.example",
    save_to_db=False,
)


def line(
    name: str = "Banda LED 5m",
    code: str = "LED-STRIP-5M",
    quantity: str = "2",
    price: str = "49.90",
    **extra: Any,
) -> Product:
    """A product line at 21 % VAT, price VAT included."""
    fields: dict[str, Any] = {
        "name": name,
        "code": code,
        "measuring_unit_name": "buc",
        "currency": "RON",
        "quantity": Decimal(quantity),
        "price": Decimal(price),
        "is_tax_included": True,
        "tax_name": "Normala",
        "tax_percentage": Decimal(21),
        "save_to_db": False,
        **extra,
    }
    return Product(**fields)


def invoice(order: str = "O-1", *lines: Product, **extra: Any) -> Invoice:
    """An invoice for web order ``order`` (named in ``mentions``, as the hub does)."""
    return Invoice(
        client=BUYER,
        mentions=f"Comanda {order}",
        products=lines or (line(),),
        **extra,
    )


def estimate(order: str = "Q-1", *lines: Product, **extra: Any) -> Estimate:
    """A proforma for quotation ``order``."""
    return Estimate(
        client=BUYER,
        mentions=f"Oferta {order}",
        products=lines or (line(),),
        **extra,
    )

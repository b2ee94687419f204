"""What SmartBill (or ANAF behind it) would refuse, checked before spending a call on it.

Only cheap, certain checks: the fields SmartBill's error table says it requires, the 400-line
limit, and the check digit of a Romanian CIF (e-Factura refuses an invoice to a company with an
invalid one; SmartBill itself may accept it, which is worse: the error comes back days later).
Rules that depend on the account (series, warehouses) are left to SmartBill; the VAT pairs can
be checked with :func:`tax_problems` against a fresh ``GET /tax`` (the caller decides how fresh:
a stale list would refuse good invoices after a rate change, as on 1 August 2025).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from connectors.smartbill.wire import Client, Document, Invoice, Product, Tax

MAX_LINES = 400  # "Numarul maxim acceptat de 400 intrari pe document a fost depasit."
_CIF = re.compile(r"^(?:RO)?(\d{2,10})$")
_CIF_KEY = "753217532"


def valid_cif(value: str) -> bool:
    """True for a Romanian CUI/CIF with a correct check digit (``RO`` prefix allowed)."""
    match = _CIF.match(value.strip().upper().replace(" ", ""))
    if match is None:
        return False
    digits = match.group(1)
    body = digits[:-1].zfill(9)
    total = sum(int(d) * int(k) for d, k in zip(body, _CIF_KEY, strict=True))
    control = total * 10 % 11
    return (0 if control == 10 else control) == int(digits[-1])


def looks_like_romanian_cif(value: str) -> bool:
    """A value to hold to the CIF check digit: ``RO`` + digits, or 2 to 10 digits.

    Not a CNP (13 digits), ``"-"``, ``"0"`` or zeros (individuals), nor an EU VAT number
    (``DE123456789``): those pass as they are.
    """
    v = value.strip().upper().replace(" ", "")
    if v.startswith("RO"):
        return True
    return v.isdigit() and 2 <= len(v) <= 10 and set(v) != {"0"}


def problems(document: Document) -> list[str]:
    """Everything wrong with ``document`` that SmartBill would refuse (empty: send it)."""
    found: list[str] = []
    if not document.company_vat_code:
        found.append("companyVatCode is required")
    if not document.series_name:
        found.append("seriesName is required (the hub never relies on the default series)")
    if isinstance(document, Invoice) and document.use_estimate_details:
        if document.estimate is None or not document.estimate.series_name:
            found.append("estimate.seriesName is required with useEstimateDetails")
        elif not document.estimate.number:
            found.append("estimate.number is required with useEstimateDetails")
        return found
    found.extend(_client_problems(document.client))
    found.extend(_line_problems(document.products))
    if isinstance(document, Invoice) and document.payment is not None:
        payment = document.payment
        if payment.type == "Chitanta" and not payment.payment_series:
            found.append("payment.paymentSeries is required for a Chitanta")
    return found


def _client_problems(client: Client | None) -> list[str]:
    if client is None:
        return ["client is required"]
    found = []
    if not client.name.strip():
        found.append("client.name must not be empty")
    vat = client.vat_code
    if vat and looks_like_romanian_cif(vat) and not valid_cif(vat):
        found.append(f"client.vatCode {vat!r} is not a valid Romanian CIF (check digit)")
    return found


def _line_problems(lines: tuple[Product, ...]) -> list[str]:
    if not lines:
        return ["products must hold at least one line"]
    found = []
    if len(lines) > MAX_LINES:
        found.append(f"at most {MAX_LINES} lines per document, got {len(lines)}")
    if all(line.is_discount for line in lines):
        found.append("a document cannot hold only discounts")
    for i, line in enumerate(lines, 1):
        where = f"products[{i}] ({line.name!r})"
        if not line.name.strip():
            found.append(f"products[{i}].name must not be empty")
        if not line.measuring_unit_name.strip():
            found.append(f"{where}: measuringUnitName must not be empty")
        if not line.currency.strip():
            found.append(f"{where}: currency must not be empty")
        if (line.tax_name is None) != (line.tax_percentage is None):
            found.append(f"{where}: taxName and taxPercentage go together")
        if line.is_discount:
            found.extend(_discount_problems(line, where, i))
        else:
            if line.quantity is None:
                found.append(f"{where}: quantity is required")
            if line.price is None:
                found.append(f"{where}: price is required")
            elif line.price < 0:
                found.append(f"{where}: price must not be negative (use a discount line)")
    return found


def _discount_problems(line: Product, where: str, position: int) -> list[str]:
    found = []
    if not line.number_of_items or line.number_of_items < 1:
        found.append(f"{where}: numberOfItems (the lines it applies to) is required")
    elif line.number_of_items >= position:
        found.append(f"{where}: numberOfItems {line.number_of_items} reaches before line 1")
    if line.discount_type == 1:
        if line.discount_value is None:
            found.append(f"{where}: discountValue is required for discountType 1")
        elif line.discount_value >= 0:
            found.append(f"{where}: discountValue must be negative")
    elif line.discount_percentage is None:  # SmartBill's default type is 2 (a percentage)
        found.append(f"{where}: discountPercentage is required for discountType 2")
    return found


def tax_problems(document: Document, taxes: Iterable[Tax]) -> list[str]:
    """Lines whose ``taxName``/``taxPercentage`` pair is not one of ``taxes`` (``GET /tax``)."""
    known = {(t.name, t.percentage) for t in taxes}
    return [
        f"products[{i}] ({line.name!r}): VAT {line.tax_name} {line.tax_percentage}% "
        "is not defined in SmartBill"
        for i, line in enumerate(document.products, 1)
        if line.tax_name is not None and (line.tax_name, line.tax_percentage) not in known
    ]

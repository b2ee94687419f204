"""Pure building of SmartBill bodies from the invoicing commands (docs/INVOICING.md).

Client identity (DOMAIN.md, EXTERNAL_APIS.md section 5): a company is named by its CUI (check
digit verified), its trade register number and ``isTaxPayer`` from the ``RO`` prefix; a
consumer by name with ``vatCode`` ``"-"`` (or a CNP when one is given). In Bucharest the sector
is the city and the county is ``Bucuresti``. VAT pairs come from SmartBill's own ``/tax`` list.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from actors.invoicing.messages import DocumentLine, IssueInvoice, IssueProforma, Party
from connectors.smartbill.rules import valid_cif
from connectors.smartbill.wire import Client, Estimate, Invoice, Payment, Product, Tax

BUCHAREST = ZoneInfo("Europe/Bucharest")
UNITS = {"piece": "buc", "metre": "m"}
_SECTOR = re.compile(r"sector(?:ul)?\s*([1-6])", re.IGNORECASE)


class DocumentProblem(ValueError):
    """The command cannot become a valid SmartBill document (a refusal, not a retry)."""


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def is_bucharest(city: str, county: str) -> bool:
    """Whether the address is in București (any spelling, with or without diacritics)."""
    return any(_plain(v) in ("bucuresti", "municipiul bucuresti") for v in (city, county))


def place(party: Party) -> tuple[str, str]:
    """``(city, county)`` as e-Factura wants them: ``Sector N`` + ``Bucuresti`` in the capital."""
    if is_bucharest(party.city, party.county):
        found = _SECTOR.search(_plain(f"{party.city} {party.street} {party.county}"))
        return (f"Sector {found.group(1)}" if found else "Bucuresti"), "Bucuresti"
    return party.city or "-", party.county or "-"


def client(party: Party) -> Client:
    """The SmartBill ``client`` of a party (company or consumer)."""
    city, county = place(party)
    common = {
        "name": party.name,
        "address": party.street or "-",
        "city": city,
        "county": county,
        "country": "Romania" if party.country.upper() == "RO" else party.country,
        "email": party.email,
        "phone": party.phone,
        "save_to_db": False,
    }
    if party.kind == "company":
        cui = (party.cui or "").strip().upper().replace(" ", "")
        if not cui or not valid_cif(cui):
            raise DocumentProblem(f"invalid CUI {party.cui!r} for company {party.name!r}")
        return Client(
            vat_code=cui,
            reg_com=party.reg_com or None,
            is_tax_payer=cui.startswith("RO"),
            **common,  # type: ignore[arg-type]
        )
    cnp = (party.cui or "").strip()
    vat_code = cnp if len(cnp) == 13 and cnp.isdigit() else "-"
    return Client(vat_code=vat_code, is_tax_payer=False, **common)  # type: ignore[arg-type]


def tax_for(rate: Decimal, taxes: Iterable[Tax]) -> Tax:
    """The account's tax whose percentage is ``rate`` (a fraction: 0.21 → 21 %)."""
    percentage = (rate * 100).normalize()
    for tax in taxes:
        if tax.percentage == percentage:
            return tax
    raise DocumentProblem(f"SmartBill has no VAT rate of {percentage} %")


def products(
    lines: Iterable[DocumentLine], taxes: tuple[Tax, ...], currency: str
) -> tuple[Product, ...]:
    """The ``products`` of a document: net unit prices, VAT pair from ``/tax``."""
    made = []
    for line in lines:
        tax = tax_for(line.vat_rate, taxes)
        made.append(
            Product(
                name=line.name,
                code=line.sku,
                measuring_unit_name=UNITS[line.unit],
                currency=currency,
                quantity=line.quantity,
                price=line.unit_net,
                is_tax_included=False,
                tax_name=tax.name,
                tax_percentage=tax.percentage,
                save_to_db=False,
                is_service=line.service,
            )
        )
    if not made:
        raise DocumentProblem("a document needs at least one line")
    return tuple(made)


def gross(lines: Iterable[DocumentLine]) -> Decimal:
    """The document's total, VAT included (as the order priced it)."""
    return sum((line.line_gross for line in lines), Decimal(0))


def issue_date(now: datetime) -> date:
    """Today in Bucharest (SmartBill's calendar)."""
    return now.astimezone(BUCHAREST).date()


def due_date(issued: datetime, days: int) -> date:
    """A proforma's due date: ``days`` after its issue date (Bucharest)."""
    return issue_date(issued) + timedelta(days=days)


def invoice(msg: IssueInvoice, taxes: tuple[Tax, ...], *, series: str, now: datetime) -> Invoice:
    """The ``POST /invoice`` body of an IssueInvoice."""
    payment = None
    if msg.paid and msg.payment_method == "card":
        payment = Payment(value=gross(msg.lines), type="Card", is_cash=False)
    return Invoice(
        series_name=series,
        client=client(msg.party),
        issue_date=issue_date(now),
        currency=msg.currency,
        language="RO",
        precision=2,
        mentions=f"Comanda {msg.order_number}",
        observations=f"Comanda {msg.order_number} ({msg.request_id})",
        products=products(msg.lines, taxes, msg.currency),
        payment=payment,
    )


def estimate(
    msg: IssueProforma, taxes: tuple[Tax, ...], *, series: str, now: datetime, due_days: int
) -> Estimate:
    """The ``POST /estimate`` body of an IssueProforma, due ``due_days`` after its issue."""
    return Estimate(
        series_name=series,
        client=client(msg.party),
        issue_date=issue_date(now),
        due_date=due_date(now, due_days),
        currency=msg.currency,
        language="RO",
        precision=2,
        mentions=f"Comanda {msg.order_number}",
        observations=f"Comanda {msg.order_number} ({msg.request_id})",
        products=products(msg.lines, taxes, msg.currency),
    )

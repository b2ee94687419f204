"""SmartBill's wire format: request bodies and answers, with the spec's field names.

Python names are snake_case; ``rename="camel"`` gives the spec's (``companyVatCode``,
``measuringUnitName``, ``colectedTax`` with SmartBill's spelling). Optional fields default to
``None`` and are left out of the body, so SmartBill applies its own documented default rather than
one we guessed. Money, quantities, rates and percentages are ``Decimal``, sent as JSON numbers
(``21``, ``49.90``: SmartBill wants percentages without ``%``); dates are ``YYYY-MM-DD``.

Answers come wrapped in a root key that depends on the endpoint (``sbcResponse``, ``Response``,
``sbcInvoicePaymentStatusResponse``, ``sbcSeries``, ``sbcTaxes``, ``stocks``; errors ``Fault``,
or ``fault`` in some spec examples); the storno example in the spec is not wrapped at all.
:func:`unwrap` accepts all of these.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal, TypeVar

import msgspec

T = TypeVar("T")

PAYMENT_TYPES = (
    "Chitanta",
    "Bon",
    "Card",
    "CEC",
    "Bilet ordin",
    "Ordin plata",
    "Mandat postal",
    "Alta incasare",
)
PaymentType = Literal[
    "Chitanta",
    "Bon",
    "Card",
    "CEC",
    "Bilet ordin",
    "Ordin plata",
    "Mandat postal",
    "Alta incasare",
]
SeriesType = Literal["f", "p", "c"]  # factura, proforma, chitanta


class _Body(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, rename="camel"):
    pass


class Client(_Body, frozen=True):
    """The buyer (``client``). Only ``name`` is required by SmartBill.

    e-Factura (ANAF) wants, for companies, a valid CIF in ``vat_code``; for individuals a CNP,
    ``"-"`` or zeros; ``address`` and ``city`` filled in (``"-"`` allowed); a real county; in
    Bucharest the sector as ``city`` and ``"Bucuresti"`` as county.
    """

    name: str
    vat_code: str | None = None
    code: str | None = None
    address: str | None = None
    reg_com: str | None = None
    is_tax_payer: bool | None = None
    contact: str | None = None
    phone: str | None = None
    city: str | None = None
    county: str | None = None
    country: str | None = None
    email: str | None = None
    bank: str | None = None
    iban: str | None = None
    save_to_db: bool | None = None


class Product(_Body, frozen=True):
    """One line of a document (``products[]``): a product or service, or a discount.

    A product needs ``quantity`` and ``price`` (per unit, VAT included when
    ``is_tax_included``). ``tax_name`` + ``tax_percentage`` must be a pair of ``GET /tax``.
    ``code`` is required when the account uses product codes. With ``use_stock`` on the
    invoice, ``warehouse_name`` names the (case-sensitive) warehouse to take the stock from.

    A discount (``is_discount=True``) applies to the ``number_of_items`` lines just before it:
    ``discount_type`` 1 is an amount (``discount_value``, negative), 2 a percentage
    (``discount_percentage``).
    """

    name: str
    measuring_unit_name: str
    currency: str
    code: str | None = None
    product_description: str | None = None
    translated_name: str | None = None
    translated_measuring_unit: str | None = None
    is_discount: bool | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    is_tax_included: bool | None = None
    tax_name: str | None = None
    tax_percentage: Decimal | None = None
    exchange_rate: Decimal | None = None
    save_to_db: bool | None = None
    warehouse_name: str | None = None
    is_service: bool | None = None
    number_of_items: int | None = None
    discount_type: Literal[1, 2] | None = None
    discount_percentage: Decimal | None = None
    discount_value: Decimal | None = None


class EstimateRef(_Body, frozen=True):
    """The proforma an invoice is made from (``estimate``, with ``use_estimate_details``)."""

    series_name: str
    number: str
    use_stock: bool | None = None


class Payment(_Body, frozen=True):
    """Collected at issue (``payment``): ``Chitanta`` needs a receipt ``payment_series``."""

    value: Decimal
    type: PaymentType
    payment_series: str | None = None
    is_cash: bool | None = None


class EmailCopy(_Body, frozen=True):
    """Recipients when SmartBill e-mails the document (``sendEmail`` + ``email``)."""

    to: str | None = None
    cc: str | None = None
    bcc: str | None = None


class Document(_Body, frozen=True):
    """The body fields ``POST /invoice`` and ``POST /estimate`` share."""

    company_vat_code: str = ""  # the client fills in ours when empty
    series_name: str = ""  # the client fills in the configured series when empty
    client: Client | None = None
    is_draft: bool | None = None
    issue_date: date | None = None
    currency: str | None = None
    exchange_rate: Decimal | None = None
    language: str | None = None
    precision: int | None = None
    issuer_cnp: str | None = None
    issuer_name: str | None = None
    aviz: str | None = None
    due_date: date | None = None
    mentions: str | None = None  # printed on the document
    observations: str | None = None  # internal, shown in reports only
    delegate_auto: str | None = None
    delegate_identity_card: str | None = None
    delegate_name: str | None = None
    use_intra_cif: bool | None = None
    payment_url: str | None = None
    send_email: bool | None = None
    email: EmailCopy | None = None
    products: tuple[Product, ...] = ()


class Invoice(Document, frozen=True):
    """The body of ``POST /invoice``: a new invoice (``is_draft``: a draft, without a number).

    Made from a proforma: ``use_estimate_details=True`` and ``estimate``; then ``client`` and
    ``products`` come from the proforma and may be left out.
    """

    delivery_date: date | None = None
    payment_date: date | None = None
    use_stock: bool | None = None
    use_estimate_details: bool | None = None
    estimate: EstimateRef | None = None
    use_payment_tax: bool | None = None
    payment_base: Decimal | None = None
    colected_tax: Decimal | None = None  # sic: SmartBill's spelling
    payment_total: Decimal | None = None
    payment: Payment | None = None


class Estimate(Document, frozen=True):
    """The body of ``POST /estimate``: a new proforma (same shape as an invoice, fewer options)."""


class Reverse(_Body, frozen=True):
    """The body of ``POST /invoice/reverse`` (storno of a whole invoice)."""

    company_vat_code: str
    series_name: str
    number: str
    issue_date: date | None = None


# --- answers ----------------------------------------------------------------------------------


class _Answer(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    error_text: str | None = None
    message: str | None = None


class Fault(_Answer, frozen=True):
    """An error answer (``Fault``): SmartBill's ``errorText`` says what was wrong."""

    number: str | None = None


class DocumentResponse(_Answer, frozen=True):
    """A document was issued (invoice, proforma, storno): its ``series`` and ``number``.

    ``number`` is a zero-padded string such as ``"0023"``; empty for a draft. ``url`` is the
    payment link when one was asked for. A storno also carries ``document_id``,
    ``document_url`` and ``document_view_url`` (the public link).
    """

    number: str = ""
    series: str = ""
    url: str | None = None
    document_id: str | int | None = None
    document_url: str | None = None
    document_view_url: str | None = None


class PaymentStatus(_Answer, frozen=True):
    """``GET /invoice/paymentstatus``: total, paid and unpaid amounts of one invoice."""

    number: str | None = None
    series: str | None = None
    invoice_total_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    unpaid_amount: Decimal | None = None
    paid: bool | None = None


class DocumentRef(msgspec.Struct, frozen=True, kw_only=True):
    """A document named by its series and number (``"LDX"``, ``"0042"``)."""

    series: str
    number: str


class EstimateInvoices(_Answer, frozen=True):
    """``GET /estimate/invoices``: the invoices made from a proforma (drafts not listed)."""

    are_invoices_created: bool | None = None
    invoices: tuple[DocumentRef, ...] | None = None


class Series(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """A document series and the number its next document will get (``"0117"``)."""

    name: str
    next_number: str
    type: str  # "f" factura, "p" proforma, "c" chitanta


class SeriesList(_Answer, frozen=True):
    list: tuple[Series, ...] = ()


class Tax(msgspec.Struct, frozen=True, kw_only=True):
    """A VAT rate defined in the account: the ``taxName``/``taxPercentage`` pair to send."""

    name: str
    percentage: Decimal


class TaxList(_Answer, frozen=True):
    taxes: tuple[Tax, ...] = ()


class Warehouse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    warehouse_name: str
    warehouse_type: str = ""  # "en gros" or "en detail"


class StockProduct(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    product_name: str
    quantity: Decimal
    measuring_unit: str = ""
    product_code: str = ""  # only when the account uses product codes


class WarehouseStock(msgspec.Struct, frozen=True, kw_only=True):
    """The stock of one warehouse: its products and quantities."""

    warehouse: Warehouse | None = None
    products: tuple[StockProduct, ...] = ()


class StockList(_Answer, frozen=True):
    list: tuple[WarehouseStock, ...] = ()


_encoder = msgspec.json.Encoder(decimal_format="number")
_root = msgspec.json.Decoder(dict[str, msgspec.Raw])


def encode(body: msgspec.Struct) -> bytes:
    """The JSON body (Decimal as JSON numbers, as SmartBill's ``double`` fields want)."""
    return _encoder.encode(body)


def unwrap(raw: bytes, type: type[T]) -> T:
    """Decode an answer, wrapped in its root key (``sbcResponse``, ``Fault``...) or not."""
    root = _root.decode(raw)
    if "errorText" in root or len(root) != 1:
        return msgspec.json.decode(raw, type=type)
    (inner,) = root.values()
    return msgspec.json.decode(inner, type=type)


def error_text(raw: bytes) -> str:
    """``errorText`` of an answer, or ``""`` when it has none or is not JSON."""
    try:
        fault: Any = unwrap(raw, Fault)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""
    return str(fault.error_text or "")

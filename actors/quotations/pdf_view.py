"""A stored quote as the printed document (``document.QuotationDocument``): the seller from the
settings, the client from the quote's customer snapshot, the priced lines with their discounts.

A draft prints as it would be if sent at ``now`` (issued today, valid for its validity days),
so the shop can look at it before sending; a sent quote prints its own dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from actors.quotations import domain
from actors.quotations.document import (
    Client,
    QuotationDocument,
    Seller,
    document_line,
)
from actors.quotations.model import Language, Line, Quote
from actors.quotations.settings import QuotationsSettings


def seller(settings: QuotationsSettings) -> Seller:
    """The shop, as ``[quotations] seller_*`` describe it."""
    return Seller(
        name=settings.seller_name,
        cui=settings.seller_cui,
        reg_com=settings.seller_reg_com,
        street=settings.seller_street,
        city=settings.seller_city,
        county=settings.seller_county,
        postcode=settings.seller_postcode,
        iban=settings.seller_iban,
        bank=settings.seller_bank,
        email=settings.seller_email,
        phone=settings.seller_phone,
        website=settings.seller_website,
    )


def client(quote: Quote) -> Client:
    """Who the quote is for, with the address on the quote."""
    c, a = quote.customer, quote.customer.address
    return Client(
        kind=c.kind,
        name=c.name,
        street=a.street,
        city=a.city,
        county=a.county,
        postcode=a.postcode,
        country=a.country,
        cui=c.cui,
        reg_com=c.reg_com,
        contact=c.contact,
        email=c.email,
        phone=c.phone or a.phone,
    )


def document(
    quote: Quote,
    lines: Sequence[Line],
    settings: QuotationsSettings,
    *,
    now: datetime,
    language: Language | None = None,
) -> QuotationDocument:
    """The printed quote (priced lines only: the caller refuses a quote not priced yet)."""
    if quote.sent_at is not None and quote.valid_until is not None:
        issued_on, valid_until = domain.business_date(quote.sent_at), quote.valid_until
    else:
        preview = domain.validity(now, quote.validity_days, settings.remind_days_before)
        issued_on, valid_until = preview.issued_on, preview.last_valid_day
    printed = tuple(document_line(x.priced(), name=x.name, unit=x.unit) for x in lines)
    totals = domain.totals(x.quoted() for x in lines)
    return QuotationDocument(
        seller=seller(settings),
        number=quote.number,
        issued_on=issued_on,
        valid_until=valid_until,
        client=client(quote),
        lines=printed,
        totals=totals,
        language=language or quote.language,
        notes=quote.notes,
    )

"""The quotations' public contract: its durable timers and what a quotation went through.

Quotations are created and moved through the API (``actors.quotations.api``). The timers below
are durable timers named per quote (``quotation:<id>:expire``, ``quotation:<id>:remind``), set
when a quote is sent and cancelled as it moves on, so a restart neither loses nor doubles them;
the quotations actor handles them. Events are keyed ``quotation:<id>``.

What the quotations send others: ``pricing.PriceCart`` (request ``quote:<id>``), the stock hold
(``inventory.ReserveStock`` / ``ReleaseStock``, reservation ``quote:<id>``), the reminder
(``notifications.NotifyCustomer``, key ``quotation:<id>:expiring``) and the order
(``orders.PlaceOrder``, source ``quotation``).
"""

from __future__ import annotations

from datetime import date, datetime

from actors.pricing.messages import CartTotals
from hub.messages import Command, Event


class ExpireQuotation(Command, tag="quotations.ExpireQuotation"):
    """Timer: the quote's validity ended at ``expires_at`` (ignored if it moved on, or moved)."""

    quotation_id: str
    expires_at: datetime


class RemindQuotation(Command, tag="quotations.RemindQuotation"):
    """Timer: remind the customer the quote expires at ``expires_at`` (only while ``sent``)."""

    quotation_id: str
    expires_at: datetime


class QuotationStatusChanged(Event, tag="quotations.QuotationStatusChanged"):
    """A quotation moved (sent, accepted, rejected, expired, converted)."""

    quotation_id: str
    number: str
    customer_id: str | None
    from_status: str
    to_status: str
    at: datetime
    by: str
    valid_until: date | None  # the last valid day (Europe/Bucharest), once sent
    totals: CartTotals
    order_id: str | None = None  # set when converted


QuotationsMessage = ExpireQuotation | RemindQuotation | QuotationStatusChanged

"""The rules of a quotation, without I/O: statuses, validity, the reminder, conversion, totals.

Pure: no clock (callers pass ``now`` and the instant a quote was sent), no I/O, no globals.
Money is Decimal, RON. Decisions, as built:

- Statuses and moves: draft → sent; sent → accepted | rejected | expired; accepted →
  converted | expired. Converted, rejected and expired are final. A draft cannot expire: it has
  no validity until it is sent. An accepted quote that is not converted before its validity ends
  expires too: the quoted prices are only promised while the quote is valid (conversion carries
  them over "while the quote is valid"), and expiry is what releases the stock held for it.
- Validity counts calendar days in Europe/Bucharest from the day the quote is sent (the issue
  day counts as day one), as a Romanian customer reads "valabilă 15 zile": sent on 1 March, valid
  through 15 March. The quote expires at the end of its last valid day, i.e. at 00:00 Bucharest
  time of the next day, held as a timezone-aware UTC instant (exact across DST changes).
- The reminder goes at 09:00 Bucharest time ``remind_days_before`` days before the expiry day
  (sent 1 March, 15 days, 3 days before: expiry 16 March 00:00, reminder 13 March 09:00, leaving
  the customer 13, 14 and 15 March). No reminder when that instant is not after the sending
  (very short validity), and none unless the quote is still ``sent`` (never after acceptance).
- Conversion: only an accepted quote, only before its expiry instant; the order gets the quoted
  lines as they are (prices frozen, no repricing).
- Lines: net = round_half_up(unit_net * quantity, 0.01), VAT = round_half_up(net * rate, 0.01),
  gross = net + VAT; totals are the sums of the lines. This is the rule of actors/pricing; the two
  helpers are re-implemented here because a context must not import another context's domain.
- Numbers: ``OF-{year}-{seq:05d}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import msgspec

from hub.errors import DomainError

BUSINESS_TZ = ZoneInfo("Europe/Bucharest")
CENT = Decimal("0.01")
ZERO = Decimal(0)
VALIDITY_DAYS = 15
REMIND_DAYS_BEFORE = 3
REMIND_AT = time(9, 0)  # local business time: a reminder should not arrive at midnight

Status = Literal["draft", "sent", "accepted", "converted", "rejected", "expired"]
STATUSES: tuple[Status, ...] = ("draft", "sent", "accepted", "converted", "rejected", "expired")
TRANSITIONS: Mapping[Status, tuple[Status, ...]] = {
    "draft": ("sent",),
    "sent": ("accepted", "rejected", "expired"),
    "accepted": ("converted", "expired"),
    "converted": (),
    "rejected": (),
    "expired": (),
}
FINAL: frozenset[Status] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
EXPIRABLE: frozenset[Status] = frozenset(s for s, nxt in TRANSITIONS.items() if "expired" in nxt)


class QuoteLine(msgspec.Struct, frozen=True, kw_only=True):
    """One quoted line: quantity, unit net price (to the cent), VAT rate, how the price arose."""

    sku: str
    quantity: Decimal
    unit_net: Decimal
    vat_rate: Decimal
    breakdown: tuple[Any, ...] = ()  # the pricing steps, opaque here; shown on the PDF

    @property
    def line_net(self) -> Decimal:
        """Unit net * quantity, to the cent."""
        return round_money(self.unit_net * self.quantity)

    @property
    def line_vat(self) -> Decimal:
        """The line's VAT, rounded per line."""
        return round_money(self.line_net * self.vat_rate)

    @property
    def line_gross(self) -> Decimal:
        """Net plus VAT."""
        return self.line_net + self.line_vat


class QuoteTotals(msgspec.Struct, frozen=True, kw_only=True):
    """Sums of the lines."""

    net: Decimal
    vat: Decimal
    gross: Decimal


class Validity(msgspec.Struct, frozen=True, kw_only=True):
    """When a sent quote was issued, its last valid day, when it expires and is reminded."""

    issued_on: date
    last_valid_day: date
    expires_at: datetime  # UTC, the end of last_valid_day in Europe/Bucharest
    remind_at: datetime | None  # UTC; None: too late to remind by the time it was sent


# --- statuses ----------------------------------------------------------------------------------


def allowed_next(status: Status) -> tuple[Status, ...]:
    """The statuses a quote in ``status`` may move to (none for a final status)."""
    if status not in TRANSITIONS:
        raise DomainError(f"unknown quotation status {status!r}")
    return TRANSITIONS[status]


def transition(number: str, current: Status, target: Status) -> Status:
    """``target`` when the move is allowed; else a DomainError naming what is allowed."""
    allowed = allowed_next(current)
    if target in allowed:
        return target
    options = ", ".join(allowed) if allowed else "nothing else (it is final)"
    raise DomainError(
        f"quotation {number} is {current} and cannot become {target}; it can become: {options}"
    )


# --- validity and reminder ---------------------------------------------------------------------


def business_date(instant: datetime) -> date:
    """The calendar day in Europe/Bucharest at ``instant`` (timezone-aware)."""
    return _aware(instant).astimezone(BUSINESS_TZ).date()


def local_instant(day: date, at: time = time(0)) -> datetime:
    """``day`` at the wall-clock time ``at`` in Europe/Bucharest, as a UTC instant."""
    return datetime.combine(day, at, tzinfo=BUSINESS_TZ).astimezone(UTC)


def validity(
    sent_at: datetime,
    validity_days: int = VALIDITY_DAYS,
    remind_days_before: int = REMIND_DAYS_BEFORE,
) -> Validity:
    """The validity of a quote sent at ``sent_at``: ``validity_days`` calendar days counting the
    issue day, ending at the next local midnight; the reminder at 09:00 local time
    ``remind_days_before`` days before the expiry day, if that is still after ``sent_at``."""
    if validity_days < 1:
        raise DomainError(f"a quotation is valid for at least 1 day, got {validity_days}")
    if remind_days_before < 1:
        raise DomainError(f"the reminder comes at least 1 day before, got {remind_days_before}")
    issued_on = business_date(sent_at)
    expiry_day = issued_on + timedelta(days=validity_days)
    remind_at = local_instant(expiry_day - timedelta(days=remind_days_before), REMIND_AT)
    return Validity(
        issued_on=issued_on,
        last_valid_day=expiry_day - timedelta(days=1),
        expires_at=local_instant(expiry_day),
        remind_at=remind_at if remind_at > sent_at else None,
    )


def is_expired(now: datetime, expires_at: datetime) -> bool:
    """Whether the validity has ended at ``now`` (the expiry instant itself is past it)."""
    return _aware(now) >= expires_at


def should_expire(status: Status, now: datetime, expires_at: datetime | None) -> bool:
    """Whether a quote in ``status`` must move to expired at ``now`` (sent or accepted only)."""
    return status in EXPIRABLE and expires_at is not None and is_expired(now, expires_at)


def should_remind(status: Status) -> bool:
    """Only a quote still awaiting the customer's answer is reminded."""
    return status == "sent"


def reminder_due(
    status: Status, now: datetime, remind_at: datetime | None, expires_at: datetime
) -> bool:
    """Whether the reminder should go now: still sent, a reminder planned, its time come,
    the quote not yet expired."""
    return (
        should_remind(status)
        and remind_at is not None
        and remind_at <= _aware(now)
        and not is_expired(now, expires_at)
    )


# --- conversion --------------------------------------------------------------------------------


def can_convert(status: Status, now: datetime, expires_at: datetime) -> bool:
    """Only an accepted quote, and only while it is still valid at ``now``."""
    return status == "accepted" and not is_expired(now, expires_at)


def order_lines(
    number: str, status: Status, now: datetime, expires_at: datetime, lines: Iterable[QuoteLine]
) -> tuple[QuoteLine, ...]:
    """The lines an order gets from the quote: exactly the quoted ones (prices frozen)."""
    if not can_convert(status, now, expires_at):
        reason = "it has expired" if status == "accepted" else f"it is {status}, not accepted"
        raise DomainError(f"quotation {number} cannot be converted: {reason}")
    converted = tuple(lines)
    if not converted:
        raise DomainError(f"quotation {number} has no lines to convert")
    return converted


# --- money and numbers -------------------------------------------------------------------------


def round_money(amount: Decimal) -> Decimal:
    """To the cent, half up (the rule of actors/pricing, kept local: contexts do not import
    each other's domain)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def totals(lines: Iterable[QuoteLine]) -> QuoteTotals:
    """Sums of the lines' net, VAT and gross (gross = net + VAT exactly, line by line)."""
    net = vat = ZERO
    for line in lines:
        net += line.line_net
        vat += line.line_vat
    return QuoteTotals(net=net, vat=vat, gross=net + vat)


def quote_number(year: int, seq: int) -> str:
    """``OF-2025-00042``: the year of issue and the year's sequence (1 to 99999)."""
    if not 2000 <= year <= 9999:
        raise DomainError(f"invalid quotation year {year}")
    if not 1 <= seq <= 99_999:
        raise DomainError(f"quotation sequence must be 1 to 99999, got {seq}")
    return f"OF-{year}-{seq:05d}"


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise DomainError(f"a timezone-aware instant is required, got {instant.isoformat()}")
    return instant

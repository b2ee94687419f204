"""Quotation rules: status moves, validity (DST, month ends), the reminder, conversion, totals."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.quotations import domain
from actors.quotations.domain import QuoteLine
from hub.errors import DomainError

D = Decimal
ALLOWED = {
    ("draft", "sent"),
    ("sent", "accepted"),
    ("sent", "rejected"),
    ("sent", "expired"),
    ("accepted", "converted"),
    ("accepted", "expired"),
}
PAIRS = list(itertools.product(domain.STATUSES, repeat=2))
NEXT_TEXT = {
    "draft": "sent",
    "sent": "accepted, rejected, expired",
    "accepted": "converted, expired",
    "converted": "nothing else (it is final)",
    "rejected": "nothing else (it is final)",
    "expired": "nothing else (it is final)",
}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def line(qty: str = "1", unit: str = "10.00", rate: str = "0.21", sku: str = "A") -> QuoteLine:
    return QuoteLine(sku=sku, quantity=D(qty), unit_net=D(unit), vat_rate=D(rate))


# --- statuses ----------------------------------------------------------------------------------


def test_all_36_pairs_are_covered_and_six_are_allowed() -> None:
    assert len(PAIRS) == 36
    assert {p for p in PAIRS if domain.TRANSITIONS[p[0]].count(p[1])} == ALLOWED


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transition_returns_the_new_status(current: str, target: str) -> None:
    assert domain.transition("OF-2025-00001", current, target) == target  # type: ignore[arg-type]


@pytest.mark.parametrize(("current", "target"), [p for p in PAIRS if p not in ALLOWED])
def test_illegal_transition_names_current_status_and_allowed_ones(
    current: str, target: str
) -> None:
    with pytest.raises(DomainError) as raised:
        domain.transition("Q-1", current, target)  # type: ignore[arg-type]
    message = str(raised.value)
    assert message.startswith(f"quotation Q-1 is {current} and cannot become {target}")
    assert message.endswith(f"it can become: {NEXT_TEXT[current]}")


def test_sent_quote_message_lists_its_three_options() -> None:
    with pytest.raises(DomainError, match=r"is sent .*it can become: accepted, rejected, expired"):
        domain.transition("Q-1", "sent", "converted")


def test_draft_cannot_expire() -> None:
    with pytest.raises(DomainError, match="is draft and cannot become expired"):
        domain.transition("Q-1", "draft", "expired")
    assert not domain.should_expire("draft", utc(2030, 1, 1), None)


def test_unknown_status_is_refused() -> None:
    with pytest.raises(DomainError, match="unknown quotation status 'paid'"):
        domain.transition("Q-1", "paid", "sent")  # type: ignore[arg-type]


# --- validity ----------------------------------------------------------------------------------


def test_valid_15_days_from_1_march_means_through_15_march() -> None:
    v = domain.validity(utc(2025, 3, 1, 8))  # 10:00 in Bucharest (EET, +2)
    assert v.issued_on == date(2025, 3, 1)
    assert v.last_valid_day == date(2025, 3, 15)
    assert v.expires_at == utc(2025, 3, 15, 22)  # 16 March 00:00 EET


def test_issue_day_is_the_bucharest_date_of_sending() -> None:
    v = domain.validity(utc(2025, 2, 28, 22, 30))  # 1 March 00:30 in Bucharest
    assert v.issued_on == date(2025, 3, 1)
    assert v.last_valid_day == date(2025, 3, 15)


def test_validity_spanning_the_spring_dst_change_ends_at_local_midnight_summer_time() -> None:
    v = domain.validity(utc(2025, 3, 20, 10))  # 30 March 2025 is the last Sunday of March
    assert v.last_valid_day == date(2025, 4, 3)
    assert v.expires_at == utc(2025, 4, 3, 21)  # 4 April 00:00 EEST (+3)
    assert v.expires_at - domain.local_instant(v.issued_on) == timedelta(days=15, hours=-1)


def test_validity_spanning_the_autumn_dst_change_ends_at_local_midnight_winter_time() -> None:
    v = domain.validity(utc(2025, 10, 15, 10))  # 26 October 2025 is the last Sunday of October
    assert v.last_valid_day == date(2025, 10, 29)
    assert v.expires_at == utc(2025, 10, 29, 22)  # 30 October 00:00 EET (+2)
    assert v.expires_at - domain.local_instant(v.issued_on) == timedelta(days=15, hours=1)


@pytest.mark.parametrize(
    ("last_valid_day", "expires_at"),
    [
        (date(2025, 3, 29), utc(2025, 3, 29, 22)),  # ends on the changeover day, still +2
        (date(2025, 3, 30), utc(2025, 3, 30, 21)),  # the changeover day itself is valid
        (date(2025, 10, 25), utc(2025, 10, 25, 21)),  # midnight before the change is still +3
        (date(2025, 10, 26), utc(2025, 10, 26, 22)),
    ],
)
def test_expiry_on_dst_days(last_valid_day: date, expires_at: datetime) -> None:
    sent = domain.local_instant(last_valid_day - timedelta(days=14), time(12))
    v = domain.validity(sent)
    assert (v.last_valid_day, v.expires_at) == (last_valid_day, expires_at)


@pytest.mark.parametrize(
    ("sent_on", "days", "last_valid_day"),
    [
        (date(2024, 2, 20), 15, date(2024, 3, 5)),  # leap February
        (date(2025, 2, 20), 15, date(2025, 3, 6)),
        (date(2025, 1, 31), 1, date(2025, 1, 31)),
        (date(2025, 1, 31), 29, date(2025, 2, 28)),
        (date(2025, 4, 30), 15, date(2025, 5, 14)),
        (date(2025, 12, 20), 15, date(2026, 1, 3)),  # across the year end
        (date(2025, 12, 31), 30, date(2026, 1, 29)),
    ],
)
def test_last_valid_day_across_month_and_year_ends(
    sent_on: date, days: int, last_valid_day: date
) -> None:
    v = domain.validity(domain.local_instant(sent_on, time(15)), validity_days=days)
    assert v.last_valid_day == last_valid_day
    assert v.expires_at == domain.local_instant(last_valid_day + timedelta(days=1))


def test_expiry_instant_is_the_first_expired_moment() -> None:
    v = domain.validity(utc(2025, 3, 1, 8))
    assert not domain.is_expired(v.expires_at - timedelta(microseconds=1), v.expires_at)
    assert domain.is_expired(v.expires_at, v.expires_at)


@pytest.mark.parametrize("status", ["sent", "accepted"])
def test_sent_and_accepted_quotes_expire_at_the_end_of_validity(status: str) -> None:
    v = domain.validity(utc(2025, 3, 1, 8))
    assert not domain.should_expire(status, v.expires_at - timedelta(seconds=1), v.expires_at)  # type: ignore[arg-type]
    assert domain.should_expire(status, v.expires_at, v.expires_at)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", ["draft", "converted", "rejected", "expired"])
def test_other_statuses_never_expire(status: str) -> None:
    assert not domain.should_expire(status, utc(2030, 1, 1), utc(2025, 1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize(("days", "before"), [(0, 3), (15, 0)])
def test_nonsense_settings_are_refused(days: int, before: int) -> None:
    with pytest.raises(DomainError):
        domain.validity(utc(2025, 3, 1), validity_days=days, remind_days_before=before)


def test_naive_instant_is_refused() -> None:
    with pytest.raises(DomainError, match="timezone-aware"):
        domain.validity(datetime(2025, 3, 1, 10))


@given(
    sent=st.datetimes(datetime(2020, 1, 1), datetime(2035, 12, 31), timezones=st.just(UTC)),
    days=st.integers(1, 120),
)
def test_validity_always_ends_at_a_bucharest_midnight_after_whole_local_days(
    sent: datetime, days: int
) -> None:
    v = domain.validity(sent, validity_days=days)
    local_end = v.expires_at.astimezone(domain.BUSINESS_TZ)
    assert local_end.time() == time(0)
    assert local_end.date() - v.issued_on == timedelta(days=days)
    assert v.last_valid_day == local_end.date() - timedelta(days=1)
    assert sent < v.expires_at
    if v.remind_at is not None:
        assert sent < v.remind_at < v.expires_at


# --- reminder ----------------------------------------------------------------------------------


def test_reminder_at_nine_three_days_before_expiry() -> None:
    v = domain.validity(utc(2025, 3, 1, 8))  # expires 16 March 00:00 local
    assert v.remind_at == utc(2025, 3, 13, 7)  # 13 March 09:00 EET


def test_reminder_across_dst_keeps_nine_local() -> None:
    v = domain.validity(utc(2025, 3, 20, 10))  # expires 4 April 00:00 EEST
    assert v.remind_at == utc(2025, 4, 1, 6)  # 1 April 09:00 EEST
    assert v.remind_at.astimezone(domain.BUSINESS_TZ).time() == time(9)


def test_reminder_days_are_configurable() -> None:
    v = domain.validity(utc(2025, 3, 1, 8), validity_days=30, remind_days_before=5)
    assert v.last_valid_day == date(2025, 3, 30)
    assert v.remind_at == utc(2025, 3, 26, 7)  # 31 March - 5 days, 09:00 EEST


def test_no_reminder_when_its_time_has_passed_at_sending() -> None:
    v = domain.validity(utc(2025, 3, 1, 8), validity_days=3)  # reminder would be 1 March 09:00
    assert v.remind_at is None
    assert not domain.reminder_due("sent", utc(2025, 3, 2, 8), v.remind_at, v.expires_at)


def test_short_validity_sent_early_still_gets_its_reminder() -> None:
    v = domain.validity(utc(2025, 3, 1, 5), validity_days=3)  # 07:00 local, before 09:00
    assert v.remind_at == utc(2025, 3, 1, 7)


def test_reminder_due_only_for_sent_quotes_between_its_time_and_expiry() -> None:
    v = domain.validity(utc(2025, 3, 1, 8))
    assert v.remind_at is not None
    at = v.remind_at
    assert not domain.reminder_due("sent", at - timedelta(seconds=1), at, v.expires_at)
    assert domain.reminder_due("sent", at, at, v.expires_at)
    assert not domain.reminder_due("sent", v.expires_at, at, v.expires_at)


@pytest.mark.parametrize("status", [s for s in domain.STATUSES if s != "sent"])
def test_no_reminder_unless_sent(status: str) -> None:
    v = domain.validity(utc(2025, 3, 1, 8))
    assert not domain.should_remind(status)  # type: ignore[arg-type]
    assert not domain.reminder_due(status, v.remind_at, v.remind_at, v.expires_at)  # type: ignore[arg-type]


# --- conversion --------------------------------------------------------------------------------


def test_accepted_quote_converts_until_its_expiry_instant() -> None:
    v = domain.validity(utc(2025, 3, 1, 8))
    assert domain.can_convert("accepted", v.expires_at - timedelta(microseconds=1), v.expires_at)
    assert not domain.can_convert("accepted", v.expires_at, v.expires_at)


@pytest.mark.parametrize("status", [s for s in domain.STATUSES if s != "accepted"])
def test_only_accepted_quotes_convert(status: str) -> None:
    assert not domain.can_convert(status, utc(2025, 3, 2), utc(2025, 3, 15, 22))  # type: ignore[arg-type]


def test_conversion_carries_the_quoted_lines_at_quoted_prices() -> None:
    steps = (("base", D("15.00")), ("tier", D("12.34")))
    first = QuoteLine(
        sku="A", quantity=D(2), unit_net=D("12.34"), vat_rate=D("0.21"), breakdown=steps
    )
    lines = (first, line("1.5", "7.99", sku="B"))
    got = domain.order_lines("Q-1", "accepted", utc(2025, 3, 2), utc(2025, 3, 15, 22), lines)
    assert got == lines
    assert [(x.sku, x.unit_net, x.line_gross) for x in got] == [
        ("A", D("12.34"), D("29.86")),
        ("B", D("7.99"), D("14.51")),  # 11.985 → 11.99 net, 2.52 VAT
    ]
    assert got[0].breakdown == steps


def test_conversion_after_expiry_is_refused() -> None:
    with pytest.raises(DomainError, match="quotation Q-1 cannot be converted: it has expired"):
        domain.order_lines("Q-1", "accepted", utc(2025, 3, 16), utc(2025, 3, 15, 22), [line()])


def test_conversion_of_a_sent_quote_is_refused() -> None:
    with pytest.raises(DomainError, match="it is sent, not accepted"):
        domain.order_lines("Q-1", "sent", utc(2025, 3, 2), utc(2025, 3, 15, 22), [line()])


# --- lines, totals, numbers --------------------------------------------------------------------


def test_line_amounts_round_half_up_per_line() -> None:
    item = line("3", "0.835", "0.21")  # 2.505 → 2.51; VAT 0.5271 → 0.53
    assert (item.line_net, item.line_vat, item.line_gross) == (D("2.51"), D("0.53"), D("3.04"))


def test_totals_of_no_lines_are_zero() -> None:
    t = domain.totals([])
    assert (t.net, t.vat, t.gross) == (0, 0, 0)


lines_strategy = st.lists(
    st.builds(
        QuoteLine,
        sku=st.sampled_from(["A", "B", "C"]),
        quantity=st.decimals(D("0.001"), D("100000"), places=3),
        unit_net=st.decimals(D("0"), D("50000"), places=2),
        vat_rate=st.sampled_from([D("0.19"), D("0.21"), D("0.09"), D("0")]),
    ),
    max_size=30,
)


@given(lines_strategy)
def test_totals_are_exact_sums_of_cent_rounded_lines(lines: list[QuoteLine]) -> None:
    t = domain.totals(lines)
    assert t.net == sum((x.line_net for x in lines), D(0))
    assert t.vat == sum((x.line_vat for x in lines), D(0))
    assert t.gross == sum((x.line_gross for x in lines), D(0)) == t.net + t.vat
    for amount in (t.net, t.vat, t.gross):
        assert amount == amount.quantize(domain.CENT)
    for x in lines:
        assert abs(x.line_net - x.unit_net * x.quantity) <= D("0.005")
        assert x.line_gross == x.line_net + x.line_vat


@given(lines_strategy, lines_strategy)
def test_totals_split_across_quotes_add_up_without_drift(
    a: list[QuoteLine], b: list[QuoteLine]
) -> None:
    ta, tb, both = domain.totals(a), domain.totals(b), domain.totals(a + b)
    assert (both.net, both.vat, both.gross) == (
        ta.net + tb.net,
        ta.vat + tb.vat,
        ta.gross + tb.gross,
    )


@pytest.mark.parametrize(
    ("year", "seq", "number"),
    [(2025, 1, "OF-2025-00001"), (2025, 42, "OF-2025-00042"), (2026, 99999, "OF-2026-99999")],
)
def test_quote_number_format(year: int, seq: int, number: str) -> None:
    assert domain.quote_number(year, seq) == number


@pytest.mark.parametrize(("year", "seq"), [(2025, 0), (2025, 100_000), (25, 1)])
def test_quote_number_out_of_range_is_refused(year: int, seq: int) -> None:
    with pytest.raises(DomainError):
        domain.quote_number(year, seq)

"""The quotes' durable timers on a controllable clock: the expiry at the end of the last valid
day and the one reminder, at the domain's instants across DST changes; acceptance cancels the
reminder, rejection both; a timer fires once, also across hub restarts, and a late, early or
repeated one changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from actors.notifications.messages import NotifyCustomer
from actors.pricing.actor import Pricing
from actors.pricing.settings import PricingSettings
from actors.quotations import domain, drafts, lifecycle, store
from actors.quotations.actor import QuotationsActor
from actors.quotations.messages import ExpireQuotation, QuotationStatusChanged, RemindQuotation
from actors.quotations.model import Quote
from hub.bootstrap import Hub
from hub.ids import uuid7
from tests.integration.quotations.support import (
    ACTOR,
    Recorder,
    TimeMachine,
    change,
    history,
    new_quote,
    priced_catalog,
    priced_quote,
    send,
)
from tests.support import eventually

StartHub = Callable[..., Any]
MINUTE = timedelta(minutes=1)
NOTIFY = "notifications.NotifyCustomer"


def bucharest(*args: int) -> datetime:
    """A wall-clock time in Bucharest, as a UTC instant."""
    return datetime(*args, tzinfo=domain.BUSINESS_TZ).astimezone(UTC)


# Sent three days before the spring DST change (EET → EEST on 28 March 2027), and before the
# autumn one (EEST → EET on 31 October 2027): the instants keep their local wall-clock times.
SPRING = bucharest(2027, 3, 25, 10, 0)
AUTUMN = bucharest(2027, 10, 20, 10, 0)


async def start(start_hub: StartHub, tm: TimeMachine, **kw: Any) -> tuple[Hub, Recorder, Any]:
    recorder = Recorder()
    hub, stop = await start_hub(
        QuotationsActor(clock=tm.now), Pricing(PricingSettings()), recorder, **kw
    )
    return hub, recorder, stop


async def sent_quote(conn: asyncpg.Connection, tm: TimeMachine, **kw: Any) -> Quote:
    """A quote created, priced and sent at the clock's time (its timers adopted)."""
    draft, _ = await change(
        conn, lambda c: drafts.create(c, new_quote(("STRIP-1", "4"), **kw), by=ACTOR, now=tm.now())
    )
    await priced_quote(conn, draft.id)
    quote, _ = await change(
        conn,
        lambda c: lifecycle.send(c, draft.id, by=ACTOR, now=tm.now(), remind_days_before=3),
        tm,
    )
    assert isinstance(quote, Quote)
    return quote


async def settled(hub: Hub, conn: asyncpg.Connection) -> None:
    """Wait until every due timer fired, everything emitted is published, and the quotations
    actor got to a message sent after all that (a no-op timer for no quote)."""
    await eventually(
        lambda: conn.fetchval(
            "SELECT NOT EXISTS (SELECT 1 FROM hub_timers WHERE due_at <= now()) "
            "AND NOT EXISTS (SELECT 1 FROM hub_outbox WHERE published_at IS NULL)"
        ),
        what="timers fired and messages published",
    )
    marker = RemindQuotation(quotation_id=str(uuid7()), expires_at=datetime.now(UTC))
    env = await send(hub, marker, key=f"quotation:{marker.quotation_id}")
    await eventually(
        lambda: conn.fetchval(
            "SELECT true FROM hub_inbox WHERE actor = 'quotations' AND message_id = $1",
            env.message_id,
        ),
        what="the quotations actor caught up",
    )


async def notified(conn: asyncpg.Connection) -> int:
    """How many NotifyCustomer messages were ever emitted (the outbox keeps them)."""
    count: int = await conn.fetchval("SELECT count(*) FROM hub_outbox WHERE type = $1", NOTIFY)
    return count


@pytest.mark.parametrize("sent_at", [SPRING, AUTUMN], ids=["spring-dst", "autumn-dst"])
async def test_sending_sets_the_timers_at_the_domains_instants_across_dst(
    start_hub: StartHub, qdb: asyncpg.Connection, sent_at: datetime
) -> None:
    tm = TimeMachine(sent_at)
    hub, _, _ = await start(start_hub, tm)
    await priced_catalog(hub, qdb)
    quote = await sent_quote(qdb, tm)
    valid = domain.validity(quote.sent_at or sent_at, 15, 3)
    assert (quote.valid_until, quote.expires_at, quote.remind_at) == (
        valid.last_valid_day,
        valid.expires_at,
        valid.remind_at,
    )
    expected = {
        SPRING: (bucharest(2027, 4, 9, 0, 0), bucharest(2027, 4, 6, 9, 0), "2027-04-08"),
        AUTUMN: (bucharest(2027, 11, 4, 0, 0), bucharest(2027, 11, 1, 9, 0), "2027-11-03"),
    }[sent_at]
    assert await tm.pending(qdb) == {
        f"quotation:{quote.id}:expire": expected[0],
        f"quotation:{quote.id}:remind": expected[1],
    }
    assert str(quote.valid_until) == expected[2]
    if sent_at == SPRING:  # 00:00 and 09:00 in summer time, +03:00
        assert (expected[0].hour, expected[1].hour) == (21, 6)
    else:  # winter time, +02:00
        assert (expected[0].hour, expected[1].hour) == (22, 7)


async def test_the_reminder_and_the_expiry_fire_once_each_at_their_instants(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(SPRING)
    hub, rec, _ = await start(start_hub, tm)
    await priced_catalog(hub, qdb)
    quote = await sent_quote(qdb, tm)
    assert quote.remind_at is not None and quote.expires_at is not None

    await tm.travel_to(qdb, quote.remind_at - MINUTE)
    await settled(hub, qdb)
    assert await notified(qdb) == 0

    await tm.travel_to(qdb, quote.remind_at)
    [note] = await eventually(lambda: rec.of(NotifyCustomer), what="the reminder")
    assert note.notification_key == f"quotation:{quote.id}:expiring"
    assert note.template == "quotation_expiring"
    assert (note.customer_id, note.email, note.language) == ("C-42", "ioana@lumina.ro", "ro")
    assert note.data["number"] == quote.number and note.data["valid_until"] == "2027-04-08"
    reminded = await store.get(qdb, quote.id)
    assert reminded.reminded_at is not None and reminded.reminded_at >= quote.remind_at

    await tm.travel_to(qdb, quote.expires_at - MINUTE)
    await settled(hub, qdb)
    assert (await store.get(qdb, quote.id)).status == "sent"

    await tm.travel_to(qdb, quote.expires_at)
    await eventually(
        lambda: _status(qdb, quote.id, "expired"), what="the quote expired at midnight"
    )
    await settled(hub, qdb)
    assert await notified(qdb) == 1
    assert await history(qdb, quote.id) == [
        (None, "draft", ACTOR),
        ("draft", "sent", ACTOR),
        ("sent", "expired", "system"),
    ]
    [event] = rec.of(QuotationStatusChanged, to_status="expired")
    assert (event.by, str(event.valid_until)) == ("system", "2027-04-08")
    assert await tm.pending(qdb) == {}


async def test_accepting_cancels_the_reminder_and_keeps_the_expiry(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(SPRING)
    hub, rec, _ = await start(start_hub, tm)
    await priced_catalog(hub, qdb)
    quote = await sent_quote(qdb, tm)
    assert quote.expires_at is not None and quote.remind_at is not None
    await change(qdb, lambda c: lifecycle.accept(c, quote.id, by=ACTOR, now=tm.now()), tm)
    assert await tm.pending(qdb) == {f"quotation:{quote.id}:expire": quote.expires_at}

    await tm.travel_to(qdb, quote.remind_at + MINUTE)
    await settled(hub, qdb)
    assert await notified(qdb) == 0 and not rec.of(NotifyCustomer)

    await tm.travel_to(qdb, quote.expires_at)
    await eventually(lambda: _status(qdb, quote.id, "expired"), what="accepted, then expired")
    assert [h[1] for h in await history(qdb, quote.id)] == ["draft", "sent", "accepted", "expired"]


async def test_rejecting_cancels_both_timers(start_hub: StartHub, qdb: asyncpg.Connection) -> None:
    tm = TimeMachine(SPRING)
    hub, rec, _ = await start(start_hub, tm)
    await priced_catalog(hub, qdb)
    quote = await sent_quote(qdb, tm)
    assert quote.expires_at is not None
    await change(
        qdb, lambda c: lifecycle.reject(c, quote.id, by=ACTOR, reason="no budget", now=tm.now()), tm
    )
    assert await tm.pending(qdb) == {}
    await tm.travel_to(qdb, quote.expires_at + MINUTE)
    await settled(hub, qdb)
    assert await notified(qdb) == 0 and not rec.of(NotifyCustomer)
    assert await history(qdb, quote.id) == [
        (None, "draft", ACTOR),
        ("draft", "sent", ACTOR),
        ("sent", "rejected", ACTOR),
    ]
    assert (
        await qdb.fetchval("SELECT reason FROM quotation_history WHERE to_status = 'rejected'")
        == "no budget"
    )


async def test_timers_survive_restarts_and_fire_once(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(SPRING)
    hub, _, stop = await start(start_hub, tm)
    await priced_catalog(hub, qdb)
    quote = await sent_quote(qdb, tm)
    assert quote.remind_at is not None and quote.expires_at is not None
    await stop()

    await tm.travel_to(qdb, quote.remind_at + MINUTE)  # due while no hub runs
    hub, second, stop = await start(start_hub, tm)
    await eventually(lambda: second.of(NotifyCustomer), what="the reminder after a restart")
    await settled(hub, qdb)
    await stop()

    hub, third, stop = await start(start_hub, tm)
    await settled(hub, qdb)
    assert not third.of(NotifyCustomer)
    await tm.travel_to(qdb, quote.expires_at + MINUTE)
    await eventually(lambda: _status(qdb, quote.id, "expired"), what="expired after restarts")
    await settled(hub, qdb)
    await stop()

    hub, fourth, _ = await start(start_hub, tm)
    await settled(hub, qdb)
    assert not fourth.of(NotifyCustomer) and not fourth.of(QuotationStatusChanged)
    assert len(second.of(NotifyCustomer)) == 1
    assert await notified(qdb) == 1
    assert [h[1] for h in await history(qdb, quote.id)] == ["draft", "sent", "expired"]
    assert await tm.pending(qdb) == {}


async def test_a_repeated_timer_changes_nothing(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(SPRING)
    hub, rec, _ = await start(start_hub, tm)
    await priced_catalog(hub, qdb)
    quote = await sent_quote(qdb, tm)
    assert quote.remind_at is not None and quote.expires_at is not None
    await tm.travel_to(qdb, quote.remind_at)
    await eventually(lambda: rec.of(NotifyCustomer), what="the reminder")
    key = f"quotation:{quote.id}"
    await send(hub, RemindQuotation(quotation_id=quote.id, expires_at=quote.expires_at), key=key)
    await settled(hub, qdb)
    assert await notified(qdb) == 1

    await tm.travel_to(qdb, quote.expires_at)
    await eventually(lambda: _status(qdb, quote.id, "expired"), what="expired")
    await send(hub, ExpireQuotation(quotation_id=quote.id, expires_at=quote.expires_at), key=key)
    await send(hub, RemindQuotation(quotation_id=quote.id, expires_at=quote.expires_at), key=key)
    await settled(hub, qdb)
    assert await notified(qdb) == 1
    assert len(rec.of(QuotationStatusChanged, to_status="expired")) == 1
    assert [h[1] for h in await history(qdb, quote.id)] == ["draft", "sent", "expired"]


async def test_an_early_timer_waits_for_its_instant_and_a_foreign_one_is_ignored(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(SPRING)
    hub, _, _ = await start(start_hub, tm)
    await priced_catalog(hub, qdb)
    quote = await sent_quote(qdb, tm)
    assert quote.remind_at is not None and quote.expires_at is not None
    key = f"quotation:{quote.id}"
    await send(hub, RemindQuotation(quotation_id=quote.id, expires_at=quote.expires_at), key=key)
    await send(hub, ExpireQuotation(quotation_id=quote.id, expires_at=quote.expires_at), key=key)
    other = quote.expires_at - timedelta(days=5)
    await send(hub, ExpireQuotation(quotation_id=quote.id, expires_at=other), key=key)
    await settled(hub, qdb)
    assert await notified(qdb) == 0
    assert (await store.get(qdb, quote.id)).status == "sent"
    assert await tm.pending(qdb) == {
        f"quotation:{quote.id}:expire": quote.expires_at,
        f"quotation:{quote.id}:remind": quote.remind_at,
    }


async def test_a_quote_too_short_for_a_reminder_gets_none(
    start_hub: StartHub, qdb: asyncpg.Connection
) -> None:
    tm = TimeMachine(SPRING)
    hub, _, _ = await start(start_hub, tm)
    await priced_catalog(hub, qdb)
    quote = await sent_quote(qdb, tm, validity_days=2)
    assert quote.remind_at is None
    assert await tm.pending(qdb) == {f"quotation:{quote.id}:expire": bucharest(2027, 3, 27, 0, 0)}


async def _status(conn: asyncpg.Connection, quotation_id: str, status: str) -> bool:
    return bool((await store.get(conn, quotation_id)).status == status)

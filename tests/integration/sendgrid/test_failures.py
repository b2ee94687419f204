"""SendGrid failing: server errors, an outage behind the breaker, answers lost after accepting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from connectors.sendgrid import store
from connectors.sendgrid.messages import EmailAccepted, EmailFailed
from connectors.sendgrid.simulator import SendGridSimulator
from hub.breaker import Breaker
from tests.integration.sendgrid.support import (
    Outcomes,
    email,
    send,
    settled,
    webhook_batch,
)
from tests.support import eventually


async def test_server_errors_then_recovery_send_once(
    start_hub: Any, sim: tuple[SendGridSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.faults.fail_next = 5  # more than one handler's attempts: a durable retry follows
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(attempts=2, breaker_fail_max=50), outcomes)
    await send(hub, email("d-500"))

    assert isinstance(await settled(outcomes, "d-500"), EmailAccepted)
    assert [r.status for r in simulator.requests] == [500] * 5 + [202]
    assert len(simulator.sent_to("d-500")) == 1


async def test_outage_opens_the_breaker_loses_nothing_and_sends_each_once(
    start_hub: Any,
    sim: tuple[SendGridSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    simulator.outage(3600)
    breaker = Breaker("sendgrid", fail_max=2, reset_timeout=0.3)
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(breaker=breaker, attempts=1), outcomes)
    ids = [f"d-outage-{i}" for i in range(4)]
    for delivery_id in ids:
        await send(hub, email(delivery_id))

    await eventually(lambda: breaker.state == "open", what="the breaker open")
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT count(*) = 4 FROM sendgrid_deliveries WHERE state = 'waiting'"
        ),
        what="every delivery waiting for SendGrid",
    )

    async def held_back() -> bool:
        tries = await db_conn.fetchval("SELECT sum(attempts) FROM sendgrid_deliveries")
        return bool(tries - len(simulator.requests) >= len(ids))

    await eventually(held_back, what="tries the open breaker kept from SendGrid")
    simulator.faults.outage_until = 0.0  # SendGrid is back

    await eventually(lambda: len(outcomes.accepted) == len(ids), what="every email accepted")
    assert all(len(simulator.sent_to(d)) == 1 for d in ids)
    assert outcomes.failed == []


async def test_outage_longer_than_give_up_after_fails_the_email_not_permanently(
    start_hub: Any, sim: tuple[SendGridSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.outage(3600)
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(give_up_after=0.5, breaker_fail_max=50), outcomes)
    await send(hub, email("d-gone"))

    failed = await settled(outcomes, "d-gone")
    assert isinstance(failed, EmailFailed)
    assert not failed.permanent and failed.status == 500
    assert failed.reason.startswith("gave up: sendgrid: HTTP 500")
    assert simulator.accepted == [] and len(simulator.requests) > 1


async def test_dropped_answer_with_a_processed_event_sends_no_second_email(
    start_hub: Any,
    sim: tuple[SendGridSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    simulator.faults.drop_next = 1
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(reconcile_after=60.0), outcomes)
    await send(hub, email("d-drop"))
    # the state is committed before the handler's transaction writes the reconcile timer: wait
    # for both, or the event below may arrive before there is a timer to cancel
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT state = 'unknown' FROM sendgrid_deliveries WHERE delivery_id = 'd-drop' "
            "AND EXISTS (SELECT 1 FROM hub_timers)"
        ),
        what="the outcome unknown and its reconcile timer set",
    )
    [mail] = simulator.sent_to("d-drop")  # SendGrid did accept it
    await webhook_batch(hub, simulator, simulator.events_for(mail, "processed", "delivered"))

    accepted = await settled(outcomes, "d-drop")
    assert isinstance(accepted, EmailAccepted) and accepted.message_id == mail.message_id
    assert await db_conn.fetchval("SELECT count(*) FROM hub_timers") == 0  # reconcile cancelled
    await send(hub, email("d-after"))
    await settled(outcomes, "d-after")
    assert len(simulator.sent_to("d-drop")) == 1
    assert len(simulator.requests) == 2


async def test_dropped_answer_without_an_event_is_sent_again_once(
    start_hub: Any,
    sim: tuple[SendGridSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    simulator.faults.drop_next = 1
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(reconcile_after=0.5), outcomes)
    await send(hub, email("d-lost"))

    accepted = await settled(outcomes, "d-lost")
    assert isinstance(accepted, EmailAccepted)
    # at most once within the window, then exactly one resend: SendGrid holds two, by design
    assert len(simulator.sent_to("d-lost")) == 2
    assert accepted.message_id == simulator.sent_to("d-lost")[1].message_id
    assert [r.status for r in simulator.requests] == [None, 202]
    assert (
        await db_conn.fetchval(
            "SELECT attempts FROM sendgrid_deliveries WHERE delivery_id = 'd-lost'"
        )
        == 2
    )
    # a late event of the first email changes nothing
    await webhook_batch(
        hub, simulator, simulator.events_for(simulator.sent_to("d-lost")[0], "delivered")
    )
    await send(hub, email("d-next"))
    await settled(outcomes, "d-next")
    assert [a.delivery_id for a in outcomes.accepted].count("d-lost") == 1


async def test_timeout_after_accepting_is_reconciled_by_the_event(
    start_hub: Any,
    sim: tuple[SendGridSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    simulator.faults.hold_next = 1  # accepted, answered only after the client gave up
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(timeout=0.3, reconcile_after=60.0), outcomes)
    await send(hub, email("d-slow"))
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT state = 'unknown' FROM sendgrid_deliveries WHERE delivery_id = 'd-slow'"
        ),
        what="the outcome unknown",
    )
    [mail] = simulator.sent_to("d-slow")
    await webhook_batch(hub, simulator, simulator.events_for(mail, "delivered"))

    accepted = await settled(outcomes, "d-slow")
    assert isinstance(accepted, EmailAccepted) and accepted.message_id == mail.message_id
    assert len(simulator.requests) == 1


async def test_crash_between_request_and_record_sends_nothing_blindly(
    start_hub: Any,
    sim: tuple[SendGridSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    # what a crash leaves: the request recorded as made, its answer never recorded
    await store.claim_new(db_conn, email("d-crash"))
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(reconcile_after=60.0), outcomes)
    await send(hub, email("d-crash"))  # the redelivered command
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT state = 'unknown' FROM sendgrid_deliveries WHERE delivery_id = 'd-crash'"
        ),
        what="the outcome unknown",
    )
    assert simulator.requests == []
    event = {
        "event": "processed",
        "sg_message_id": "W86EgYT6SQKk0lRflfLRsA.filter0001.1.0",
        "sg_event_id": "ZXZlbnQ",
        "delivery_id": "d-crash",
        "email": "ioana@lumina.ro",
        "timestamp": 1764370000,
    }
    await webhook_batch(hub, simulator, [event])

    accepted = await settled(outcomes, "d-crash")
    assert isinstance(accepted, EmailAccepted)
    assert accepted.message_id == "W86EgYT6SQKk0lRflfLRsA"
    assert simulator.requests == []

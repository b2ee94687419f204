"""Meta failing: an outage behind the breaker, an answer lost after accepting, webhooks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import msgspec
import pytest

from connectors.whatsapp import webhooks
from connectors.whatsapp.messages import (
    SendWhatsApp,
    WebhookReceived,
    WhatsAppAccepted,
    WhatsAppFailed,
)
from connectors.whatsapp.simulator import WhatsAppSimulator
from hub.breaker import Breaker
from hub.edge.webhooks import SignatureError
from tests.integration.whatsapp.support import Outcomes, send, settled
from tests.support import eventually

TO = "40744123456"


def template(delivery_id: str) -> SendWhatsApp:
    return SendWhatsApp(
        delivery_id=delivery_id, to=TO, template="order_update", parameters=("A", "B")
    )


async def test_an_outage_opens_the_breaker_loses_nothing_and_sends_each_once(
    start_hub: Any,
    sim: tuple[WhatsAppSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    simulator.fail_status = 503
    breaker = Breaker("whatsapp", fail_max=2, reset_timeout=0.3)
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(breaker=breaker), outcomes)
    ids = [f"d-outage-{i}" for i in range(4)]
    for delivery_id in ids:
        await send(hub, template(delivery_id))

    await eventually(lambda: breaker.state == "open", what="the breaker open")
    await eventually(
        lambda: db_conn.fetchval(
            "SELECT count(*) = 4 FROM whatsapp_deliveries WHERE state = 'waiting'"
        ),
        what="every delivery waiting for Meta",
    )
    assert simulator.accepted == []
    simulator.fail_status = None

    for delivery_id in ids:
        assert isinstance(await settled(outcomes, delivery_id), WhatsAppAccepted)
    assert sorted(m["body"]["to"] for m in simulator.accepted) == [TO] * 4
    assert len(simulator.accepted) == 4
    assert len(outcomes.seen) == 4


async def test_an_answer_lost_after_sending_is_never_sent_again(
    start_hub: Any,
    sim: tuple[WhatsAppSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    simulator.drop_after_accept = True
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(timeout=0.3), outcomes)
    await send(hub, template("d-lost"))

    outcome = await settled(outcomes, "d-lost")
    assert isinstance(outcome, WhatsAppFailed)
    assert (outcome.reason, outcome.permanent) == ("unavailable", False)
    assert outcome.detail.startswith("outcome unknown")
    await send(hub, template("d-lost"))  # a redelivered command
    simulator.drop_after_accept = False
    await send(hub, template("d-next"))
    await settled(outcomes, "d-next")
    assert [m["body"]["to"] for m in simulator.accepted] == [TO, TO]  # d-lost once, d-next
    assert sum(1 for o in outcomes.seen if o.delivery_id == "d-lost") == 1


def test_a_signed_inbound_notification_passes_the_edge_verification(
    sim: tuple[WhatsAppSimulator, str],
) -> None:
    simulator, _ = sim
    wamid, body = simulator.inbound_body(TO, "Bună ziua, aveți benzi LED de 5 m?")
    headers = {"X-Hub-Signature-256": simulator.sign(body), "Content-Type": "application/json"}

    webhooks.verifier(simulator.app_secret)(headers, body)  # raises when the signature is wrong
    received = webhooks.message(headers, body).message
    assert isinstance(received, WebhookReceived)
    assert (received.message_ids, received.contact) == ((wamid,), TO)


def test_a_notification_signed_with_another_secret_is_refused(
    sim: tuple[WhatsAppSimulator, str],
) -> None:
    simulator, _ = sim
    _, body = simulator.inbound_body(TO, "Salut")
    headers = {"X-Hub-Signature-256": simulator.sign(body)}
    with pytest.raises(SignatureError, match="does not match"):
        webhooks.verifier("another-secret")(headers, body)


def test_status_notifications_carry_the_wamid_and_status(
    sim: tuple[WhatsAppSimulator, str],
) -> None:
    simulator, _ = sim
    simulator.accepted.append({"id": "wamid.A", "to": TO, "at": simulator.now, "body": {}})
    body = simulator.status_body("wamid.A", "failed", 131026)
    headers = {"X-Hub-Signature-256": simulator.sign(body)}
    webhooks.verifier(simulator.app_secret)(headers, body)
    received = webhooks.message(headers, body).message
    assert isinstance(received, WebhookReceived)
    assert (received.statuses, received.contact) == (("wamid.A:failed",), TO)


async def test_a_request_left_unanswered_by_a_crash_is_reported_unknown_not_resent(
    start_hub: Any,
    sim: tuple[WhatsAppSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    command = template("d-crash")
    await db_conn.execute(
        "INSERT INTO whatsapp_deliveries (delivery_id, state, request, attempts, updated_at) "
        "VALUES ($1, 'sending', $2, 1, now() - interval '1 hour')",
        command.delivery_id,
        msgspec.json.encode(command),
    )
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, command)  # the redelivery after the crash

    outcome = await settled(outcomes, "d-crash")
    assert isinstance(outcome, WhatsAppFailed)
    assert (outcome.reason, outcome.detail) == ("unavailable", "outcome unknown: no answer")
    assert simulator.requests == []

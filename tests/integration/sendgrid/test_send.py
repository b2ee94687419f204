"""SendEmail through the connector to the SendGrid simulator: fields, once only, refusals, 429."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from connectors.sendgrid.messages import EmailAccepted, EmailFailed
from connectors.sendgrid.simulator import SendGridSimulator
from tests.integration.sendgrid.support import PDF, Outcomes, email, send, settled, state
from tests.support import eventually


async def test_email_with_pdf_reaches_sendgrid_with_its_fields(
    start_hub: Any, sim: tuple[SendGridSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, email("d-pdf"))

    accepted = await settled(outcomes, "d-pdf")
    assert isinstance(accepted, EmailAccepted)
    [mail] = simulator.sent_to("d-pdf")
    assert accepted.message_id == mail.message_id and len(mail.message_id) == 22
    assert mail.to == ["ioana@lumina.ro"]
    assert mail.from_email == "comenzi@ledux.ro"
    assert mail.subject == "Factura LDX-2026-00042"
    assert list(mail.content) == ["text/plain", "text/html"]
    assert mail.attachments == [("LDX-2026-00042.pdf", "application/pdf", PDF)]
    assert mail.categories == ["invoice_issued"]
    assert mail.custom_args == {"notification_id": "n-d-pdf", "delivery_id": "d-pdf"}
    assert mail.body["attachments"][0]["disposition"] == "attachment"


async def test_same_send_email_twice_sends_once(
    start_hub: Any,
    sim: tuple[SendGridSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, email("d-twice"))
    await settled(outcomes, "d-twice")
    await send(hub, email("d-twice"))  # a new message (new id): the inbox cannot catch it
    await send(hub, email("d-other"))  # sent after the repeat: once it is done, so is the repeat
    await settled(outcomes, "d-other")

    assert len(simulator.sent_to("d-twice")) == 1
    assert len(simulator.requests) == 2
    assert [a.delivery_id for a in outcomes.accepted].count("d-twice") == 1
    assert await state(db_conn, "d-twice") == "accepted"


async def test_invalid_api_key_fails_permanently_without_retry(
    start_hub: Any, sim: tuple[SendGridSimulator, str], connector: Callable[..., Any]
) -> None:
    from hub.settings import Secret

    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(api_key=Secret("SG.revoked")), outcomes)
    await send(hub, email("d-key"))

    failed = await settled(outcomes, "d-key")
    assert isinstance(failed, EmailFailed)
    assert failed.permanent and failed.status == 401
    assert "The provided authorization grant is invalid, expired, or revoked" in failed.reason
    assert "SG.revoked" not in failed.reason
    assert len(simulator.requests) == 1 and simulator.accepted == []


async def test_refused_body_fails_permanently_naming_the_field(
    start_hub: Any, sim: tuple[SendGridSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(from_email="vânzări@ledux.ro"), outcomes)
    await send(hub, email("d-unicode"))

    failed = await settled(outcomes, "d-unicode")
    assert isinstance(failed, EmailFailed) and failed.permanent and failed.status == 400
    assert failed.reason.startswith("SendGrid refused the email (HTTP 400): from.email:")
    assert simulator.accepted == []


async def test_throttled_request_is_retried_and_sent_once(
    start_hub: Any, sim: tuple[SendGridSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.faults.fail_next, simulator.faults.fail_status = 1, 429
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, email("d-429"))

    assert isinstance(await settled(outcomes, "d-429"), EmailAccepted)
    assert [r.status for r in simulator.requests] == [429, 202]
    assert len(simulator.sent_to("d-429")) == 1


async def test_client_limit_keeps_requests_under_sendgrids_limit(
    start_hub: Any, sim: tuple[SendGridSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.per_second = 4
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(per_second=3.0, burst=1), outcomes)
    ids = [f"d-burst-{i}" for i in range(9)]
    for delivery_id in ids:
        await send(hub, email(delivery_id))

    await eventually(lambda: len(outcomes.accepted) == len(ids), what="every email accepted")
    assert [r.status for r in simulator.requests] == [202] * len(ids)  # never a 429
    assert sorted(a.custom_args["delivery_id"] for a in simulator.accepted) == sorted(ids)

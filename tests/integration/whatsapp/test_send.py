"""The connector against the simulated Cloud API, on a real hub (PostgreSQL + the bus)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import asyncpg

from connectors.whatsapp.messages import SendWhatsApp, WhatsAppAccepted, WhatsAppFailed
from connectors.whatsapp.simulator import WhatsAppSimulator
from hub.settings import Secret
from tests.integration.whatsapp.conftest import TOKEN
from tests.integration.whatsapp.support import Outcomes, send, settled

TO = "40744123456"


def template(delivery_id: str, **kw: Any) -> SendWhatsApp:
    fields: dict[str, Any] = {
        "delivery_id": delivery_id,
        "to": TO,
        "template": "order_update",
        "parameters": ("LDX-42", "livrată"),
    }
    return SendWhatsApp(**{**fields, **kw})


async def test_a_template_reaches_meta_with_the_right_fields(
    start_hub: Any, sim: tuple[WhatsAppSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, template("d-template"))

    outcome = await settled(outcomes, "d-template")
    assert isinstance(outcome, WhatsAppAccepted)
    [message] = simulator.accepted
    assert (outcome.wamid, outcome.wa_id) == (message["id"], TO)
    assert message["body"]["template"] == {
        "name": "order_update",
        "language": {"code": "ro", "policy": "deterministic"},
        "components": [
            {
                "parameters": [
                    {"text": "LDX-42", "type": "text"},
                    {"text": "livrată", "type": "text"},
                ],
                "type": "body",
            }
        ],
    }
    assert simulator.requests[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"


async def test_a_text_reply_inside_the_window_carries_the_context(
    start_hub: Any, sim: tuple[WhatsAppSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    inbound, _ = simulator.inbound_body(TO, "Când vine comanda?")
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, SendWhatsApp(delivery_id="d-text", to=TO, text="Mâine.", reply_to=inbound))

    assert isinstance(await settled(outcomes, "d-text"), WhatsAppAccepted)
    body = simulator.accepted[0]["body"]
    assert body["text"] == {"body": "Mâine.", "preview_url": False}
    assert body["context"] == {"message_id": inbound}


async def test_a_repeated_command_sends_once(
    start_hub: Any,
    sim: tuple[WhatsAppSimulator, str],
    connector: Callable[..., Any],
    db_conn: asyncpg.Connection,
) -> None:
    simulator, _ = sim
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, template("d-twice"))
    await settled(outcomes, "d-twice")
    await send(hub, template("d-twice"))
    await send(hub, template("d-after"))  # handled after the repeat: its outcome proves it ran

    await settled(outcomes, "d-after")
    assert len(simulator.accepted) == 2
    assert sum(1 for o in outcomes.seen if o.delivery_id == "d-twice") == 1
    assert (
        await db_conn.fetchval(
            "SELECT attempts FROM whatsapp_deliveries WHERE delivery_id = 'd-twice'"
        )
        == 1
    )


async def test_free_text_outside_the_window_fails_for_re_engagement(
    start_hub: Any, sim: tuple[WhatsAppSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.inbound_body(TO, "Salut")
    simulator.advance(24 * 3600 + 1)
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, SendWhatsApp(delivery_id="d-late", to=TO, text="Revenim"))

    outcome = await settled(outcomes, "d-late")
    assert isinstance(outcome, WhatsAppFailed)
    assert (outcome.reason, outcome.permanent, outcome.code) == ("re_engagement", True, 131047)
    assert simulator.accepted == []


async def test_a_number_not_on_whatsapp_is_an_invalid_recipient(
    start_hub: Any, sim: tuple[WhatsAppSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.not_on_whatsapp.add("40744000000")
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, template("d-nobody", to="40744000000"))

    outcome = await settled(outcomes, "d-nobody")
    assert isinstance(outcome, WhatsAppFailed)
    assert (outcome.reason, outcome.permanent, outcome.code) == ("invalid_recipient", True, 131026)


async def test_a_template_with_missing_parameters_fails_as_template(
    start_hub: Any, sim: tuple[WhatsAppSimulator, str], connector: Callable[..., Any]
) -> None:
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, template("d-params", parameters=("LDX-42",)))

    outcome = await settled(outcomes, "d-params")
    assert isinstance(outcome, WhatsAppFailed)
    assert (outcome.reason, outcome.code) == ("template", 132000)
    assert "localizable_params" in outcome.detail


async def test_throughput_and_pair_limits_are_waited_out_and_sent_once(
    start_hub: Any, sim: tuple[WhatsAppSimulator, str], connector: Callable[..., Any]
) -> None:
    simulator, _ = sim
    simulator.fail_next.extend([(429, 130429), (400, 131056)])
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(), outcomes)
    await send(hub, template("d-limit"))

    assert isinstance(await settled(outcomes, "d-limit"), WhatsAppAccepted)
    assert len(simulator.requests) == 3
    assert len(simulator.accepted) == 1


async def test_a_wrong_token_is_an_auth_failure(
    start_hub: Any, sim: tuple[WhatsAppSimulator, str], connector: Callable[..., Any]
) -> None:
    outcomes = Outcomes()
    hub, _ = await start_hub(connector(access_token=Secret("expired")), outcomes)
    await send(hub, template("d-auth"))

    outcome = await settled(outcomes, "d-auth")
    assert isinstance(outcome, WhatsAppFailed)
    assert (outcome.reason, outcome.code, outcome.permanent) == ("auth", 190, True)


async def test_simulator_answers_graph_errors_as_json(sim: tuple[WhatsAppSimulator, str]) -> None:
    _, url = sim
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/v21.0/1000000001/messages", json={"messaging_product": "whatsapp"}
        ) as response,
    ):
        assert response.status == 401
        error = json.loads(await response.read())["error"]
    assert (error["code"], error["type"]) == (190, "OAuthException")

"""The simulator's own rules, over HTTP: the 24-hour window, the pair and throughput limits."""

from __future__ import annotations

from typing import Any

import aiohttp

from connectors.whatsapp.simulator import WhatsAppSimulator
from tests.integration.whatsapp.conftest import PHONE_NUMBER_ID, TOKEN

TO = "40744123456"


async def _post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/v21.0/{PHONE_NUMBER_ID}/messages", json=body, headers=headers
        ) as response,
    ):
        return response.status, await response.json()


def _text(to: str = TO) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "Da"}}


async def test_the_window_opens_with_an_inbound_message_and_closes_after_24_hours(
    sim: tuple[WhatsAppSimulator, str],
) -> None:
    simulator, url = sim
    assert (await _post(url, _text()))[1]["error"]["code"] == 131047
    simulator.inbound_body(TO, "Salut")
    status, answer = await _post(url, _text())
    assert status == 200 and answer["messages"][0]["id"].startswith("wamid.")
    assert answer["contacts"] == [{"input": TO, "wa_id": TO}]
    simulator.advance(24 * 3600 + 1)
    status, answer = await _post(url, _text())
    assert (status, answer["error"]["code"]) == (400, 131047)


async def test_pair_limit_then_allowed_once_the_interval_passed(
    sim: tuple[WhatsAppSimulator, str],
) -> None:
    simulator, url = sim
    simulator.pair_interval = 6.0
    simulator.inbound_body(TO, "Salut")
    assert (await _post(url, _text()))[0] == 200
    assert (await _post(url, _text()))[1]["error"]["code"] == 131056
    simulator.advance(6)
    assert (await _post(url, _text()))[0] == 200


async def test_throughput_limit_answers_429_with_130429(sim: tuple[WhatsAppSimulator, str]) -> None:
    simulator, url = sim
    simulator.per_second = 2
    for number in ("40744000001", "40744000002", "40744000003"):
        simulator.inbound_body(number, "Salut")
    assert (await _post(url, _text("40744000001")))[0] == 200
    assert (await _post(url, _text("40744000002")))[0] == 200
    status, answer = await _post(url, _text("40744000003"))
    assert (status, answer["error"]["code"]) == (429, 130429)


async def test_bodies_that_break_the_rules_are_refused(sim: tuple[WhatsAppSimulator, str]) -> None:
    _, url = sim
    long_text = {**_text(), "text": {"body": "x" * 4097}}
    assert (await _post(url, {**_text(), "messaging_product": "sms"}))[0] == 400
    assert (await _post(url, {**_text(), "to": "+40744"}))[0] == 400
    assert (await _post(url, long_text))[1]["error"]["code"] == 100
    unknown = {**_text(), "type": "template", "template": {"name": "nope", "language": {}}}
    assert (await _post(url, unknown))[1]["error"]["code"] == 132001

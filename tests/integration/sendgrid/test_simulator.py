"""The SendGrid simulator over HTTP answers as SendGrid does (status, error body, headers)."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from connectors.sendgrid import webhooks
from connectors.sendgrid.mail_rules import MAX_BYTES
from connectors.sendgrid.simulator import BAD_KEY, SendGridSimulator
from hub.edge.webhooks import SignatureError
from tests.integration.sendgrid.conftest import KEY

BODY: dict[str, Any] = {
    "personalizations": [
        {"to": [{"email": "ioana@lumina.ro"}], "custom_args": {"delivery_id": "x"}}
    ],
    "from": {"email": "comenzi@ledux.ro"},
    "subject": "Salut",
    "content": [{"type": "text/plain", "value": "Salut"}],
}


async def post(url: str, body: Any, key: str | None = KEY) -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + "/v3/mail/send", json=body, headers=headers) as r,
    ):
        payload = await r.json() if r.status != 202 else await r.read()
        return r.status, r.headers, payload


async def test_accepts_with_202_empty_body_and_a_message_id(
    sim: tuple[SendGridSimulator, str],
) -> None:
    simulator, url = sim
    simulator.per_second = 10
    status, headers, body = await post(url, BODY)
    assert (status, body) == (202, b"")
    assert headers["X-Message-Id"] == simulator.accepted[0].message_id
    assert headers["X-RateLimit-Limit"] == "10" and headers["X-RateLimit-Remaining"] == "9"
    assert int(headers["X-RateLimit-Reset"]) > 0


@pytest.mark.parametrize(
    ("key", "message"), [(None, "authorization required"), ("SG.wrong", BAD_KEY)]
)
async def test_refuses_a_missing_or_wrong_key_with_sendgrids_body(
    sim: tuple[SendGridSimulator, str], key: str | None, message: str
) -> None:
    simulator, url = sim
    status, _, body = await post(url, BODY, key=key)
    assert status == 401
    assert body == {"errors": [{"field": None, "message": message}]}
    assert simulator.accepted == []


async def test_refuses_a_body_breaking_a_rule_naming_the_field(
    sim: tuple[SendGridSimulator, str],
) -> None:
    simulator, url = sim
    status, _, body = await post(url, {**BODY, "personalizations": []})
    assert status == 400
    assert body["errors"][0]["field"] == "personalizations"
    status, _, body = await post(
        url, {**BODY, "attachments": [{"filename": "a.pdf", "content": "@@"}]}
    )
    assert (status, body["errors"][0]["field"]) == (400, "attachments.0.content")
    assert simulator.accepted == []


async def test_refuses_thirty_megabytes_with_413(sim: tuple[SendGridSimulator, str]) -> None:
    simulator, url = sim
    big = base64.b64encode(bytes(MAX_BYTES * 3 // 4 + 3)).decode()
    status, _, body = await post(
        url, {**BODY, "attachments": [{"filename": "a.bin", "content": big}]}
    )
    assert (status, body) == (413, {"errors": [{"field": None, "message": "content too large"}]})
    assert simulator.accepted == []


async def test_throttles_past_its_limit_with_429(sim: tuple[SendGridSimulator, str]) -> None:
    simulator, url = sim
    simulator.per_second = 2
    statuses = [(await post(url, BODY))[0] for _ in range(6)]
    assert 429 in statuses and statuses[0] == 202
    throttled = next(r for r in simulator.requests if r.status == 429)
    assert throttled.message_id is None
    assert len(simulator.accepted) == statuses.count(202)


async def test_delivers_signed_batches_a_receiver_can_verify(
    sim: tuple[SendGridSimulator, str],
) -> None:
    simulator, url = sim
    await post(url, BODY)
    verify = webhooks.verifier(webhooks.load_public_key(simulator.public_key), 300)
    received: list[bytes] = []

    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify(request.headers, body)
        except SignatureError:
            return web.Response(status=403)
        received.append(body)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/webhooks/sendgrid", receive)
    async with TestServer(app, host="127.0.0.1") as server:
        target = str(server.make_url("/webhooks/sendgrid"))
        events = simulator.events_for(simulator.accepted[0], "processed", "open", "click")
        assert await simulator.deliver_events(target, events) == 204
    [body] = received
    assert [e["event"] for e in msgspec.json.decode(body)] == ["processed", "open", "click"]

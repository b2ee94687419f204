"""A stand-in for the Graph API's ``POST /{version}/{phone_number_id}/messages`` and its webhooks.

It enforces what the real API enforces for the hub's use (Bearer token, body rules, approved
templates and their parameter counts, the 24-hour window, throughput and pair limits, numbers
not on WhatsApp), answers with Meta's status codes and Graph error bodies, and plays the customer:
signed inbound messages and status callbacks in Meta's payload shape. Its clock can be set.
Run it alone with ``python -m connectors.whatsapp.simulator --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from aiohttp import web

WINDOW = timedelta(hours=24)


def wamid() -> str:
    """A message id shaped like Meta's ("wamid." and base64)."""
    return "wamid." + base64.b64encode(secrets.token_bytes(30)).decode("ascii")


def error_body(code: int, message: str, details: str = "", kind: str = "OAuthException") -> Any:
    """Meta's Graph error object."""
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    error["fbtrace_id"] = secrets.token_urlsafe(12)
    return {"error": error}


@dataclass
class WhatsAppSimulator:
    """The simulated Cloud API; tests read ``accepted`` and ``requests`` and steer ``fail_*``."""

    token: str
    phone_number_id: str = "1000000001"
    version: str = "v21.0"
    app_secret: str = "sim-app-secret"
    templates: dict[str, int] = field(default_factory=lambda: {"order_update": 2})
    not_on_whatsapp: set[str] = field(default_factory=set)
    per_second: int = 80
    pair_interval: float = 0.0  # seconds between two messages to one recipient; 0 = no limit
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    accepted: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    last_inbound: dict[str, datetime] = field(default_factory=dict)
    fail_status: int | None = None  # answer every request with this 5xx
    fail_next: deque[tuple[int, int]] = field(default_factory=deque)  # (HTTP status, code)
    latency: float = 0.0
    drop_after_accept: bool = False  # accept, then never answer (the caller times out)
    _window: deque[float] = field(default_factory=deque)  # monotonic seconds of accepts
    _last_to: dict[str, datetime] = field(default_factory=dict)
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        """Let held (dropped) requests finish, so the server can stop."""
        self._released.set()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{version}/{phone_number_id}/messages", self._send)
        return app

    async def _send(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        self.requests.append({"headers": dict(request.headers), "body": raw})
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.fail_status is not None:
            return web.json_response(error_body(1, "Service unavailable"), status=self.fail_status)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, 190, "Invalid OAuth access token.")
        path = request.match_info
        if path["version"] != self.version or path["phone_number_id"] != self.phone_number_id:
            return _error(400, 100, "Unsupported post request.", kind="GraphMethodException")
        if self.fail_next:
            status, code = self.fail_next.popleft()
            return _error(status, code, f"Simulated error {code}")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, 100, "Invalid parameter", "request body is not JSON")
        refusal = self._check(body)
        if refusal is not None:
            return refusal
        to = body["to"]
        self._window.append(time.monotonic())
        self._last_to[to] = self.now
        message = {"id": wamid(), "to": to, "at": self.now, "body": body}
        self.accepted.append(message)
        if self.drop_after_accept:
            await self._released.wait()  # the caller's timeout ends the request
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": message["id"]}],
            }
        )

    def _check(self, body: Any) -> web.Response | None:
        """The first rule ``body`` breaks, as Meta answers it; None if it may be sent."""
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return _error(400, 100, "Invalid parameter", "messaging_product must be whatsapp")
        to = body.get("to")
        if not isinstance(to, str) or not to.isdigit():
            return _error(400, 100, "Invalid parameter", "to must be a phone number (digits)")
        kind = body.get("type")
        if kind == "text":
            text = (body.get("text") or {}).get("body")
            if not isinstance(text, str) or not text or len(text) > 4096:
                return _error(400, 100, "Invalid parameter", "text.body: 1 to 4096 characters")
        elif kind == "template":
            template = body.get("template") or {}
            name = template.get("name")
            if name not in self.templates:
                return _error(400, 132001, "Template name does not exist in the translation")
            given = sum(len(c.get("parameters", [])) for c in template.get("components", []))
            if given != self.templates[name]:
                expected = self.templates[name]
                detail = f"body: number of localizable_params ({given}) does not match {expected}"
                return _error(400, 132000, "Number of parameters does not match", detail)
        else:
            return _error(400, 100, "Invalid parameter", "type must be text or template")
        while self._window and time.monotonic() - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) >= self.per_second:
            return _error(429, 130429, "Rate limit hit")
        last = self._last_to.get(to)
        if self.pair_interval and last and (self.now - last).total_seconds() < self.pair_interval:
            return _error(400, 131056, "(Business Account, Consumer Account) pair rate limit hit")
        if to in self.not_on_whatsapp:
            return _error(400, 131026, "Message undeliverable")
        inbound = self.last_inbound.get(to)
        if kind == "text" and (inbound is None or self.now - inbound > WINDOW):
            detail = "Message failed to send because more than 24 hours have passed"
            return _error(400, 131047, "Re-engagement message", detail)
        return None

    def advance(self, seconds: float) -> None:
        """Move the simulator's clock forward."""
        self.now += timedelta(seconds=seconds)

    def notification(self, value: dict[str, Any]) -> bytes:
        """A notification body in Meta's shape for one ``value``."""
        value = {
            "messaging_product": "whatsapp",
            "metadata": {
                "display_phone_number": "40700000000",
                "phone_number_id": self.phone_number_id,
            },
            **value,
        }
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA_ID", "changes": [{"value": value, "field": "messages"}]}],
        }
        return json.dumps(payload).encode()

    def sign(self, body: bytes) -> str:
        """``X-Hub-Signature-256`` for ``body``."""
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return f"sha256={digest}"

    def inbound_body(self, from_number: str, text: str, name: str = "Client") -> tuple[str, bytes]:
        """Record an inbound message (opening the window); its wamid and notification body."""
        self.last_inbound[from_number] = self.now
        mid = wamid()
        body = self.notification(
            {
                "contacts": [{"profile": {"name": name}, "wa_id": from_number}],
                "messages": [
                    {
                        "from": from_number,
                        "id": mid,
                        "timestamp": str(int(self.now.timestamp())),
                        "type": "text",
                        "text": {"body": text},
                    }
                ],
            }
        )
        return mid, body

    def status_body(self, message_id: str, status: str, code: int | None = None) -> bytes:
        """A status notification (sent, delivered, read, failed with ``errors``)."""
        message = next(m for m in self.accepted if m["id"] == message_id)
        entry: dict[str, Any] = {
            "id": message_id,
            "status": status,
            "timestamp": str(int(self.now.timestamp())),
            "recipient_id": message["to"],
        }
        if status == "failed":
            entry["errors"] = [{"code": code or 131026, "title": "Message undeliverable"}]
        return self.notification({"statuses": [entry]})

    async def post(self, url: str, body: bytes) -> int:
        """POST a signed notification to ``url`` (as Meta does); the HTTP status."""
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": self.sign(body)}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            return response.status

    async def inbound(self, url: str, from_number: str, text: str) -> str:
        """The customer writes: record it and deliver the signed webhook; the inbound wamid."""
        mid, body = self.inbound_body(from_number, text)
        await self.post(url, body)
        return mid


def _error(
    status: int, code: int, message: str, details: str = "", kind: str = "OAuthException"
) -> web.Response:
    return web.json_response(error_body(code, message, details, kind), status=status)


def main() -> None:
    """Serve the simulator on a loopback port."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8026)
    parser.add_argument("--token", default="sim-token")
    args = parser.parse_args()
    web.run_app(WhatsAppSimulator(token=args.token).app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()

"""A local stand-in for SendGrid's Mail Send and signed Event Webhook (tests, sandbox, demo).

It answers like SendGrid: Bearer auth (401 with SendGrid's error body), the spec's rules on the
body (400 naming the field), 413 past 30 MB, 202 with an empty body and ``X-Message-Id``,
``X-RateLimit-*`` headers and 429 past ``per_second``. It keeps what it accepted and every
request it saw (:attr:`SendGridSimulator.accepted`, :attr:`~SendGridSimulator.requests`), can be
told to fail (:class:`Faults`), and signs Event Webhook batches with its own P-256 key, whose
public half it shows as SendGrid does (Base64 DER SubjectPublicKeyInfo).

Sandbox: ``python -m connectors.sendgrid.simulator --port 8025 --api-key dev``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from connectors.sendgrid.mail_rules import MAX_BYTES, validate
from connectors.sendgrid.sim_events import build_events, sign_batch

BAD_KEY = "The provided authorization grant is invalid, expired, or revoked"


@dataclass
class Accepted:
    """An email SendGrid queued: what a recipient would get, and its message id."""

    message_id: str
    to: list[str]
    subject: str | None
    from_email: str
    content: dict[str, str]  # MIME type -> value
    attachments: list[tuple[str, str | None, bytes]]  # filename, type, decoded bytes
    categories: list[str]
    custom_args: dict[str, str]
    body: dict[str, Any]


@dataclass
class Request:
    """One request as the simulator saw it."""

    at: float  # time.time() on arrival
    status: int | None  # None: no answer was given (dropped or held)
    message_id: str | None = None


@dataclass
class Faults:
    """Failures to act out; counters go down as requests use them."""

    latency: float = 0.0  # seconds before answering anything
    fail_next: int = 0  # answer fail_status to this many requests
    fail_status: int = 500
    outage_until: float = 0.0  # time.time() until which every request gets 500
    drop_next: int = 0  # accept, then close the connection without an answer
    hold_next: int = 0  # accept, then hold the answer for hold_seconds (a client timeout)
    hold_seconds: float = 30.0


@dataclass
class SendGridSimulator:
    """State of one simulated SendGrid account."""

    api_keys: set[str] = field(default_factory=lambda: {"SG.test-key"})
    per_second: int | None = None  # None: no rate limit
    verified_senders: set[str] | None = None  # None: any sender is verified
    faults: Faults = field(default_factory=Faults)
    accepted: list[Accepted] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    _window: tuple[int, int] = (0, 0)
    _key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    _released: asyncio.Event | None = None

    @property
    def public_key(self) -> str:
        """The verification key as SendGrid shows it (Base64 DER SubjectPublicKeyInfo)."""
        der = self._key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(der).decode("ascii")

    def sent_to(self, delivery_id: str) -> list[Accepted]:
        """The accepted emails carrying ``delivery_id`` in their custom args."""
        return [a for a in self.accepted if a.custom_args.get("delivery_id") == delivery_id]

    def outage(self, seconds: float) -> None:
        """Answer 500 to everything for ``seconds``."""
        self.faults.outage_until = time.time() + seconds

    def release(self) -> None:
        """End every held answer now (test teardown)."""
        if self._released is not None:
            self._released.set()

    # --- Mail Send --------------------------------------------------------------------------

    async def mail_send(self, request: web.Request) -> web.StreamResponse:
        record = Request(at=time.time(), status=None)
        self.requests.append(record)
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        response = await self._answer(request, record)
        if response is not None:
            record.status = response.status
            return response
        return await self._misbehave(request, record)

    async def _answer(self, request: web.Request, record: Request) -> web.Response | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return _error(401, "authorization required")
        if auth.removeprefix("Bearer ") not in self.api_keys:
            return _error(401, BAD_KEY)
        limited = self._rate_limit()
        if limited is not None and limited.status == 429:
            return limited
        if self.faults.fail_next > 0:
            self.faults.fail_next -= 1
            return _error(self.faults.fail_status, "internal server error", headers=limited)
        if time.time() < self.faults.outage_until:
            return _error(500, "internal server error", headers=limited)
        if (request.content_length or 0) >= MAX_BYTES:
            return _error(413, "content too large", headers=limited)
        raw = await request.read()
        if len(raw) >= MAX_BYTES:
            return _error(413, "content too large", headers=limited)
        try:
            body = msgspec.json.decode(raw)
        except msgspec.DecodeError:
            return _error(400, "Bad Request", field=None, headers=limited)
        problem = validate(body, now=time.time())
        if problem is not None:
            return _error(400, problem.message, field=problem.field, headers=limited)
        sender = body["from"]["email"]
        if self.verified_senders is not None and sender not in self.verified_senders:
            return _error(
                403,
                "The from address does not match a verified Sender Identity. Mail cannot be "
                "sent until this error is resolved.",
                field="from",
                headers=limited,
            )
        record.message_id = self._accept(body).message_id
        if self.faults.drop_next or self.faults.hold_next:
            return None
        headers = dict(limited.headers) if limited is not None else {}
        headers["X-Message-Id"] = record.message_id
        return web.Response(status=202, headers=headers)

    async def _misbehave(self, request: web.Request, record: Request) -> web.StreamResponse:
        if self.faults.drop_next:
            self.faults.drop_next -= 1
            if request.transport is not None:
                request.transport.abort()  # the client sees the connection drop, no status
            return web.Response(status=202)  # never reaches the client
        self.faults.hold_next -= 1
        self._released = self._released or asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._released.wait(), self.faults.hold_seconds)
        record.status = 202
        return web.Response(status=202, headers={"X-Message-Id": record.message_id or ""})

    def _rate_limit(self) -> web.Response | None:
        """SendGrid's headers; a 429 past ``per_second`` in this second's window."""
        if self.per_second is None:
            return None
        now = int(time.time())
        start, used = self._window
        if start != now:
            start, used = now, 0
        used += 1
        self._window = (start, used)
        headers = {
            "X-RateLimit-Limit": str(self.per_second),
            "X-RateLimit-Remaining": str(max(0, self.per_second - used)),
            "X-RateLimit-Reset": str(start + 1),
        }
        if used > self.per_second:
            return _error(429, "too many requests", headers=web.Response(headers=headers))
        return web.Response(headers=headers)

    def _accept(self, body: dict[str, Any]) -> Accepted:
        person = body["personalizations"][0]
        custom = {**(body.get("custom_args") or {}), **(person.get("custom_args") or {})}
        email = Accepted(
            message_id=secrets.token_urlsafe(16)[:22],
            to=[t["email"] for p in body["personalizations"] for t in p["to"]],
            subject=person.get("subject", body.get("subject")),
            from_email=body["from"]["email"],
            content={c["type"]: c["value"] for c in body.get("content", [])},
            attachments=[
                (a["filename"], a.get("type"), base64.b64decode(a["content"]))
                for a in body.get("attachments", [])
            ],
            categories=list(body.get("categories", [])),
            custom_args=custom,
            body=body,
        )
        self.accepted.append(email)
        return email

    # --- Event Webhook ----------------------------------------------------------------------

    def events_for(self, email: Accepted, *kinds: str, **extra: Any) -> list[dict[str, Any]]:
        """Events of ``kinds`` for ``email``, shaped like SendGrid's (custom args at the top)."""
        return build_events(
            email=email.to[0],
            message_id=email.message_id,
            categories=email.categories,
            custom_args=email.custom_args,
            kinds=kinds,
            extra=extra,
        )

    def sign(
        self, events: list[dict[str, Any]], *, timestamp: int | None = None
    ) -> tuple[dict[str, str], bytes]:
        """The headers and raw body of a signed batch (``timestamp + body``, ECDSA/SHA-256)."""
        return sign_batch(self._key, events, timestamp)

    async def deliver_events(self, url: str, events: list[dict[str, Any]]) -> int:
        """POST a signed batch to ``url``; the receiver's status."""
        headers, body = self.sign(events)
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as r,
        ):
            return r.status


def _error(
    status: int,
    message: str,
    *,
    field: str | None = None,
    headers: web.Response | None = None,
) -> web.Response:
    body = {"errors": [{"field": field, "message": message}]}
    extra = dict(headers.headers) if headers is not None else {}
    extra.pop("Content-Type", None)
    extra.pop("Content-Length", None)
    return web.json_response(body, status=status, headers=extra)


def create_app(sim: SendGridSimulator | None = None) -> web.Application:
    """The simulator's aiohttp app (its state under ``app[SIMULATOR]``)."""
    sim = sim or SendGridSimulator()
    app = web.Application(client_max_size=MAX_BYTES + 1024 * 1024)
    app[SIMULATOR] = sim
    app.router.add_post("/v3/mail/send", sim.mail_send)
    return app


SIMULATOR = web.AppKey("sendgrid_simulator", SendGridSimulator)


def main() -> None:
    """Run on a loopback port (sandbox mode)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--api-key", default="SG.test-key")
    parser.add_argument("--per-second", type=int, default=None)
    args = parser.parse_args()
    sim = SendGridSimulator(api_keys={args.api_key}, per_second=args.per_second)
    print(f"SendGrid simulator on http://{args.host}:{args.port}; webhook key {sim.public_key}")
    web.run_app(create_app(sim), host=args.host, port=args.port)


if __name__ == "__main__":
    main()

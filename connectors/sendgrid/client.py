"""Typed client of SendGrid's Mail Send (``POST /v3/mail/send``).

SendGrid has no idempotency key: a request that timed out or lost its answer may have queued the
email. So the client never repeats a request whose outcome is unknown (``hub.http.Outbound`` with
``retry=False``); it repeats only what SendGrid certainly refused for now (429 and 5xx answers)
and raises :class:`~hub.http.PartnerUnavailable` with ``outcome_unknown`` for the rest. The
actor decides what an unknown outcome means (docs/SENDGRID.md).

The hub's ``delivery_id`` travels in ``personalizations[0].custom_args``: the spec types the
top-level ``custom_args`` as a string (a known quirk of ``tsg_mail_v3.json``), the
personalization's is an object, and SendGrid echoes either as top-level keys of every event.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from connectors.sendgrid.messages import SendEmail
from hub.errors import ConfigError
from hub.http import HttpResult, Outbound, PartnerUnavailable
from hub.settings import Secret

PATH = "/v3/mail/send"


class MailAddress(msgspec.Struct, frozen=True, omit_defaults=True):
    email: str
    name: str | None = None


class Content(msgspec.Struct, frozen=True):
    type: str
    value: str


class MailAttachment(msgspec.Struct, frozen=True, omit_defaults=True):
    content: str  # Base64
    filename: str
    disposition: str  # "attachment": the PDF is offered as a file, not shown inline
    type: str | None = None


class Personalization(msgspec.Struct, frozen=True, omit_defaults=True):
    to: tuple[MailAddress, ...]
    custom_args: dict[str, str] = {}


class MailSend(msgspec.Struct, frozen=True, omit_defaults=True):
    """The Mail Send body (the fields the hub uses)."""

    personalizations: tuple[Personalization, ...]
    from_: MailAddress = msgspec.field(name="from")
    subject: str
    content: tuple[Content, ...]
    attachments: tuple[MailAttachment, ...] = ()
    categories: tuple[str, ...] = ()


class ErrorItem(msgspec.Struct, frozen=True):
    message: str = ""
    field: str | None = None


class ErrorBody(msgspec.Struct, frozen=True):
    errors: tuple[ErrorItem, ...] = ()


_errors = msgspec.json.Decoder(ErrorBody)


class MailRefused(Exception):
    """SendGrid answered 4xx (not 429): the same request can never succeed."""

    def __init__(self, status: int, errors: tuple[ErrorItem, ...], text: str) -> None:
        super().__init__(f"SendGrid refused the email (HTTP {status}): {text}")
        self.status = status
        self.errors = errors
        self.text = text


class BadRequest(MailRefused):
    """400: the body broke a rule (the errors name the field)."""


class Unauthorized(MailRefused):
    """401: the API key is missing, invalid or revoked."""


class Forbidden(MailRefused):
    """403: no Mail Send permission, an unverified sender, or a temporary block."""


class TooLarge(MailRefused):
    """413: the email with its attachments is over SendGrid's 30 MB."""


_BY_STATUS: dict[int, type[MailRefused]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    413: TooLarge,
}


def build_body(msg: SendEmail, *, from_email: str, from_name: str | None) -> MailSend:
    """The Mail Send body for ``msg``: text/plain first, then text/html (SendGrid's order)."""
    content = tuple(
        Content(type=kind, value=value)
        for kind, value in (("text/plain", msg.text), ("text/html", msg.html))
        if value
    )
    return MailSend(
        personalizations=(
            Personalization(
                to=(MailAddress(email=msg.to_email, name=msg.to_name or None),),
                custom_args={**msg.custom_args, "delivery_id": msg.delivery_id},
            ),
        ),
        from_=MailAddress(email=from_email, name=from_name or None),
        subject=msg.subject,
        content=content,
        attachments=tuple(
            MailAttachment(
                content=base64.b64encode(a.content).decode("ascii"),
                filename=a.filename,
                disposition="attachment",
                type=a.content_type or None,
            )
            for a in msg.attachments
        ),
        categories=tuple(dict.fromkeys(msg.categories)),  # SendGrid wants them unique
    )


def refusal(result: HttpResult) -> MailRefused:
    """The typed error for a 4xx answer, carrying SendGrid's ``errors`` text."""
    try:
        errors = _errors.decode(result.body).errors
    except msgspec.DecodeError:
        errors = ()
    text = "; ".join(f"{e.field}: {e.message}" if e.field else e.message for e in errors)
    kind = _BY_STATUS.get(result.status, MailRefused)
    return kind(result.status, errors, text or result.body[:200].decode("utf-8", "replace"))


class MailClient:
    """Sends one Mail Send request (see the module docstring for what is repeated)."""

    def __init__(
        self,
        outbound: Outbound,
        api_key: Secret | None,
        *,
        attempts: int = 3,
        max_wait: float = 10.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.outbound = outbound
        self._api_key = api_key
        self._attempts = max(1, attempts)
        self._max_wait = max_wait
        self._sleep = sleep

    async def send(self, body: MailSend) -> str:
        """Send; the ``X-Message-Id``. Raises :class:`MailRefused` or ``PartnerUnavailable``."""
        if not self._api_key:
            raise ConfigError("missing setting CYPHER_SENDGRID_API_KEY: cannot send email")
        headers = {"Authorization": f"Bearer {self._api_key.reveal()}"}
        data = msgspec.json.encode(body)
        headers["Content-Type"] = "application/json"
        for attempt in range(1, self._attempts + 1):
            try:
                result = await self.outbound.request(
                    "POST", PATH, data=data, headers=headers, retry=False
                )
            except PartnerUnavailable as exc:
                wait = exc.retry_after if exc.retry_after is not None else 0.5 * 2**attempt
                if exc.outcome_unknown or attempt == self._attempts or wait > self._max_wait:
                    raise
                await self._sleep(wait)
                continue
            if result.status in (200, 202):
                return result.headers.get("X-Message-Id", "")
            raise refusal(result)
        raise AssertionError("unreachable")  # pragma: no cover

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.outbound.close()

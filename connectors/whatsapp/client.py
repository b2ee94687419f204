"""Typed client of the Cloud API's ``POST /{version}/{phone_number_id}/messages``.

The Cloud API has no idempotency key: a request that timed out or lost its answer may have
been sent to the customer. So the client makes one attempt per call (``Outbound`` with
``retry=False``) and lets the actor decide what a retry may do; it never repeats a request
itself. Graph errors are mapped by ``code`` to the ``FailureReason`` of
:class:`~connectors.whatsapp.messages.WhatsAppFailed` (docs/WHATSAPP.md).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from connectors.whatsapp.messages import FailureReason, SendWhatsApp
from hub.errors import ConfigError
from hub.http import HttpResult, Outbound, PartnerUnavailable
from hub.settings import Secret


class Language(msgspec.Struct, frozen=True):
    code: str
    policy: str = "deterministic"  # not omitted: the body struct alone omits defaults


class TextParameter(msgspec.Struct, frozen=True):
    text: str
    type: str = "text"


class Component(msgspec.Struct, frozen=True):
    parameters: tuple[TextParameter, ...]
    type: str = "body"


class Template(msgspec.Struct, frozen=True, omit_defaults=True):
    name: str
    language: Language
    components: tuple[Component, ...] = ()


class Text(msgspec.Struct, frozen=True):
    body: str
    preview_url: bool = False


class Context(msgspec.Struct, frozen=True):
    message_id: str


class MessageBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The request body (the fields the hub uses), exactly as EXTERNAL_APIS.md §3 shows.

    ``messaging_product`` and ``recipient_type`` have no default so that ``omit_defaults``
    (which drops the absent ``text``/``template``/``context``) always sends them.
    """

    messaging_product: Literal["whatsapp"]
    recipient_type: Literal["individual"]
    to: str
    type: Literal["text", "template"]
    text: Text | None = None
    template: Template | None = None
    context: Context | None = None


class _Contact(msgspec.Struct, frozen=True):
    wa_id: str
    input: str = ""


class _MessageId(msgspec.Struct, frozen=True):
    id: str


class Response(msgspec.Struct, frozen=True):
    """The success answer: ``contacts[0].wa_id`` and ``messages[0].id`` (the wamid)."""

    contacts: tuple[_Contact, ...]
    messages: tuple[_MessageId, ...]
    messaging_product: str = "whatsapp"


class _ErrorData(msgspec.Struct, frozen=True):
    details: str = ""


class _Error(msgspec.Struct, frozen=True):
    message: str = ""
    type: str = ""
    code: int | None = None
    error_data: _ErrorData | None = None


class _ErrorBody(msgspec.Struct, frozen=True):
    error: _Error


_REASONS: dict[int, FailureReason] = {
    130429: "throughput",
    131056: "pair_rate_limit",
    131047: "re_engagement",
    100: "invalid_recipient",
    131026: "invalid_recipient",
    133010: "invalid_recipient",
    132000: "template",
    132001: "template",
    0: "auth",
    10: "auth",
    190: "auth",
}
TRANSIENT: frozenset[FailureReason] = frozenset({"throughput", "pair_rate_limit"})


class GraphError(Exception):
    """Meta answered with a Graph error (4xx): ``reason`` says whether waiting can help."""

    def __init__(self, status: int, code: int | None, reason: FailureReason, detail: str) -> None:
        super().__init__(f"WhatsApp refused the message (HTTP {status}, code {code}): {detail}")
        self.status = status
        self.code = code
        self.reason = reason
        self.detail = detail

    @property
    def permanent(self) -> bool:
        """False for the throughput and pair limits: the same request succeeds later."""
        return self.reason not in TRANSIENT


def reason_for(code: int | None) -> FailureReason:
    """The FailureReason for a Graph error ``code`` ("rejected" for codes not mapped)."""
    return _REASONS.get(code, "rejected") if code is not None else "rejected"


def graph_error(result: HttpResult) -> GraphError:
    """The typed error of a 4xx answer (its Graph ``error`` object, or the raw text)."""
    try:
        error = msgspec.json.decode(result.body, type=_ErrorBody).error
    except msgspec.DecodeError:
        text = result.body[:200].decode("utf-8", "replace")
        return GraphError(result.status, None, "rejected", text)
    details = error.error_data.details if error.error_data else ""
    detail = f"{error.message} ({details})" if details else error.message
    return GraphError(result.status, error.code, reason_for(error.code), detail)


_ENVELOPE: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual"}


def build_body(msg: SendWhatsApp) -> MessageBody:
    """The request body of ``msg``: a template when ``template`` is set, free text otherwise."""
    if msg.template:
        components = (
            (Component(parameters=tuple(TextParameter(text=p) for p in msg.parameters)),)
            if msg.parameters
            else ()
        )
        template = Template(
            name=msg.template, language=Language(code=msg.language), components=components
        )
        return MessageBody(**_ENVELOPE, to=msg.to, type="template", template=template)
    if not msg.text:
        raise ValueError(f"delivery {msg.delivery_id}: neither a template nor a text")
    context = Context(message_id=msg.reply_to) if msg.reply_to else None
    return MessageBody(
        **_ENVELOPE, to=msg.to, type="text", text=Text(body=msg.text), context=context
    )


class WhatsAppClient:
    """Sends one message per call (see the module docstring for why there is no retry here)."""

    def __init__(
        self,
        outbound: Outbound,
        access_token: Secret | None,
        *,
        phone_number_id: str,
        api_version: str,
    ) -> None:
        self.outbound = outbound
        self._token = access_token
        self.path = f"/{api_version}/{phone_number_id}/messages"

    async def send(self, body: MessageBody) -> Response:
        """Send; Meta's answer. Raises :class:`GraphError` or ``PartnerUnavailable``."""
        if not self._token:
            raise ConfigError("missing setting CYPHER_WHATSAPP_ACCESS_TOKEN: cannot send")
        headers = {
            "Authorization": f"Bearer {self._token.reveal()}",
            "Content-Type": "application/json",
        }
        try:
            result = await self.outbound.request(
                "POST", self.path, data=msgspec.json.encode(body), headers=headers, retry=False
            )
        except PartnerUnavailable as exc:
            if exc.status == 429:  # Outbound keeps 429s to itself: the throughput limit
                raise GraphError(429, 130429, "throughput", str(exc)) from exc
            raise
        if result.status == 200:
            return msgspec.json.decode(result.body, type=Response)
        raise graph_error(result)

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.outbound.close()

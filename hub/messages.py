"""Messages: the ``Message`` base, ``Command``/``Event``, the ``Envelope`` and the type registry.

A message is a frozen, tagged :class:`msgspec.Struct`; its tag (``"orders.OrderPlaced"``) is its
stable type name, the AMQP routing key and the ``type`` field of its JSON body. Defining a tagged
subclass registers it; :func:`decode` turns a type name and body bytes back into the message.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

import msgspec

from hub.errors import PermanentError
from hub.ids import uuid7

M = TypeVar("M", bound="Message")


class _MessageMeta(msgspec.StructMeta):
    """Registers every tagged message class once msgspec has built it."""

    def __new__(mcls, name: str, bases: tuple[type, ...], ns: dict[str, Any], **kw: Any) -> Any:
        cls = super().__new__(mcls, name, bases, ns, **kw)
        tag = cls.__struct_config__.tag
        if isinstance(tag, str):
            registry.register(typing.cast("type[Message]", cls), tag)
        return cls


class Message(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    metaclass=_MessageMeta,
):
    """Base of every message. Subclass :class:`Command` or :class:`Event`, with ``tag=``."""

    kind: ClassVar[str] = "message"


class Command(Message, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Asks one actor to do something (imperative name: ``ReserveStock``)."""

    kind: ClassVar[str] = "command"


class Event(Message, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Says something happened (past tense: ``StockReserved``); any number of listeners."""

    kind: ClassVar[str] = "event"


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """What travels around a message body (AMQP properties and headers)."""

    message_id: UUID
    type: str
    correlation_id: str
    causation_id: str | None = None
    key: str | None = None
    occurred_at: datetime
    attempt: int = 1
    actor: str | None = None  # who the flow acts for ("user:12", "api_key:3"), for the audit trail

    @classmethod
    def new(
        cls,
        message: Message,
        *,
        key: str | None = None,
        cause: Envelope | None = None,
        occurred_at: datetime | None = None,
        actor: str | None = None,
    ) -> Envelope:
        """A fresh envelope for ``message``; with ``cause``, it continues that flow.

        ``actor`` (who the flow acts for) is inherited from the cause unless given.
        """
        message_id = uuid7()
        return cls(
            message_id=message_id,
            type=type_name(type(message)),
            correlation_id=cause.correlation_id if cause else str(message_id),
            causation_id=str(cause.message_id) if cause else None,
            key=key if key is not None else (cause.key if cause else None),
            occurred_at=occurred_at or datetime.now(UTC),
            actor=actor if actor is not None else (cause.actor if cause else None),
        )


class Registry:
    """Type name → message class, with one decoder per class built once."""

    def __init__(self) -> None:
        self._types: dict[str, type[Message]] = {}
        self._decoders: dict[str, msgspec.json.Decoder[Any]] = {}

    def register(self, cls: type[Message], tag: str) -> None:
        """Record ``cls`` under ``tag``; a tag taken by another class is an error."""
        existing = self._types.get(tag)
        # The same class defined again (a module reloaded) may take its tag back; another may not.
        if existing is not None and _qualified(existing) != _qualified(cls):
            raise TypeError(
                f"message type {tag!r} is already {_qualified(existing)}; "
                f"{_qualified(cls)} needs a tag of its own"
            )
        self._types[tag] = cls
        self._decoders[tag] = msgspec.json.Decoder(cls)

    def get(self, tag: str) -> type[Message]:
        """The class registered under ``tag``; unknown types are permanent errors."""
        try:
            return self._types[tag]
        except KeyError:
            raise PermanentError(f"unknown message type {tag!r}") from None

    def decode(self, tag: str, body: bytes) -> Message:
        """Decode ``body`` as message type ``tag``; any failure is a :class:`PermanentError`."""
        self.get(tag)
        try:
            message: Message = self._decoders[tag].decode(body)
        except msgspec.DecodeError as exc:
            raise PermanentError(f"undecodable {tag} body: {exc}") from None
        return message

    def __iter__(self) -> Iterator[tuple[str, type[Message]]]:
        return iter(sorted(self._types.items()))

    def __contains__(self, tag: object) -> bool:
        return tag in self._types


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


registry = Registry()
_encoder = msgspec.json.Encoder(decimal_format="string")


def type_name(cls: type[Message]) -> str:
    """The stable type name (tag) of a message class."""
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{cls.__qualname__} has no tag; declare it with tag='context.Name'")
    return tag


def encode(message: Message) -> bytes:
    """The JSON body of ``message`` (Decimals as strings, so no precision is lost)."""
    return _encoder.encode(message)


def decode(tag: str, body: bytes) -> Message:
    """Decode a body of type ``tag`` with the global registry."""
    return registry.decode(tag, body)


def schemas() -> dict[str, Any]:
    """JSON Schema of every registered message, keyed by type name, plus the envelope."""
    types = [cls for _, cls in registry]
    (refs, components) = msgspec.json.schema_components(
        [*types, Envelope], ref_template="#/$defs/{name}"
    )
    out: dict[str, Any] = {}
    for (tag, cls), ref in zip(registry, refs, strict=False):
        out[tag] = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": tag,
            "description": next(iter((cls.__doc__ or "").strip().splitlines()), ""),
            "x-kind": cls.kind,
            **ref,
            "$defs": components,
        }
    return out


def envelope_schema() -> dict[str, Any]:
    """JSON Schema of the envelope."""
    return msgspec.json.schema(Envelope)

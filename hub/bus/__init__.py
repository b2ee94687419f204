"""The bus protocol: one contract, two transports (``amqp`` and ``memory``).

Delivery semantics both transports keep:

- ``publish`` returns only once the broker has the message (publisher confirms). ``to=None``
  routes by type to every bound actor queue; ``to=actor`` goes to that actor's queue only
  (retries, replays); ``delay`` holds it back first (one of the configured retry delays).
- A subscription yields deliveries, at most ``prefetch`` unacknowledged at once. A delivery not
  acknowledged when its subscription closes (or its process dies) is delivered again, counted in
  ``redeliveries``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

from hub.messages import Envelope

# The highest attempt number an envelope carries: dead letters record it in a PostgreSQL integer,
# and one that cannot be recorded would requeue its message for ever.
MAX_ATTEMPT = 2**31 - 1


class Delivery(Protocol):
    """One message as received by one actor."""

    envelope: Envelope | None
    envelope_error: str | None
    body: bytes
    headers: dict[str, Any]
    redeliveries: int

    async def ack(self) -> None:
        """Acknowledge: the broker forgets the message."""

    async def requeue(self) -> None:
        """Give the message back to the queue for another attempt now."""


class Subscription(Protocol):
    """A consumer of one actor queue."""

    def __aiter__(self) -> AsyncIterator[Delivery]: ...

    async def stop(self) -> None:
        """Stop receiving; deliveries already received can still be acknowledged."""


class Bus(Protocol):
    """A transport: declare actor queues, publish with confirms, subscribe."""

    mode: str

    async def declare(self, actor: str, types: Iterable[str]) -> None:
        """Create (idempotently) the actor's queue, its bindings and its retry queues."""

    async def publish(
        self, envelope: Envelope, body: bytes, *, to: str | None = None, delay: float | None = None
    ) -> None:
        """Publish and wait for the broker's confirmation."""

    def subscribe(self, actor: str, *, prefetch: int) -> AbstractAsyncContextManager[Subscription]:
        """Consume the actor's queue; closing returns unacknowledged deliveries to it."""

    async def ping(self) -> None:
        """Raise if the transport cannot currently publish."""

    async def close(self) -> None:
        """Release connections."""


def envelope_headers(envelope: Envelope) -> dict[str, Any]:
    """The envelope as message headers (the AMQP properties carry the rest)."""
    headers: dict[str, Any] = {
        "x-occurred-at": envelope.occurred_at.isoformat(),
        "x-attempt": envelope.attempt,
    }
    if envelope.causation_id is not None:
        headers["x-causation-id"] = envelope.causation_id
    if envelope.key is not None:
        headers["x-key"] = envelope.key
    if envelope.actor is not None:
        headers["x-actor"] = envelope.actor
    return headers


def envelope_from_wire(
    *,
    message_id: str | None,
    type: str | None,
    correlation_id: str | None,
    headers: dict[str, Any],
    timestamp: datetime | None = None,
) -> Envelope:
    """Rebuild an envelope from AMQP properties and headers.

    Raises ``ValueError`` naming what is missing or malformed. ``x-attempt`` is taken within
    1..``MAX_ATTEMPT``.
    """
    if not message_id:
        raise ValueError("message has no message_id property")
    try:
        mid = UUID(message_id)
    except ValueError:
        raise ValueError(f"message_id {message_id!r} is not a UUID") from None
    if not type:
        raise ValueError("message has no type property")
    occurred = headers.get("x-occurred-at")
    try:
        occurred_at = (
            datetime.fromisoformat(_text(occurred))
            if occurred
            else (timestamp or datetime.now(UTC))
        )
    except ValueError:
        raise ValueError(f"x-occurred-at {occurred!r} is not an ISO time") from None
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    try:
        attempt = int(headers.get("x-attempt", 1))
    except (TypeError, ValueError, OverflowError):  # OverflowError: infinity
        raise ValueError(f"x-attempt {headers.get('x-attempt')!r} is not an integer") from None
    causation = headers.get("x-causation-id")
    key = headers.get("x-key")
    actor = headers.get("x-actor")
    return Envelope(
        message_id=mid,
        type=type,
        correlation_id=correlation_id or str(mid),
        causation_id=_text(causation) if causation is not None else None,
        key=_text(key) if key is not None else None,
        occurred_at=occurred_at,
        attempt=min(max(attempt, 1), MAX_ATTEMPT),
        actor=_text(actor) if actor is not None else None,
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def envelope_to_json(envelope: Envelope) -> dict[str, Any]:
    """The envelope as plain JSON data (outbox and dead-letter rows)."""
    data: dict[str, Any] = msgspec.to_builtins(envelope)
    return data


def envelope_from_json(data: Any) -> Envelope:
    """Inverse of :func:`envelope_to_json`."""
    return msgspec.convert(data, Envelope)

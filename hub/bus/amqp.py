"""The RabbitMQ transport (aio-pika, ``connect_robust``).

Topology, declared idempotently at start (``P`` is the ``bus_prefix`` setting):

- ``P.messages``: one durable topic exchange; routing key = message type.
- ``P.<actor>``: one durable quorum queue per actor, bound to the types it handles.
- ``P.<actor>.retry.<ms>``: one quorum delay queue per configured retry delay; messages wait
  there for their TTL and are dead-lettered (at-least-once) back to ``P.<actor>``.

Every publish waits for the broker's confirm; consumers ack manually.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager, suppress
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage

from hub.bus import Delivery, envelope_from_wire, envelope_headers
from hub.errors import TransientError
from hub.messages import Envelope
from hub.settings import redact_url

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT = 15.0


class AmqpDelivery:
    """A delivery from RabbitMQ."""

    def __init__(self, message: AbstractIncomingMessage) -> None:
        self._message = message
        self.body = message.body
        self.headers: dict[str, Any] = dict(message.headers or {})
        self.envelope: Envelope | None = None
        self.envelope_error: str | None = None
        try:
            self.envelope = envelope_from_wire(
                message_id=message.message_id,
                type=message.type,
                correlation_id=message.correlation_id,
                headers=self.headers,
                timestamp=message.timestamp,
            )
        except ValueError as exc:
            self.envelope_error = str(exc)
        count = self.headers.get("x-delivery-count")
        self.redeliveries = int(count) if isinstance(count, int) else int(message.redelivered or 0)

    async def ack(self) -> None:
        """Acknowledge on the channel it came from (fails if that channel is gone)."""
        try:
            await self._message.ack()
        except Exception as exc:
            raise TransientError(
                f"ack failed: {exc!r}; the message will be delivered again"
            ) from exc

    async def requeue(self) -> None:
        """Reject with requeue."""
        try:
            await self._message.nack(requeue=True)
        except Exception as exc:
            raise TransientError(f"requeue failed: {exc!r}") from exc


class AmqpSubscription:
    """A consumer on its own channel; closing the channel returns unacked messages."""

    def __init__(self, queue: aio_pika.abc.AbstractQueue) -> None:
        self._queue = queue
        self._inbox: asyncio.Queue[AmqpDelivery | None] = asyncio.Queue()
        self._tag: str | None = None

    async def start(self) -> None:
        self._tag = await self._queue.consume(self._on_message)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        await self._inbox.put(AmqpDelivery(message))

    def __aiter__(self) -> AsyncIterator[Delivery]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Delivery]:
        while True:
            item = await self._inbox.get()
            if item is None:
                return
            yield item

    async def stop(self) -> None:
        """Cancel the consumer; deliveries in hand stay ackable."""
        if self._tag is not None:
            tag, self._tag = self._tag, None
            with suppress(Exception):
                await self._queue.cancel(tag)
        self._inbox.put_nowait(None)


class AmqpBus:
    """RabbitMQ with quorum queues, confirms, delay queues for retries."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        retry_delays: Iterable[float],
        queue_expires: float | None = None,
    ) -> None:
        self._url = url
        self.prefix = prefix
        self.retry_delays = tuple(retry_delays)
        # Unused queues (no consumer, no declare) vanish after this many seconds, and the
        # exchange with the last of them: for throw-away prefixes (tests, demos), never production.
        self.queue_expires = queue_expires
        self._expiry: dict[str, int] = (
            {"x-expires": round(queue_expires * 1000)} if queue_expires else {}
        )
        self.mode = f"amqp ({redact_url(url)}, prefix {prefix!r})"
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self.declared: dict[str, set[str]] = {}

    @property
    def exchange_name(self) -> str:
        """The topic exchange every message goes through."""
        return f"{self.prefix}.messages"

    def queue_name(self, actor: str) -> str:
        """The actor's queue."""
        return f"{self.prefix}.{actor}"

    def delay_queue_name(self, actor: str, delay: float) -> str:
        """The actor's delay queue for ``delay`` seconds."""
        return f"{self.prefix}.{actor}.retry.{round(delay * 1000)}ms"

    async def start(self) -> None:
        """Connect (retrying until the broker answers) and declare the exchange."""
        self._connection = await aio_pika.connect_robust(
            self._url, client_properties={"connection_name": f"cypher-hub {self.prefix}"}
        )
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        self._exchange = await self._channel.declare_exchange(
            self.exchange_name,
            aio_pika.ExchangeType.TOPIC,
            durable=True,
            auto_delete=self.queue_expires is not None,
        )

    async def declare(self, actor: str, types: Iterable[str]) -> None:
        """Declare the actor's quorum queue, bindings and delay queues (idempotent)."""
        assert self._connection is not None, "start() first"
        types = sorted(set(types))
        async with self._connection.channel() as channel:
            name = self.queue_name(actor)
            queue = await channel.declare_queue(
                name, durable=True, arguments={"x-queue-type": "quorum", **self._expiry}
            )
            for t in types:
                await queue.bind(self.exchange_name, routing_key=t)
            for delay in self.retry_delays:
                await channel.declare_queue(
                    self.delay_queue_name(actor, delay),
                    durable=True,
                    arguments={
                        "x-queue-type": "quorum",
                        "x-message-ttl": round(delay * 1000),
                        "x-dead-letter-exchange": "",
                        "x-dead-letter-routing-key": name,
                        "x-dead-letter-strategy": "at-least-once",
                        "x-overflow": "reject-publish",
                        **self._expiry,
                    },
                )
        self.declared[actor] = set(types)

    async def publish(
        self, envelope: Envelope, body: bytes, *, to: str | None = None, delay: float | None = None
    ) -> None:
        """Publish with confirm; ``to``/``delay`` go through the default exchange by queue name."""
        if self._channel is None or self._exchange is None:
            raise TransientError("AMQP bus is not started")
        message = aio_pika.Message(
            body,
            headers=envelope_headers(envelope),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(envelope.message_id),
            type=envelope.type,
            correlation_id=envelope.correlation_id,
            timestamp=envelope.occurred_at,
        )
        try:
            if to is None and delay is None:
                # Not mandatory: a type nobody subscribes to is dropped, as pub/sub does.
                await self._exchange.publish(
                    message, routing_key=envelope.type, mandatory=False, timeout=PUBLISH_TIMEOUT
                )
                return
            if to is None:
                raise ValueError("a delayed publish needs a target actor")
            target = self.delay_queue_name(to, delay) if delay else self.queue_name(to)
            await self._channel.default_exchange.publish(
                message, routing_key=target, mandatory=True, timeout=PUBLISH_TIMEOUT
            )
        except (asyncio.CancelledError, ValueError):
            raise
        except Exception as exc:
            raise TransientError(f"publish of {envelope.type} failed: {exc!r}") from exc

    @asynccontextmanager
    async def subscribe(self, actor: str, *, prefetch: int) -> AsyncIterator[AmqpSubscription]:
        """Consume the actor's queue on a channel of its own."""
        if self._connection is None:
            raise TransientError("AMQP bus is not started")
        channel = await self._connection.channel()
        try:
            await channel.set_qos(prefetch_count=prefetch)
            queue = await channel.get_queue(self.queue_name(actor), ensure=True)
            sub = AmqpSubscription(queue)
            await sub.start()
            try:
                yield sub
            finally:
                await sub.stop()
        finally:
            with suppress(Exception):
                await channel.close()

    async def ping(self) -> None:
        """Raise unless connected."""
        conn = self._connection
        if conn is None or conn.is_closed or not conn.connected.is_set():
            raise TransientError("not connected to RabbitMQ")

    async def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            with suppress(Exception):
                await self._connection.close()
        self._connection = None
        self._channel = None
        self._exchange = None

    async def delete_topology(self, actors: Iterable[str]) -> None:
        """Delete the queues of ``actors`` and the exchange (tests clean up with this)."""
        assert self._connection is not None
        async with self._connection.channel() as channel:
            for actor in actors:
                for delay in self.retry_delays:
                    await channel.queue_delete(self.delay_queue_name(actor, delay))
                await channel.queue_delete(self.queue_name(actor))
            await channel.exchange_delete(self.exchange_name)

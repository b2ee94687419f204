"""A hub process for the crash tests: Counter and Sink on the real services, dying on request.

``CRASH_AT=after_commit``: exit abruptly (as ``kill -9`` would) when the counter actor, having
committed its transaction, is about to acknowledge. ``CRASH_AT=before_publish``: exit when the
outbox relay is about to publish the ``test.Added`` event the handler committed. Settings come
from the usual ``CYPHER_*`` variables.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hub.bootstrap import open_hub
from hub.bus.amqp import AmqpBus
from hub.messages import Envelope
from hub.settings import load_hub
from hub.telemetry import setup_logging
from tests.support import Counter, Sink

CRASH_AT = os.environ.get("CRASH_AT", "")
KILLED = 137


def die() -> None:
    sys.stdout.flush()
    os._exit(KILLED)


class DyingDelivery:
    def __init__(self, delivery: Any) -> None:
        self._delivery = delivery
        self.envelope = delivery.envelope
        self.envelope_error = delivery.envelope_error
        self.body = delivery.body
        self.headers = delivery.headers
        self.redeliveries = delivery.redeliveries

    async def ack(self) -> None:
        die()

    async def requeue(self) -> None:
        await self._delivery.requeue()


class DyingSubscription:
    def __init__(self, sub: Any) -> None:
        self._sub = sub

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for delivery in self._sub:
            yield DyingDelivery(delivery)

    async def stop(self) -> None:
        await self._sub.stop()


class CrashingBus(AmqpBus):
    @asynccontextmanager
    async def subscribe(self, actor: str, *, prefetch: int) -> AsyncIterator[Any]:
        async with super().subscribe(actor, prefetch=prefetch) as sub:
            yield (
                DyingSubscription(sub) if CRASH_AT == "after_commit" and actor == "counter" else sub
            )

    async def publish(
        self, envelope: Envelope, body: bytes, *, to: str | None = None, delay: float | None = None
    ) -> None:
        if CRASH_AT == "before_publish" and envelope.type == "test.Added":
            die()
        await super().publish(envelope, body, to=to, delay=delay)


async def main() -> None:
    settings = load_hub()
    setup_logging("INFO")
    assert settings.amqp_url is not None
    bus = CrashingBus(
        settings.amqp_url.reveal(),
        prefix=settings.bus_prefix,
        retry_delays=settings.retry_delays,
        queue_expires=settings.queue_expires,
    )
    await bus.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        async with open_hub(settings, actors=[lambda _r: Counter(), lambda _r: Sink()], bus=bus):
            print("ready", flush=True)
            await stop.wait()
    finally:
        await bus.close()


if __name__ == "__main__":
    asyncio.run(main())

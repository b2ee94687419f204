"""The ``sendgrid`` connector actor: each ``delivery_id`` becomes at most one email.

Every request is recorded (committed) before it is made and its answer after it; the delivery's
row decides what a repeated or retried message does (docs/SENDGRID.md):

- 202: ``EmailAccepted``. 4xx (not 429): ``EmailFailed(permanent=True)``.
- 429/5xx/breaker open (certainly not queued): a durable ``SendAttempt`` timer with backoff;
  after ``give_up_after`` seconds, ``EmailFailed(permanent=False)``.
- Timeout or lost answer (perhaps queued): ``unknown``; an Event Webhook event carrying the
  ``delivery_id`` proves acceptance, otherwise the email is sent again after ``reconcile_after``.

An Event Webhook batch the connector cannot read is dead-lettered at once (``PermanentError``).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import msgspec

from connectors.sendgrid import store
from connectors.sendgrid.client import MailClient, MailRefused, build_body
from connectors.sendgrid.messages import (
    EmailAccepted,
    EmailFailed,
    EventsReceived,
    SendEmail,
)
from connectors.sendgrid.settings import SendGridSettings, load_settings
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources
from hub.breaker import Breaker
from hub.db import Database
from hub.errors import ConfigError, PermanentError, TransientError
from hub.http import Outbound
from hub.messages import Command
from hub.ratelimit import RateLimiter, limiter_for

log = logging.getLogger(__name__)


class SendAttempt(Command, tag="sendgrid.SendAttempt"):
    """Internal timer: send a waiting delivery again, or reconcile an unknown one."""

    delivery_id: str


class _Event(msgspec.Struct):
    event: str = ""
    sg_message_id: str = ""
    delivery_id: str | None = None


_events = msgspec.json.Decoder(list[_Event])


def timer_name(delivery_id: str) -> str:
    """The one durable timer of a delivery."""
    return f"sendgrid:{delivery_id}"


def backoff(settings: SendGridSettings, attempts: int, retry_after: float | None) -> float:
    """Seconds before the next request: doubling, capped, never sooner than SendGrid asked."""
    delay = min(settings.retry_max_backoff, settings.retry_backoff * 2 ** max(0, attempts - 1))
    return float(max(delay, retry_after or 0.0))


class SendGridActor(Actor, name="sendgrid"):
    """Sends SendEmail through Mail Send; learns from events what an unanswered request did."""

    def __init__(self, settings: SendGridSettings, db: Database, client: MailClient) -> None:
        self.settings = settings
        self.db = db
        self.client = client

    @handler
    async def send(self, msg: SendEmail, ctx: Context) -> None:
        async with self.db.transaction() as conn:
            mine = await store.claim_new(conn, msg)
        if mine:
            await self._request(msg, ctx)
        else:
            await self._follow_up(msg.delivery_id, ctx, retry=False)

    @handler
    async def attempt(self, msg: SendAttempt, ctx: Context) -> None:
        await self._follow_up(msg.delivery_id, ctx, retry=True)

    @handler
    async def events(self, msg: EventsReceived, ctx: Context) -> None:
        try:
            events = _events.decode(msg.payload)
        except msgspec.DecodeError as exc:  # and ValidationError: no retry makes it readable
            raise PermanentError(f"the event batch is not SendGrid's shape: {exc}") from None
        for event in events:
            if not event.delivery_id or not event.sg_message_id:
                continue
            message_id = event.sg_message_id.split(".", 1)[0]
            row = await store.accepted(
                ctx.conn, event.delivery_id, message_id, via="event", at=ctx.now
            )
            if row is not None:
                ctx.log.info(
                    "delivery %s accepted, seen in a %s event", row.delivery_id, event.event
                )
                await ctx.cancel(timer_name(row.delivery_id))
                await self._announce(ctx, row)

    async def _follow_up(self, delivery_id: str, ctx: Context, *, retry: bool) -> None:
        """A delivery already known: announce its outcome, keep its timer, or send it again."""
        async with self.db.transaction() as conn:
            row = await store.get(conn, delivery_id)
            claimed = retry and await store.claim_again(conn, delivery_id, ("waiting", "unknown"))
        if row is None:
            return
        if claimed:
            await self._request(row.email(), ctx, attempts=row.attempts + 1)
        elif row.state in ("accepted", "failed"):
            await self._announce(ctx, row)
        elif row.state == "sending":
            # a request was made and its answer never recorded (a crash, or one in flight now)
            await self._later(ctx, row.delivery_id, "unknown", None, "no answer recorded", None)
        elif row.next_at is not None:  # the timer may have been lost with a failed handler
            ctx.schedule(
                SendAttempt(delivery_id=delivery_id), at=row.next_at, name=timer_name(delivery_id)
            )

    async def _request(self, msg: SendEmail, ctx: Context, *, attempts: int = 1) -> None:
        body = build_body(
            msg, from_email=self.settings.from_email, from_name=self.settings.from_name
        )
        try:
            message_id = await self.client.send(body)
        except MailRefused as exc:
            await self._fail(ctx, msg.delivery_id, str(exc), exc.status, permanent=True)
        except (TransientError, ConfigError) as exc:
            status = getattr(exc, "status", None)
            if getattr(exc, "outcome_unknown", False):
                await self._later(ctx, msg.delivery_id, "unknown", None, str(exc), status)
            else:
                await self._refused_for_now(ctx, msg.delivery_id, attempts, exc, status)
        else:
            async with self.db.transaction() as conn:
                row = await store.accepted(
                    conn, msg.delivery_id, message_id, via="response", at=ctx.now
                )
            if row is not None:
                await self._announce(ctx, row)

    async def _refused_for_now(
        self, ctx: Context, delivery_id: str, attempts: int, exc: Exception, status: int | None
    ) -> None:
        async with self.db.transaction() as conn:
            row = await store.get(conn, delivery_id)
        waited = (ctx.now - row.created_at).total_seconds() if row else 0.0
        if waited >= self.settings.give_up_after:
            await self._fail(ctx, delivery_id, f"gave up: {exc}", status, permanent=False)
            return
        delay = backoff(self.settings, attempts, getattr(exc, "retry_after", None))
        await self._later(ctx, delivery_id, "waiting", delay, str(exc), status)

    async def _later(
        self,
        ctx: Context,
        delivery_id: str,
        state: str,
        delay: float | None,
        reason: str,
        status: int | None,
    ) -> None:
        seconds = self.settings.reconcile_after if delay is None else delay
        at: datetime = ctx.now + timedelta(seconds=seconds)
        async with self.db.transaction() as conn:
            await store.later(conn, delivery_id, state, at, reason, status)
        ctx.log.warning("delivery %s %s until %s: %s", delivery_id, state, at.isoformat(), reason)
        ctx.schedule(SendAttempt(delivery_id=delivery_id), at=at, name=timer_name(delivery_id))

    async def _fail(
        self, ctx: Context, delivery_id: str, reason: str, status: int | None, *, permanent: bool
    ) -> None:
        async with self.db.transaction() as conn:
            await store.failed(conn, delivery_id, reason, status, permanent=permanent)
            row = await store.get(conn, delivery_id)
        if row is not None:
            await self._announce(ctx, row)

    async def _announce(self, ctx: Context, row: store.Delivery) -> None:
        """Emit the final outcome once (marked in the handler's transaction, with the emit)."""
        if not await store.announce(ctx.conn, row.delivery_id):
            return
        if row.state == "accepted":
            ctx.emit(
                EmailAccepted(
                    delivery_id=row.delivery_id,
                    message_id=row.message_id or "",
                    accepted_at=row.accepted_at or ctx.now,
                ),
                key=row.delivery_id,
            )
        else:
            ctx.emit(
                EmailFailed(
                    delivery_id=row.delivery_id,
                    reason=row.reason or "",
                    permanent=bool(row.permanent),
                    status=row.status,
                ),
                key=row.delivery_id,
            )

    async def on_stop(self) -> None:
        await self.client.close()


def build(
    settings: SendGridSettings,
    db: Database,
    *,
    limiter: RateLimiter | None = None,
    breaker: Breaker | None = None,
) -> SendGridActor:
    """The actor with its client, breaker and rate limit (tests pass a simulator's URL)."""
    breaker = breaker or Breaker(
        "sendgrid",
        fail_max=settings.breaker_fail_max,
        reset_timeout=settings.breaker_reset_timeout,
    )
    outbound = Outbound(
        "sendgrid",
        base_url=settings.base_url,
        breaker=breaker,
        timeout=settings.timeout,
        limiter=limiter,
        per_second=settings.per_second,
        burst=settings.burst,
        attempts=1,
    )
    return SendGridActor(
        settings, db, MailClient(outbound, settings.api_key, attempts=settings.attempts)
    )


def factory(resources: Resources) -> Actor:
    """The connector with the ``[sendgrid]`` settings."""
    settings = load_settings()
    if resources.settings.env == "production" and not settings.api_key:
        raise ConfigError("missing setting CYPHER_SENDGRID_API_KEY: required in production")
    return build(settings, resources.db, limiter=limiter_for(resources.cache))

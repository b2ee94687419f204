"""The ``whatsapp`` connector actor: each ``delivery_id`` becomes at most one WhatsApp message.

Every request is recorded (committed) before it is made and its answer after it; the delivery's
row decides what a repeated or retried command does (docs/WHATSAPP.md):

- 200: ``WhatsAppAccepted``. Graph errors other than the limits: ``WhatsAppFailed(permanent)``.
- 130429/131056, 5xx, breaker open, no token (certainly not sent): a durable ``WhatsAppAttempt``
  timer with backoff; after ``give_up_after`` seconds, ``WhatsAppFailed(permanent=False)``.
- Timeout or lost answer (perhaps sent): never sent again; ``WhatsAppFailed(reason="unavailable",
  permanent=False, detail="outcome unknown: ...")`` so staff see "unknown", not a double message.
"""

from __future__ import annotations

from datetime import timedelta

from connectors.whatsapp import store
from connectors.whatsapp.client import GraphError, WhatsAppClient, build_body
from connectors.whatsapp.messages import SendWhatsApp, WhatsAppAccepted, WhatsAppFailed
from connectors.whatsapp.settings import WhatsAppSettings, load_settings
from hub.actor import Actor, Context, handler
from hub.bootstrap import Resources
from hub.breaker import Breaker
from hub.db import Database
from hub.errors import ConfigError, TransientError
from hub.http import Outbound
from hub.messages import Command
from hub.ratelimit import RateLimiter, limiter_for

UNKNOWN = "outcome unknown"


class WhatsAppAttempt(Command, tag="whatsapp.WhatsAppAttempt"):
    """Internal timer: send a waiting delivery again."""

    delivery_id: str


def timer_name(delivery_id: str) -> str:
    """The one durable timer of a delivery."""
    return f"whatsapp:{delivery_id}"


def backoff(settings: WhatsAppSettings, attempts: int, retry_after: float | None) -> float:
    """Seconds before the next request: doubling, capped, never sooner than Meta asked."""
    delay = min(settings.retry_max_backoff, settings.retry_backoff * 2 ** max(0, attempts - 1))
    return float(max(delay, retry_after or 0.0))


def stale_after(settings: WhatsAppSettings) -> float:
    """Seconds after which an unanswered request is certainly over (not in flight any more)."""
    return settings.timeout * 3 + 30.0


class WhatsAppActor(Actor, name="whatsapp"):
    """Sends SendWhatsApp through the Cloud API, at most once per delivery_id."""

    def __init__(self, settings: WhatsAppSettings, db: Database, client: WhatsAppClient) -> None:
        self.settings = settings
        self.db = db
        self.client = client

    @handler
    async def send(self, msg: SendWhatsApp, ctx: Context) -> None:
        async with self.db.transaction() as conn:
            mine = await store.claim_new(conn, msg)
        if mine:
            await self._request(msg, ctx, attempts=1)
        else:
            await self._follow_up(msg.delivery_id, ctx, retry=False)

    @handler
    async def attempt(self, msg: WhatsAppAttempt, ctx: Context) -> None:
        await self._follow_up(msg.delivery_id, ctx, retry=True)

    async def _follow_up(self, delivery_id: str, ctx: Context, *, retry: bool) -> None:
        """A known delivery: announce its outcome, keep its timer, or send it again."""
        async with self.db.transaction() as conn:
            row = await store.get(conn, delivery_id)
            claimed = retry and await store.claim_waiting(conn, delivery_id)
        if row is None:
            return
        if claimed:
            await self._request(row.command(), ctx, attempts=row.attempts + 1)
        elif row.state in ("accepted", "failed"):
            await self._announce(ctx, delivery_id)
        elif row.state == "sending":
            await self._in_flight(ctx, row)
        elif row.next_at is not None:  # the timer may have been lost with a failed handler
            ctx.schedule(
                WhatsAppAttempt(delivery_id=delivery_id),
                at=row.next_at,
                name=timer_name(delivery_id),
            )

    async def _in_flight(self, ctx: Context, row: store.Delivery) -> None:
        """A request without a recorded answer: in flight now, or lost with a crash.

        A request lasts at most ``timeout`` (plus a rate-limit wait), so a row still ``sending``
        after :func:`stale_after` seconds lost its answer: perhaps sent, reported unknown. Before
        that, a timer looks again (a duplicate command may arrive while the first is in flight).
        """
        due = row.updated_at + timedelta(seconds=stale_after(self.settings))
        if ctx.now >= due:
            await self._fail(ctx, row.delivery_id, "unavailable", None, f"{UNKNOWN}: no answer")
        else:
            attempt = WhatsAppAttempt(delivery_id=row.delivery_id)
            ctx.schedule(attempt, at=due, name=timer_name(row.delivery_id))

    async def _request(self, msg: SendWhatsApp, ctx: Context, *, attempts: int) -> None:
        try:
            body = build_body(msg)
            response = await self.client.send(body)
        except ValueError as exc:
            await self._fail(ctx, msg.delivery_id, "rejected", None, str(exc), permanent=True)
        except GraphError as exc:
            if exc.permanent:
                await self._fail(
                    ctx, msg.delivery_id, exc.reason, exc.code, exc.detail, permanent=True
                )
            else:
                wait = self.settings.pair_wait if exc.reason == "pair_rate_limit" else None
                await self._wait(ctx, msg.delivery_id, attempts, exc.reason, exc.code, exc, wait)
        except (TransientError, ConfigError) as exc:
            if getattr(exc, "outcome_unknown", False):
                await self._fail(ctx, msg.delivery_id, "unavailable", None, f"{UNKNOWN}: {exc}")
            else:
                retry_after = getattr(exc, "retry_after", None)
                await self._wait(
                    ctx, msg.delivery_id, attempts, "unavailable", None, exc, retry_after
                )
        else:
            wa_id = response.contacts[0].wa_id if response.contacts else msg.to
            async with self.db.transaction() as conn:
                await store.accepted(conn, msg.delivery_id, response.messages[0].id, wa_id, ctx.now)
            await self._announce(ctx, msg.delivery_id)

    async def _wait(
        self,
        ctx: Context,
        delivery_id: str,
        attempts: int,
        reason: str,
        code: int | None,
        exc: Exception,
        retry_after: float | None,
    ) -> None:
        """Refused for now: a durable timer, or give up after ``give_up_after`` seconds."""
        async with self.db.transaction() as conn:
            row = await store.get(conn, delivery_id)
        waited = (ctx.now - row.created_at).total_seconds() if row else 0.0
        if waited >= self.settings.give_up_after:
            await self._fail(ctx, delivery_id, reason, code, f"gave up: {exc}")
            return
        at = ctx.now + timedelta(seconds=backoff(self.settings, attempts, retry_after))
        async with self.db.transaction() as conn:
            await store.waiting(conn, delivery_id, at, reason=reason, code=code, detail=str(exc))
        ctx.log.warning("delivery %s waiting until %s: %s", delivery_id, at.isoformat(), exc)
        ctx.schedule(WhatsAppAttempt(delivery_id=delivery_id), at=at, name=timer_name(delivery_id))

    async def _fail(
        self,
        ctx: Context,
        delivery_id: str,
        reason: str,
        code: int | None,
        detail: str,
        *,
        permanent: bool = False,
    ) -> None:
        async with self.db.transaction() as conn:
            await store.failed(
                conn, delivery_id, reason=reason, code=code, detail=detail, permanent=permanent
            )
        await self._announce(ctx, delivery_id)

    async def _announce(self, ctx: Context, delivery_id: str) -> None:
        """Emit the final outcome once (marked in the handler's transaction, with the emit)."""
        row = await store.get(ctx.conn, delivery_id)
        if row is None or row.state not in ("accepted", "failed"):
            return
        if not await store.announce(ctx.conn, delivery_id):
            return
        if row.state == "accepted":
            event: WhatsAppAccepted | WhatsAppFailed = WhatsAppAccepted(
                delivery_id=delivery_id,
                wamid=row.wamid or "",
                wa_id=row.wa_id or "",
                accepted_at=row.accepted_at or ctx.now,
            )
        else:
            event = WhatsAppFailed(
                delivery_id=delivery_id,
                reason=row.reason or "rejected",  # type: ignore[arg-type]
                permanent=bool(row.permanent),
                code=row.code,
                detail=row.detail or "",
            )
        ctx.emit(event, key=delivery_id)

    async def on_stop(self) -> None:
        await self.client.close()


def build(
    settings: WhatsAppSettings,
    db: Database,
    *,
    limiter: RateLimiter | None = None,
    breaker: Breaker | None = None,
) -> WhatsAppActor:
    """The actor with its client, breaker and rate limit (tests pass a simulator's URL)."""
    outbound = Outbound(
        "whatsapp",
        base_url=settings.base_url,
        breaker=breaker or Breaker("whatsapp", fail_max=settings.breaker_fail_max),
        timeout=settings.timeout,
        limiter=limiter,
        per_second=settings.per_second,
        burst=settings.burst,
        attempts=1,
    )
    client = WhatsAppClient(
        outbound,
        settings.access_token,
        phone_number_id=settings.phone_number_id,
        api_version=settings.api_version,
    )
    return WhatsAppActor(settings, db, client)


def factory(resources: Resources) -> Actor:
    """The connector with the ``[whatsapp]`` settings."""
    settings = load_settings()
    if resources.settings.env == "production" and not settings.access_token:
        raise ConfigError("missing setting CYPHER_WHATSAPP_ACCESS_TOKEN: required in production")
    return build(settings, resources.db, limiter=limiter_for(resources.cache))

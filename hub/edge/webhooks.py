"""Webhook intake: generic routes that verify, deduplicate and durably store partner deliveries.

A connector describes its sender as a :class:`WebhookSource` (path, signature verifier, dedupe
key, the message a delivery becomes, the headers worth keeping, a GET hook for handshakes) and
:func:`setup_webhooks` adds its routes. A POST goes through, in order:

1. the source must be configured (else 503 naming the missing setting: never accept unsigned);
2. the raw body is read with a size limit (413 beyond ``webhook_max_body``, checked on
   ``Content-Length`` and again while reading);
3. the sender's unsigned "ping", if the source has one, gets exactly 200 and nothing is stored;
4. the signature is verified on those raw bytes in constant time (401, nothing stored);
5. header values become valid text (a byte that is not UTF-8 is read as U+FFFD), then the dedupe
   key and the message are computed (400 if the signed payload cannot be read, or if the message
   key it gives holds a NUL character, which PostgreSQL cannot store);
6. the :class:`~hub.edge.intake.IntakeWriter` commits the delivery and its outbox message in
   one transaction (group commit); only then is the answer 200. A duplicate answers 200 and
   stores nothing; a failed write answers 503 with ``Retry-After`` so the sender retries.

Operations list deliveries and replay them (``cypher-hub webhooks list | replay``); deliveries
older than ``webhook_retention_days`` are purged by a supervised task.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from hub import outbox, plugins
from hub.bootstrap import open_db
from hub.db import Database
from hub.edge.intake import Intake, IntakeMetrics, IntakeUnavailable, IntakeWriter
from hub.edge.keys import HUB, SETTINGS
from hub.errors import ConfigError, NotFound
from hub.ids import uuid7
from hub.messages import Envelope, Message, encode
from hub.settings import HubSettings

log = logging.getLogger(__name__)

Headers = Mapping[str, str]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Longest dedupe key stored as is; longer ones (a SendGrid batch's event ids) are hashed, so the
# unique index stays small and within PostgreSQL's index row limit.
MAX_DEDUPE_KEY = 200
# Seconds a sender is asked to wait after a 503 (write failed / source not configured).
RETRY_AFTER_WRITE = 5
RETRY_AFTER_UNCONFIGURED = 300
PURGE_INTERVAL = 3600.0
PURGE_BATCH = 5000


class SignatureError(Exception):
    """The delivery's signature is missing, malformed or does not match: answered 401."""

    reason = "signature"


class TimestampError(SignatureError):
    """The signed timestamp is too far from our clock (a replay, or a clock off): 401."""

    reason = "timestamp"


class PayloadError(Exception):
    """A correctly signed delivery whose payload cannot be read: answered 400."""


class Translation(NamedTuple):
    """The message a delivery becomes, and its envelope key (the resource, where there is one)."""

    message: Message
    key: str | None


@dataclass(frozen=True)
class WebhookSource:
    """One webhook sender, as a connector describes it.

    ``verify(headers, body)`` raises :class:`SignatureError`; ``dedupe_key`` and ``message``
    raise :class:`PayloadError` (or a msgspec decode error) for an unreadable payload.
    ``missing_setting`` names the setting to set when the source's secret is not configured:
    its deliveries then get 503. ``is_ping`` recognises an unsigned test request that must get
    exactly 200 and is not stored. ``on_get`` answers GET requests (Meta's handshake).
    ``keep_headers`` are the headers stored with each delivery (never secrets or signatures).
    """

    name: str
    path: str
    verify: Callable[[Headers, bytes], None]
    dedupe_key: Callable[[Headers, bytes], str]
    message: Callable[[Headers, bytes], Translation]
    methods: tuple[str, ...] = ("POST",)
    on_get: Handler | None = None
    keep_headers: tuple[str, ...] = ()
    is_ping: Callable[[Headers, bytes], bool] | None = None
    missing_setting: str | None = None

    @property
    def enabled(self) -> bool:
        """True when the source's secret or key is configured."""
        return self.missing_setting is None


SourceFactory = Callable[[HubSettings], WebhookSource]


def load_sources(paths: Sequence[str]) -> list[SourceFactory]:
    """Import ``"package.module:factory"`` webhook source factories (``connectors.WEBHOOKS``)."""
    factories: list[SourceFactory] = plugins.load_all(paths, "webhook source")
    return factories


def refuse(headers: Headers, body: bytes) -> None:
    """The verifier of a source without a secret: nothing verifies (it is never reached)."""
    raise SignatureError("this webhook source has no secret configured")


WEBHOOK_SOURCES = web.AppKey("webhook_sources", tuple[WebhookSource, ...])
WEBHOOK_INTAKE = web.AppKey("webhook_intake", IntakeWriter)
WEBHOOK_METRICS = web.AppKey("webhook_metrics", IntakeMetrics)


def setup_webhooks(app: web.Application, sources: Sequence[WebhookSource]) -> None:
    """Add each source's routes, and the intake writer and retention purge as a cleanup_ctx."""
    names: set[str] = set()
    paths: set[str] = set()
    for source in sources:
        if source.name in names or source.path in paths:
            raise ConfigError(f"webhook source {source.name!r} ({source.path}) is declared twice")
        names.add(source.name)
        paths.add(source.path)
        for method in source.methods:
            if method == "POST":
                app.router.add_route("POST", source.path, _receiver(source))
            elif method == "GET" and source.on_get is not None:
                app.router.add_route("GET", source.path, source.on_get)
            else:
                raise ConfigError(f"webhook source {source.name!r}: no handler for {method}")
    app[WEBHOOK_SOURCES] = tuple(sources)
    app.cleanup_ctx.append(_intake)


async def _intake(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    hub = app[HUB]
    metrics = IntakeMetrics(hub.metrics.registry)
    writer = IntakeWriter(
        hub.db,
        metrics,
        group_commit=settings.intake_group_commit,
        max_batch=settings.intake_max_batch,
    )
    app[WEBHOOK_METRICS] = metrics
    app[WEBHOOK_INTAKE] = writer
    purger = RetentionPurger(hub.db, days=settings.webhook_retention_days)
    hub.supervisor.start("webhook-intake", writer.run, stop=writer.stop)
    hub.supervisor.start("webhook-retention", purger.run)
    for source in app[WEBHOOK_SOURCES]:
        methods = "|".join(source.methods)
        if source.enabled:
            log.info("webhooks: %s enabled at %s %s", source.name, methods, source.path)
        else:
            log.warning(
                "webhooks: %s DISABLED at %s %s: set %s (its deliveries get 503 until then)",
                source.name,
                methods,
                source.path,
                source.missing_setting,
            )
    try:
        yield
    finally:
        # Requests still waiting are written before the pool closes.
        await hub.supervisor.shutdown("webhook-intake", settings.shutdown_timeout)
        await hub.supervisor.stop("webhook-retention")


# --- the request ------------------------------------------------------------------------------


class BodyTooLarge(Exception):
    """The body is larger than the limit."""


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw request body; :class:`BodyTooLarge` past ``limit`` bytes (declared or read)."""
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge(f"body of {declared} bytes is larger than the limit of {limit}")
    body = bytearray()
    while chunk := await request.content.readany():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge(f"body is larger than the limit of {limit} bytes")
    return bytes(body)


def error_response(
    status: int, code: str, message: str, *, retry_after: int | None = None
) -> web.Response:
    """A JSON error in the edge's envelope, with ``Retry-After`` when the sender should retry."""
    body = {"success": False, "data": None, "error": {"code": code, "message": message}}
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return web.json_response({**body, "metadata": {}}, status=status, headers=headers)


def _ok(status: str) -> bytes:
    return msgspec.json.encode(
        {"success": True, "data": {"status": status}, "error": None, "metadata": {}}
    )


_OK = {status: _ok(status) for status in ("accepted", "duplicate", "ping")}


def _answer(status: str) -> web.Response:
    return web.Response(body=_OK[status], content_type="application/json")


def normalize_key(key: str) -> str:
    """``key`` itself when short and printable, else ``sha256:<hex>`` of it."""
    if len(key) <= MAX_DEDUPE_KEY and key.isprintable():
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def body_digest(body: bytes) -> str:
    """``sha256:<hex>`` of a body: the dedupe key of last resort (identical bytes)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _receiver(source: WebhookSource) -> Handler:
    name = source.name

    async def receive(request: web.Request) -> web.StreamResponse:
        app = request.app
        metrics = app[WEBHOOK_METRICS]
        if source.missing_setting is not None:
            metrics.deliveries.labels(name, "unavailable").inc()
            return error_response(
                503,
                "webhook_not_configured",
                f"webhook source {name} is not configured: set {source.missing_setting}",
                retry_after=RETRY_AFTER_UNCONFIGURED,
            )
        try:
            body = await read_body(request, app[SETTINGS].webhook_max_body)
        except BodyTooLarge as exc:
            return _rejected(metrics, name, "too_large", 413, "body_too_large", str(exc))
        headers: Headers = request.headers
        if source.is_ping is not None and source.is_ping(headers, body):
            metrics.deliveries.labels(name, "ping").inc()
            log.info("webhook %s: activation ping answered", name, extra={"source": name})
            return _answer("ping")
        try:
            source.verify(headers, body)
        except SignatureError as exc:
            log.warning(
                "webhook %s refused from %s: %s",
                name,
                request.remote,
                exc,
                extra={"source": name},
            )
            return _rejected(metrics, name, exc.reason, 401, f"invalid_{exc.reason}", str(exc))
        headers = _as_text(headers)  # verify() saw them as sent; what follows needs valid text
        try:
            dedupe_key = normalize_key(source.dedupe_key(headers, body))
            translation = source.message(headers, body)
            if translation.key is not None and "\x00" in translation.key:
                raise PayloadError(
                    f"the resource it names ({translation.key!r}) holds a NUL character, "
                    "which PostgreSQL cannot store"
                )
        except (PayloadError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("webhook %s: signed payload unreadable: %s", name, exc)
            message = f"the payload cannot be read: {exc}"
            return _rejected(metrics, name, "payload", 400, "invalid_payload", message)
        received_at = datetime.now(UTC)
        envelope = Envelope.new(translation.message, key=translation.key, occurred_at=received_at)
        intake = Intake(
            source=name,
            dedupe_key=dedupe_key,
            received_at=received_at,
            headers=_kept(headers, source.keep_headers),
            body=body,
            envelope=envelope,
            message_body=encode(translation.message),
        )
        try:
            new = await app[WEBHOOK_INTAKE].submit(intake)
        except IntakeUnavailable as exc:
            metrics.deliveries.labels(name, "unavailable").inc()
            log.error(
                "webhook %s: delivery not stored, answered 503: %s",
                name,
                exc,
                extra={"source": name, "message_id": str(envelope.message_id)},
            )
            return error_response(
                503,
                "intake_unavailable",
                "the delivery could not be stored now; retry later",
                retry_after=RETRY_AFTER_WRITE,
            )
        outcome = "accepted" if new else "duplicate"
        metrics.deliveries.labels(name, outcome).inc()
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "webhook %s %s (%s)",
                name,
                outcome,
                dedupe_key,
                extra={
                    "source": name,
                    "message_id": str(envelope.message_id),
                    "correlation_id": envelope.correlation_id,
                },
            )
        return _answer(outcome)

    return receive


def _rejected(
    metrics: IntakeMetrics, name: str, reason: str, status: int, code: str, message: str
) -> web.Response:
    metrics.deliveries.labels(name, "rejected").inc()
    metrics.rejected.labels(name, reason).inc()
    return error_response(status, code, message)


def _as_text(headers: Headers) -> Headers:
    """``headers`` with a byte that is not UTF-8 read as U+FFFD.

    aiohttp keeps such a byte (a Latin-1 ``é``) as a lone surrogate, which neither ``encode()``
    nor PostgreSQL accept: the delivery would fail with 500, or 503 on every retry.
    """
    if all(value.isascii() for value in headers.values()):
        return headers
    return CIMultiDictProxy(CIMultiDict((name, _valid_text(v)) for name, v in headers.items()))


def _valid_text(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _kept(headers: Headers, names: tuple[str, ...]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for header in names:
        value = headers.get(header)
        if value is not None:
            kept[header] = value.replace("\x00", "")  # jsonb refuses NUL
    return kept


# --- operations: list, replay, purge -------------------------------------------------------


class WebhookDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A stored delivery, as operations see it (the body is left out: see ``size``)."""

    id: int
    source: str
    dedupe_key: str
    received_at: datetime
    headers: dict[str, str]
    size: int
    message_id: UUID
    message_type: str
    message_key: str | None
    replays: int
    last_replayed_at: datetime | None


_LIST = """
SELECT id, source, dedupe_key, received_at, headers, octet_length(body) AS size, message_id,
       message_type, message_key, replays, last_replayed_at
FROM webhook_deliveries
WHERE ($1::text IS NULL OR source = $1) AND id > $2
"""


async def list_deliveries(
    conn: asyncpg.Connection,
    source: str | None = None,
    after_id: int = 0,
    limit: int = 50,
    *,
    newest_first: bool = False,
) -> list[WebhookDelivery]:
    """Deliveries in arrival (id) order after ``after_id``, or the newest ``limit`` first."""
    order = "ORDER BY id DESC" if newest_first else "ORDER BY id"
    rows = await conn.fetch(f"{_LIST} {order} LIMIT $3", source, after_id, limit)
    return [msgspec.convert(dict(r), WebhookDelivery) for r in rows]


async def replay_delivery(conn: asyncpg.Connection, delivery_id: int) -> UUID:
    """Emit the delivery's message again with a new message id (in the caller's transaction).

    The new envelope is caused by, and continues the flow of, the original message; the
    delivery's ``replays`` count goes up. Returns the new message id.
    """
    row = await conn.fetchrow(
        "SELECT message_id, message_type, message_key, message_body FROM webhook_deliveries "
        "WHERE id = $1 FOR UPDATE",
        delivery_id,
    )
    if row is None:
        raise NotFound(f"no webhook delivery {delivery_id}")
    original = str(row["message_id"])
    envelope = Envelope(
        message_id=uuid7(),
        type=row["message_type"],
        correlation_id=original,
        causation_id=original,
        key=row["message_key"],
        occurred_at=datetime.now(UTC),
    )
    await outbox.write(conn, [outbox.Outgoing(envelope, row["message_body"])])
    await conn.execute(
        "UPDATE webhook_deliveries SET replays = replays + 1, last_replayed_at = now() "
        "WHERE id = $1",
        delivery_id,
    )
    log.info(
        "webhook delivery %d replayed as %s",
        delivery_id,
        envelope.message_id,
        extra={"message_id": str(envelope.message_id), "correlation_id": original},
    )
    return envelope.message_id


async def purge_deliveries(conn: asyncpg.Connection, days: int, batch: int = PURGE_BATCH) -> int:
    """Delete deliveries received more than ``days`` ago, in short batches; return how many."""
    total = 0
    while True:
        status = await conn.execute(
            "DELETE FROM webhook_deliveries WHERE id IN ("
            "  SELECT id FROM webhook_deliveries"
            "  WHERE received_at < now() - make_interval(days => $1) LIMIT $2)",
            days,
            batch,
        )
        deleted = int(status.split()[-1])
        total += deleted
        if deleted < batch:
            return total


class RetentionPurger:
    """Purges deliveries past their retention now and then, forever (supervised)."""

    def __init__(self, db: Database, *, days: int, interval: float = PURGE_INTERVAL) -> None:
        self._db = db
        self._days = days
        self._interval = interval

    async def run(self) -> None:
        """Purge, sleep, repeat."""
        while True:
            async with self._db.pool.acquire() as conn:
                purged = await purge_deliveries(conn, self._days)
            if purged:
                log.info("webhooks: purged %d deliveries older than %d days", purged, self._days)
            await asyncio.sleep(self._interval)


# --- cypher-hub webhooks list | replay ------------------------------------------------------


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``webhooks list [--source] [--limit]`` and ``webhooks replay ID...`` to the CLI."""
    wh = subparsers.add_parser("webhooks", help="webhook deliveries: list, replay")
    wsub = wh.add_subparsers(required=True, metavar="ACTION")
    w = wsub.add_parser("list", help="list stored deliveries (the newest, oldest first)")
    w.add_argument("--source", help="only this source (woocommerce, whatsapp, sendgrid)")
    w.add_argument("--limit", type=int, default=50)
    w.add_argument("--after-id", type=int, help="page in id order after this delivery id")
    w.add_argument("--json", action="store_true", help="one JSON object per line")
    w.set_defaults(func=cmd_webhooks_list)
    w = wsub.add_parser("replay", help="emit the messages of deliveries again (new message ids)")
    w.add_argument("ids", type=int, nargs="+")
    w.set_defaults(func=cmd_webhooks_replay)


def _with_db(settings: HubSettings, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        async with open_db(settings) as db, db.transaction() as conn:
            return await work(conn)

    return asyncio.run(run())


def cmd_webhooks_list(settings: HubSettings, args: argparse.Namespace) -> int:
    """List deliveries, newest last."""
    if args.after_id is None:
        rows = _with_db(
            settings,
            lambda conn: list_deliveries(conn, args.source, limit=args.limit, newest_first=True),
        )
        rows.reverse()
    else:
        rows = _with_db(
            settings, lambda conn: list_deliveries(conn, args.source, args.after_id, args.limit)
        )
    if args.json:
        for row in rows:
            print(json.dumps(msgspec.to_builtins(row)))
        return 0
    if not rows:
        print("no webhook deliveries")
        return 0
    print(f"{'ID':>8}  {'RECEIVED AT':19}  {'SOURCE':12} {'MESSAGE TYPE':28} {'REPLAYS':>7}  KEY")
    for r in rows:
        when = r.received_at.strftime("%Y-%m-%d %H:%M:%S")
        print(
            f"{r.id:>8}  {when:19}  {r.source:12} {r.message_type:28} {r.replays:>7}  "
            f"{r.dedupe_key[:60]}"
        )
    return 0


def cmd_webhooks_replay(settings: HubSettings, args: argparse.Namespace) -> int:
    """Re-emit the messages of deliveries."""

    async def replay_all(conn: asyncpg.Connection) -> list[tuple[int, UUID]]:
        return [(i, await replay_delivery(conn, i)) for i in args.ids]

    done = _with_db(settings, replay_all)
    for delivery_id, message_id in done:
        print(f"replayed delivery {delivery_id} as message {message_id}")
    print(f"replayed {len(done)} (a running hub publishes them now)")
    return 0

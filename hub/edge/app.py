"""The aiohttp application factory: one ``cleanup_ctx`` per resource, health and metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub import seeds
from hub.auth import TokenService, purge_refresh_tokens
from hub.bootstrap import ActorFactory, open_bus, open_cache, open_db, running
from hub.db import Database
from hub.edge import auth_routes, ops
from hub.edge.api import EDGE, ActiveUsers, Api, EdgeServices, install
from hub.edge.keys import ACTORS, BUS, CACHE, DB, HUB, PDF, SEEDS, SETTINGS
from hub.edge.webhooks import WebhookSource, setup_webhooks
from hub.pdf import PdfRenderer
from hub.ratelimit import limiter_for
from hub.settings import HubSettings

log = logging.getLogger(__name__)

READY_TIMEOUT = 2.0


def create_app(
    settings: HubSettings,
    *,
    actors: Sequence[ActorFactory] = (),
    webhooks: Sequence[Callable[[HubSettings], WebhookSource]] = (),
    apis: Sequence[Api] = (),
    seeds: Sequence[str] = (),
) -> web.Application:
    """Build the edge. Resources open when the app starts and close, in reverse, when it stops.

    ``webhooks`` are the connectors' webhook source factories (``connectors.WEBHOOKS``);
    ``apis`` the contexts' route groups, served under ``/api/v1`` next to the hub's own
    (authentication, users, API keys, operations, the API documents); ``seeds`` the contexts'
    demo data (``actors.SEEDS``), applied at start when ``demo_data`` says so.
    """
    app = web.Application(client_max_size=max(settings.api_max_body, settings.webhook_max_body))
    app[SETTINGS] = settings
    app[ACTORS] = tuple(actors)
    app[SEEDS] = tuple(seeds)
    app.cleanup_ctx.extend([_database, _seeds, _bus, _cache, _pdf, _runtime, _edge])
    app.on_response_prepare.append(security_headers)
    setup_webhooks(app, [factory(settings) for factory in webhooks])
    install(app, [auth_routes.api, ops.api, *apis])
    app.router.add_get("/health/live", live)
    app.router.add_get("/health/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    async with open_db(app[SETTINGS]) as db:
        app[DB] = db
        yield


async def _seeds(app: web.Application) -> AsyncIterator[None]:
    paths: tuple[str, ...] = app[SEEDS]
    if paths and seeds.wanted(app[SETTINGS]):
        await seeds.apply(app[DB], paths)
    yield


async def _bus(app: web.Application) -> AsyncIterator[None]:
    async with open_bus(app[SETTINGS]) as bus:
        app[BUS] = bus
        yield


async def _cache(app: web.Application) -> AsyncIterator[None]:
    async with open_cache(app[SETTINGS]) as cache:
        app[CACHE] = cache
        yield


async def _pdf(app: web.Application) -> AsyncIterator[None]:
    # the worker processes start on the first document, not with the app
    settings = app[SETTINGS]
    renderer = PdfRenderer(
        workers=settings.pdf_workers,
        max_tasks=settings.pdf_max_tasks,
        timeout=settings.pdf_timeout,
    )
    app[PDF] = renderer
    try:
        yield
    finally:
        await renderer.close()


async def _runtime(app: web.Application) -> AsyncIterator[None]:
    async with running(app[SETTINGS], app[DB], app[BUS], app[CACHE], actors=app[ACTORS]) as hub:
        app[HUB] = hub
        yield


async def _edge(app: web.Application) -> AsyncIterator[None]:
    hub = app[HUB]
    settings = app[SETTINGS]
    app[EDGE] = EdgeServices(
        db=hub.db,
        tokens=TokenService.from_settings(settings),
        limiter=limiter_for(hub.cache),
        settings=settings,
        active_users=ActiveUsers(hub.db),
    )
    hub.supervisor.start("auth-housekeeping", lambda: _purge_refresh_tokens(hub.db))
    async with hub.db.pool.acquire() as conn:
        users = await conn.fetchval("SELECT count(*) FROM auth_users WHERE disabled_at IS NULL")
    if not users:
        log.warning(
            "no user can log in yet: create the first admin with "
            "`cypher-hub users create --email you@ledux.ro --role admin --password-stdin`"
        )
    try:
        yield
    finally:
        await hub.supervisor.stop("auth-housekeeping")


async def _purge_refresh_tokens(db: Database, interval: float = 3600.0) -> None:
    """Forget refresh-token families a day after they expired, hourly, forever (supervised)."""
    while True:
        async with db.pool.acquire() as conn:
            purged = await purge_refresh_tokens(conn)
        if purged:
            log.info("auth: purged %d expired refresh tokens", purged)
        await asyncio.sleep(interval)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers every answer carries; API answers (tokens, personal data) are never cached."""
    headers = response.headers
    headers["Server"] = "cypher-hub"  # not aiohttp's default, which names Python's and its version
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
    if request.path.startswith("/api/"):
        headers.setdefault("Cache-Control", "no-store")


async def live(request: web.Request) -> web.Response:
    """The process is up and its event loop answers."""
    return web.json_response({"status": "live"})


async def ready(request: web.Request) -> web.Response:
    """200 when database, bus and cache answer (``degraded`` if a task is restarting); else 503."""
    app = request.app
    hub = app[HUB]
    checks: dict[str, dict[str, Any]] = {}
    parts: dict[str, tuple[str, Callable[[], Awaitable[None]]]] = {
        "database": (hub.db.mode, hub.db.ping),
        "bus": (hub.bus.mode, hub.bus.ping),
        "cache": (hub.cache.mode, hub.cache.ping),
    }
    results = await asyncio.gather(
        *(_check(ping) for _, ping in parts.values()), return_exceptions=False
    )
    for (name, (mode, _)), error in zip(parts.items(), results, strict=True):
        checks[name] = {"ok": error is None, "mode": mode, **({"error": error} if error else {})}
    tasks = {
        s.name: {"state": s.state, "restarts": s.restarts, "last_error": s.last_error}
        for s in hub.supervisor.status.values()
    }
    # Readiness is about the parts this process needs to take work; a task in its restart
    # backoff shows as "degraded" (and in hub_task_restarts_total) without taking the edge down.
    ok = all(c["ok"] for c in checks.values())
    state = "unavailable" if not ok else "ready" if hub.supervisor.healthy() else "degraded"
    body = {"status": state, "checks": checks, "tasks": tasks}
    return web.json_response(body, status=200 if ok else 503)


async def _check(ping: Callable[[], Awaitable[None]]) -> str | None:
    try:
        async with asyncio.timeout(READY_TIMEOUT):  # not wait_for: see hub.outbox._idle
            await ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text exposition of this hub's registry."""
    payload = generate_latest(request.app[HUB].metrics.registry)
    resp = web.Response(body=payload)
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    resp.charset = "utf-8"
    return resp

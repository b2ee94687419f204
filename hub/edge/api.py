"""The ``/api/v1`` conventions every context's ``api.py`` uses.

A route is declared once, with everything the edge needs to serve and document it::

    api = Api("users")

    @api.post("/api/v1/users/{id}/disable", name="users.disable", roles={Role.admin},
              summary="Disable a user", response=UserView, entity="user")
    async def disable(call: Call[None, None]) -> UserView:
        async with call.transaction() as conn:
            ...

The wrapper authenticates (JWT bearer or API key), checks the route's roles, applies the
per-client rate limit, decodes the query and body with msgspec (unknown fields refused, sizes
limited, a NUL character refused in any text, path included: PostgreSQL cannot store one), checks
object ownership for B2B customers, runs the handler and answers with the envelope
``{"success", "data", "error", "metadata"}``. Every state-changing call is written to the
audit trail — inside the handler's transaction when it uses :meth:`Call.transaction`.
"""

from __future__ import annotations

import base64
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar, get_args

import asyncpg
import msgspec
from aiohttp import web

from hub import audit, outbox
from hub.auth import AuthError, Principal, Role, TokenService, authenticate_api_key
from hub.db import Database
from hub.errors import DomainError, NotFound
from hub.ids import uuid7
from hub.messages import Envelope, Message, encode
from hub.ratelimit import RateLimiter
from hub.settings import HubSettings

log = logging.getLogger(__name__)

B = TypeVar("B")
Q = TypeVar("Q")
T = TypeVar("T")

ALL_ROLES: frozenset[Role] = frozenset(Role)
STAFF: frozenset[Role] = frozenset(Role) - {Role.b2b_customer, Role.service}
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_CURSOR = 512
AUTH_FAILURES = (30, 30)  # failed authentications a minute per address, burst
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_JSON_NUL = b"\\u0000"  # how JSON writes a NUL character in a string
# What PostgreSQL raises for a NUL in text (22021) or in jsonb (22P05).
_UNSTORABLE_TEXT = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)
REQUEST_ID = web.RequestKey("request_id", str)

_encoder = msgspec.json.Encoder(decimal_format="string")


class Public:
    """Marks a route that needs no authentication (login, the API documents)."""

    def __repr__(self) -> str:
        return "PUBLIC"


PUBLIC = Public()


class ApiModel(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of request and response bodies: unknown fields are refused."""


class PageQuery(ApiModel):
    """Cursor pagination: ``limit`` ≤ 200, and the opaque ``cursor`` of the previous page."""

    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    cursor: Annotated[str, msgspec.Meta(max_length=MAX_CURSOR)] | None = None


class Sorting:
    """The orders a list route offers, over indexed columns only, with keyset paging.

    The query struct types its ``sort`` parameter with a ``Literal`` of the choices, so msgspec
    refuses anything else (400) and the OpenAPI document lists them; ``Sorting`` maps each to
    its column and checks, at import, that the two agree::

        UserSort = Literal["id", "-id", "email", "-email"]
        USER_SORT = Sorting(UserSort, id="id", email="lower(email)")

    Rows are ordered by the column, then by ``tiebreak`` (unique), in the same direction, and a
    page continues after the last row's ``(value, tiebreak)``.
    """

    def __init__(self, choices: Any, *, tiebreak: str = "id", **columns: str) -> None:
        offered = set(get_args(choices))
        expected = {n for c in columns for n in (c, f"-{c}")}
        if offered != expected:
            raise ValueError(f"the sort choices {sorted(offered)} must be {sorted(expected)}")
        self.tiebreak = tiebreak
        self.columns = columns

    def _split(self, sort: str) -> tuple[str, bool]:
        name = sort.removeprefix("-")
        if name not in self.columns:  # the query type has already refused it; be sure anyway
            raise ApiError(400, "validation_error", f"cannot sort by {sort!r}")
        return self.columns[name], sort.startswith("-")

    def order_by(self, sort: str) -> str:
        """``ORDER BY column DIR, tiebreak DIR``."""
        column, desc = self._split(sort)
        direction = "DESC" if desc else "ASC"
        return f"ORDER BY {column} {direction}, {self.tiebreak} {direction}"

    def after(self, sort: str, value_param: int, id_param: int) -> str:
        """The keyset condition of the rows after ``($value_param, $id_param)``."""
        column, desc = self._split(sort)
        op = "<" if desc else ">"
        return f"({column}, {self.tiebreak}) {op} (${value_param}, ${id_param})"


class Page(msgspec.Struct, Generic[T]):
    """A page of results; ``next_cursor`` is None on the last page."""

    items: list[T]
    next_cursor: str | None = None


class FieldError(msgspec.Struct, frozen=True):
    """What is wrong with one field of a request."""

    field: str
    message: str


class ErrorBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """The ``error`` member of a failed response."""

    code: str
    message: str
    details: list[FieldError] | None = None


class ApiError(Exception):
    """An error with an HTTP status, a stable code and a human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


def encode_cursor(*values: Any) -> str:
    """An opaque cursor for the position after ``values`` (e.g. the last row's sort key and id)."""
    raw = msgspec.json.encode(list(values))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> tuple[Any, ...]:
    """Inverse of :func:`encode_cursor`; a cursor that is not ours is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw, type=tuple[*types])  # type: ignore[valid-type]
    except (ValueError, msgspec.DecodeError):
        raise ApiError(
            400, "invalid_cursor", "the cursor is not valid; start again without it"
        ) from None
    return tuple(values)


Handler = Callable[["Call[Any, Any]"], Awaitable[Any]]
Owner = Callable[["Call[Any, Any]"], Awaitable[str | None]]


@dataclass(frozen=True)
class Route:
    """Everything declared about one operation."""

    name: str
    method: str
    path: str
    handler: Handler
    roles: frozenset[Role] | Public
    summary: str
    body: type | None = None
    query: type | None = None
    response: type | None = None
    status: int = 200
    rate: tuple[int, int] | None = None  # requests per minute, burst
    owner: Owner | None = None
    entity: str | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    raw: bool = False  # the handler answers with its own response (documents, files)
    mutates: bool | None = None  # None: POST/PUT/PATCH/DELETE change state, GET does not
    errors: frozenset[int] = frozenset()  # statuses beyond the conventions (a login's 401)
    request_types: tuple[str, ...] = ()  # media types of a body the handler reads itself
    response_types: tuple[str, ...] = ("application/json",)  # what a raw route answers with

    @property
    def public(self) -> bool:
        """True when the route needs no authentication."""
        return isinstance(self.roles, Public)

    @property
    def changes_state(self) -> bool:
        """True for POST/PUT/PATCH/DELETE unless declared otherwise: such calls are audited.

        A POST that only computes (a price quote) declares ``mutates=False``.
        """
        return self.method in STATE_CHANGING if self.mutates is None else self.mutates


@dataclass
class Api:
    """A group of routes (one per context), installed into the app by :func:`install`."""

    tag: str
    routes: list[Route] = field(default_factory=list)

    def route(
        self,
        method: str,
        path: str,
        *,
        name: str,
        roles: Iterable[Role] | Public,
        summary: str,
        body: type | None = None,
        query: type | None = None,
        response: type | None = None,
        status: int = 200,
        rate: tuple[int, int] | None = None,
        owner: Owner | None = None,
        entity: str | None = None,
        description: str = "",
        raw: bool = False,
        mutates: bool | None = None,
        errors: Iterable[int] = (),
        request_types: tuple[str, ...] = (),
        response_types: tuple[str, ...] = ("application/json",),
    ) -> Callable[[Handler], Handler]:
        """Declare a route; ``roles`` is required (``PUBLIC`` for no authentication)."""
        admitted: frozenset[Role] | Public = (
            roles if isinstance(roles, Public) else frozenset(roles)
        )
        if not isinstance(admitted, Public) and not admitted:
            raise ValueError(f"route {name} admits no role; declare roles or PUBLIC")
        if request_types and body is not None:
            raise ValueError(f"route {name}: request_types is for a body its handler reads itself")
        if response_types != ("application/json",) and not raw:
            raise ValueError(f"route {name}: response_types is for a raw route (raw=True)")

        def register(fn: Handler) -> Handler:
            self.routes.append(
                Route(
                    name=name,
                    method=method.upper(),
                    path=path,
                    handler=fn,
                    roles=admitted,
                    summary=summary,
                    body=body,
                    query=query,
                    response=response,
                    status=status,
                    rate=rate,
                    owner=owner,
                    entity=entity,
                    tags=(self.tag,),
                    description=description or (fn.__doc__ or "").strip(),
                    raw=raw,
                    mutates=mutates,
                    errors=frozenset(errors),
                    request_types=request_types,
                    response_types=response_types,
                )
            )
            return fn

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Declare a GET route."""
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Declare a POST route."""
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Declare a PUT route."""
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Declare a PATCH route."""
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        """Declare a DELETE route."""
        return self.route("DELETE", path, **kw)


class ActiveUsers:
    """Refuses the access tokens of a user disabled since they were issued.

    A token is verified without the database; whether its user is still enabled is looked up
    and remembered for ``ttl`` seconds, so a disabled user is cut off within ``ttl`` rather
    than at the token's expiry, at one small query per user and ``ttl``.
    """

    def __init__(self, db: Database, *, ttl: float = 10.0, max_users: int = 10_000) -> None:
        self._db = db
        self._ttl = ttl
        self._max = max_users
        self._checked: dict[int, float] = {}

    def forget(self, user_id: int) -> None:
        """Look the user up again on their next request (they were just disabled here)."""
        self._checked.pop(user_id, None)

    async def check(self, user_id: int) -> None:
        """Return if the user is enabled; ``AuthError("account_disabled")`` otherwise."""
        now = time.monotonic()
        if now - self._checked.get(user_id, -math.inf) < self._ttl:
            return
        async with self._db.pool.acquire() as conn:
            enabled = await conn.fetchval(
                "SELECT disabled_at IS NULL FROM auth_users WHERE id = $1", user_id
            )
        if not enabled:
            self._checked.pop(user_id, None)
            raise AuthError("account_disabled")
        if len(self._checked) >= self._max:
            self._checked.clear()
        self._checked[user_id] = now


@dataclass(frozen=True)
class EdgeServices:
    """What the API wrapper needs from the running hub."""

    db: Database
    tokens: TokenService
    limiter: RateLimiter
    settings: HubSettings
    active_users: ActiveUsers

    @property
    def max_body(self) -> int:
        """The largest request body accepted under ``/api`` (``api_max_body``)."""
        return self.settings.api_max_body

    @property
    def default_rate(self) -> tuple[int, int]:
        """Requests per minute and burst of a route that declares no rate of its own."""
        return self.settings.rate_limit_per_minute, self.settings.rate_limit_burst


EDGE = web.AppKey("api_services", EdgeServices)
ROUTES = web.AppKey("api_routes", list[Route])


class Call(Generic[B, Q]):
    """One API call as the handler sees it."""

    def __init__(
        self,
        request: web.Request,
        route: Route,
        services: EdgeServices,
        principal: Principal | None,
        request_id: str,
    ) -> None:
        self.request = request
        self.route = route
        self.principal = principal
        self.request_id = request_id
        self.body: B = None  # type: ignore[assignment]
        self.query: Q = None  # type: ignore[assignment]
        self.services = services
        self.client_ip = client_ip(request, services.settings.trusted_proxies)
        self.db = services.db
        self.metadata: dict[str, Any] = {}
        self._audit: dict[str, Any] = {}
        self._outgoing: list[outbox.Outgoing] = []
        self.audited = False

    def param(self, name: str) -> str:
        """A path parameter."""
        return self.request.match_info[name]

    def int_param(self, name: str) -> int:
        """A path parameter that must be a positive integer (404 otherwise: no such object)."""
        value = self.param(name)
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise ApiError(404, "not_found", f"no {self.route.entity or 'object'} {value!r}")
        return int(value)

    @property
    def actor(self) -> str:
        """``user:12`` / ``api_key:3`` / ``anonymous``: who makes the call, for the audit trail."""
        p = self.principal
        return f"{p.kind}:{p.id}" if p is not None else "anonymous"

    @property
    def customer_scope(self) -> str | None:
        """The customer a B2B principal is bound to (None for staff, who see every customer)."""
        p = self.principal
        if p is not None and is_customer_bound(p):
            return p.customer_id
        return None

    def audit(
        self,
        *,
        entity_id: Any = None,
        before: Any = None,
        after: Any = None,
        actor_name: str | None = None,
    ) -> None:
        """Say what the call changed; written with the call's audit entry.

        ``actor_name`` names who an anonymous call claims to be (the email of a login).
        """
        if actor_name is not None:
            self._audit["actor_name"] = actor_name
        if entity_id is not None:
            self._audit["entity_id"] = str(entity_id)
        if before is not None:
            self._audit["before"] = before
        if after is not None:
            self._audit["after"] = after

    def emit(self, message: Message, *, key: str | None = None) -> None:
        """Publish ``message`` when (and only if) the call's :meth:`transaction` commits.

        The envelope names the caller as its ``actor`` and starts a flow whose correlation id
        is the message id (the request id is logged with it).
        """
        envelope = Envelope.new(message, key=key, actor=self.actor)
        self._outgoing.append(outbox.Outgoing(envelope, encode(message)))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A transaction whose commit includes this call's audit entry (for state changes) and
        the messages it emitted."""
        async with self.db.transaction() as conn:
            yield conn
            if self._outgoing:
                items, self._outgoing = self._outgoing, []
                await outbox.write(conn, items)
            if self.route.changes_state and not self.audited:
                await self.write_audit(conn, self.route.status)

    async def write_audit(self, conn: asyncpg.Connection, status: int) -> None:
        """Record the call in the audit trail on ``conn``."""
        p = self.principal
        await audit.record(
            conn,
            actor=self.actor,
            actor_name=p.name if p else self._audit.get("actor_name"),
            action=self.route.name,
            entity_type=self.route.entity,
            entity_id=self._audit.get("entity_id") or self._path_id(),
            before=self._audit.get("before"),
            after=self._audit.get("after"),
            method=self.request.method,
            path=self.request.path,
            status=status,
            request_id=self.request_id,
            client_ip=self.client_ip,
        )
        self.audited = True

    def _path_id(self) -> str | None:
        for key in ("id", f"{self.route.entity}_id"):
            if key in self.request.match_info:
                return self.request.match_info[key]
        return None


def is_customer_bound(principal: Principal) -> bool:
    """True for a principal that may only see its own customer's records."""
    return Role.b2b_customer in principal.roles and not (principal.roles & STAFF)


def install(app: web.Application, apis: Iterable[Api]) -> None:
    """Add every declared route to ``app`` behind the API wrapper, plus the error middleware."""
    routes = app.setdefault(ROUTES, [])
    for group in apis:
        for route in group.routes:
            app.router.add_route(route.method, route.path, _wrap(route), name=route.name)
            routes.append(route)
    if api_errors not in app.middlewares:
        app.middlewares.append(api_errors)


def _wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        services = request.app[EDGE]
        request_id = _request_id(request)
        request[REQUEST_ID] = request_id
        try:
            principal = await _authenticate(request, services)
        except AuthError:
            if not route.public:
                await _limit_failures(request, services)
                raise
            principal = None  # a stale token does not keep anyone from logging in again
        call: Call[Any, Any] = Call(request, route, services, principal, request_id)
        try:
            _authorise(route, principal)
            await _rate_limit(request, route, services, principal)
            _refuse_nul(request.match_info, "path")
            if route.query is not None:
                call.query = _decode_query(request, route.query)
            if route.body is not None:
                call.body = await _decode_body(request, route.body, services.max_body)
            if route.owner is not None and principal is not None and is_customer_bound(principal):
                await _check_owner(call, route.owner, principal)
            result = await route.handler(call)
        except Exception as exc:
            status = _status_of(exc)
            # Refused changes are recorded too; anonymous ones only on the public routes
            # (login, refresh: failed attempts matter), never their rate-limit refusals.
            known = call.principal is not None or (route.public and status != 429)
            if route.changes_state and known and not call.audited:
                await _audit_failure(call, status)
            raise
        if call._outgoing:
            raise RuntimeError(f"{route.name} emitted messages outside call.transaction()")
        if route.changes_state and not call.audited:
            async with services.db.transaction() as conn:
                await call.write_audit(conn, route.status)
        if isinstance(result, web.StreamResponse):
            return result
        if isinstance(result, Page):
            call.metadata["next_cursor"] = result.next_cursor
            call.metadata["count"] = len(result.items)
            result = result.items
        body = {"success": True, "data": result, "error": None, "metadata": call.metadata}
        return web.Response(
            body=_encoder.encode(body),
            status=route.status,
            content_type="application/json",
            headers={"X-Request-ID": request_id},
        )

    serve.__name__ = route.name
    serve.route = route  # type: ignore[attr-defined]
    return serve


def client_ip(request: web.Request, trusted: tuple[str, ...]) -> str | None:
    """The calling client's address: the connecting one, or, when that is a trusted proxy, the
    nearest address in ``X-Forwarded-For`` that is not one (the rest could be forged)."""
    remote = request.remote
    if remote not in trusted:
        return remote
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return remote


def _request_id(request: web.Request) -> str:
    given = request.headers.get("X-Request-ID", "")
    if 8 <= len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return str(uuid7())


async def _authenticate(request: web.Request, services: EdgeServices) -> Principal | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() == "bearer" and credential:
        principal = services.tokens.verify_access(credential)
        if principal.kind == "user":
            await services.active_users.check(principal.id)
        return principal
    key = request.headers.get("X-API-Key") or (credential if scheme.lower() == "apikey" else "")
    if key:
        async with services.db.pool.acquire() as conn:
            return await authenticate_api_key(conn, key)
    if header:
        raise AuthError("token_invalid", "unsupported Authorization header; use 'Bearer <token>'")
    return None


async def _check_owner(call: Call[Any, Any], owner_of: Owner, principal: Principal) -> None:
    """A B2B principal reaches only its own customer's records: others' are "not found",
    in the same words as an id that does not exist."""
    try:
        owner = await owner_of(call)
    except NotFound:
        owner = None
    if owner is None or owner != principal.customer_id:
        raise ApiError(404, "not_found", f"no {call.route.entity or 'object'} with this id")


async def _limit_failures(request: web.Request, services: EdgeServices) -> None:
    """Count a failed authentication against the client address; too many is a 429."""
    await take_or_refuse(
        services.limiter,
        f"ip:{client_ip(request, services.settings.trusted_proxies)}:auth-failures",
        AUTH_FAILURES,
        "too many failed authentications from this address",
    )


async def take_or_refuse(
    limiter: RateLimiter, key: str, rate: tuple[int, int], too_many: str
) -> None:
    """Take one from ``key``'s bucket (``rate``: per minute, burst); an empty bucket is a 429
    saying ``too many`` and when to retry (``Retry-After``)."""
    per_minute, burst = rate
    wait = await limiter.take(key, per_second=per_minute / 60.0, burst=burst)
    if wait > 0:
        retry = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"{too_many}; retry in {retry} s",
            headers={"Retry-After": str(retry)},
        )


def _authorise(route: Route, principal: Principal | None) -> None:
    if isinstance(route.roles, Public):
        return
    if principal is None:
        raise ApiError(
            401,
            "unauthenticated",
            "sign in: send 'Authorization: Bearer <access token>'",
            headers={"WWW-Authenticate": 'Bearer realm="cypher-hub"'},
        )
    if not principal.roles & route.roles:
        raise ApiError(
            403,
            "forbidden",
            f"this needs one of the roles {', '.join(sorted(route.roles))}",
        )


async def _rate_limit(
    request: web.Request, route: Route, services: EdgeServices, principal: Principal | None
) -> None:
    client = (
        f"{principal.kind}:{principal.id}"
        if principal
        else f"ip:{client_ip(request, services.settings.trusted_proxies)}"
    )
    await take_or_refuse(
        services.limiter,
        f"{client}:{route.name}",
        route.rate or services.default_rate,
        "too many requests",
    )


def _decode_query(request: web.Request, query_type: type[T]) -> T:
    query = dict(request.query)
    _refuse_nul(query, "query")
    try:
        return msgspec.convert(query, query_type, strict=False)
    except msgspec.ValidationError as exc:
        raise _validation_error(exc, "query") from None
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "validation_error", str(exc)) from None


async def _decode_body(request: web.Request, body_type: type[T], limit: int) -> T:
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, "body_too_large", f"the body is larger than {limit} bytes")
    data = bytes(raw)
    try:
        body = msgspec.json.decode(data, type=body_type)
    except msgspec.ValidationError as exc:
        raise _validation_error(exc, "body") from None
    except msgspec.DecodeError as exc:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {exc}") from None
    if _JSON_NUL in data:  # rare: only then is the body walked for the field that holds it
        _refuse_nul(msgspec.json.decode(data), "body")
    return body


def _refuse_nul(values: Any, where: str) -> None:
    """400 naming the first field whose text holds a NUL character, which PostgreSQL refuses."""
    found = _nul_at(values, "")
    if found is None:
        return
    field = found or where  # "" is the whole of ``values``
    message = "must not contain a NUL character (U+0000)"
    raise ApiError(
        400,
        "validation_error",
        f"invalid {where}: {field} {message}",
        details=[FieldError(field=field, message=message)],
    )


def _nul_at(value: Any, path: str) -> str | None:
    """The path (``lines[0].sku``) of the first text in ``value`` that holds a NUL, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, Mapping):
        items = ((f"{path}.{key}" if path else str(key), item) for key, item in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", item) for i, item in enumerate(value))
    else:
        return None
    for name, item in items:
        if "\x00" in name:  # in a key: shown escaped
            return name.replace("\x00", "\\u0000")
        found = _nul_at(item, name)
        if found is not None:
            return found
    return None


def _validation_error(exc: msgspec.ValidationError, where: str) -> ApiError:
    text = str(exc)
    message, _, path = text.partition(" - at `")
    path = path.rstrip("`") or "$"
    name = path.removeprefix("$.") if path != "$" else where
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown is not None:
        name = f"{name}.{unknown.group(1)}" if path != "$" else unknown.group(1)
    return ApiError(
        400,
        "validation_error",
        f"invalid {where}: {message}",
        details=[FieldError(field=name, message=message)],
    )


async def _audit_failure(call: Call[Any, Any], status: int) -> None:
    try:
        async with call.db.transaction() as conn:
            await call.write_audit(conn, status)
    except Exception:
        log.exception("could not audit a failed call to %s", call.route.name)


def _status_of(exc: BaseException) -> int:
    return _error_of(exc)[0]


def _error_of(exc: BaseException) -> tuple[int, ErrorBody, dict[str, str]]:
    if isinstance(exc, ApiError):
        return exc.status, ErrorBody(exc.code, exc.message, exc.details), exc.headers
    if isinstance(exc, _UNSTORABLE_TEXT):  # a NUL that got past _refuse_nul
        message = "a text value holds a character that cannot be stored (a NUL, U+0000)"
        return 400, ErrorBody("validation_error", message), {}
    if isinstance(exc, AuthError):
        headers = {"WWW-Authenticate": f'Bearer realm="cypher-hub", error="{exc.code}"'}
        return 401, ErrorBody(exc.code, str(exc)), headers
    if isinstance(exc, NotFound):
        return 404, ErrorBody("not_found", str(exc)), {}
    if isinstance(exc, DomainError):
        return 422, ErrorBody(exc.code, str(exc)), {}
    return 500, ErrorBody("internal_error", "something went wrong on our side; it is logged"), {}


def error_response(
    status: int, body: ErrorBody, headers: dict[str, str], request_id: str
) -> web.Response:
    """The envelope of a failed call."""
    payload = {
        "success": False,
        "data": None,
        "error": body,
        "metadata": {"request_id": request_id},
    }
    return web.Response(
        body=_encoder.encode(payload),
        status=status,
        content_type="application/json",
        headers={**headers, "X-Request-ID": request_id},
    )


@web.middleware
async def api_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn every error under ``/api/`` into the envelope; never leak a stack trace."""
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}.get(
            exc.status, "http_error"
        )
        body = ErrorBody(code, exc.reason or "error")
        rid = request.get(REQUEST_ID) or _request_id(request)
        return error_response(exc.status, body, {}, rid)
    except Exception as exc:
        status, body, headers = _error_of(exc)
        rid = request.get(REQUEST_ID) or _request_id(request)
        if status == 500:
            log.exception(
                "unhandled error in %s %s", request.method, request.path, extra={"request_id": rid}
            )
        return error_response(status, body, headers, rid)

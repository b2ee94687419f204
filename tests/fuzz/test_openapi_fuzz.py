"""schemathesis against the edge's own OpenAPI document (``GET /api/v1/openapi.json``).

The edge runs as ``cypher-hub serve`` composes its API (the hub's routes and every installed
context's) on PostgreSQL, RabbitMQ and Redis, on a loopback port, in a thread of its own: the
schemathesis calls are blocking ``requests``. An admin is created in the hub's auth store and
logs in through ``POST /api/v1/auth/login`` with its TOTP code, so the calls reach the handlers.

One sweep (positive cases with every check, negative cases with ``not_a_server_error``) runs
over every operation; the tests read its findings, and any finding fails them. What the sweep
found before is pinned below by focused tests with its minimal examples.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pyotp
import pytest
import requests
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, example, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub.auth import Role, create_user
from hub.bus.amqp import AmqpBus
from hub.cli import installed_apis
from hub.edge import auth_routes, ops
from hub.edge.app import create_app
from hub.edge.keys import BUS, DB, SETTINGS
from hub.edge.openapi import build_openapi
from hub.settings import HubSettings, Secret
from tests.conftest import MIGRATIONS, QUEUE_EXPIRES, RUN_ID
from tests.e2e.api_support import AUTH_TABLES, JWT_SECRET, PASSWORD

# The groups `cypher-hub serve` mounts, in its order; the document built here is the one served
# (checked below), so explicit examples can be written against it at import time.
GROUPS = [auth_routes.api, ops.api, *installed_apis()]
DOCUMENT = build_openapi([route for group in GROUPS for route in group.routes])
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
DOCUMENT_OPERATIONS = {
    f"{method.upper()} {path}" for path, item in DOCUMENT["paths"].items() for method in item
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
POSITIVE_EXAMPLES = 3
NEGATIVE_EXAMPLES = 2
ADMIN = "fuzz-admin@ledux.ro"
PROXY = "127.0.0.1"  # the tests call through a "trusted proxy" to pick their client address


# --- the edge, served on a loopback port --------------------------------------------------------


class ServedEdge:
    """The aiohttp app on ``127.0.0.1:<free port>``, run by an event loop in its own thread."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="edge", daemon=True)
        self.runner: web.AppRunner | None = None
        self.port = 0

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        """Run ``coro`` on the edge's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self.thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        app = create_app(self.settings, apis=GROUPS[2:])
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = self.runner.addresses[0][1]

    def stop(self) -> None:
        if self.runner is not None:
            self.run(self._stop(self.runner))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    @staticmethod
    async def _stop(runner: web.AppRunner) -> None:
        bus = runner.app[BUS]
        await runner.cleanup()
        url = runner.app[SETTINGS].amqp_url
        if isinstance(bus, AmqpBus) and url is not None:  # the exchange a queueless hub leaves
            cleaner = AmqpBus(
                url.reveal(),
                prefix=bus.prefix,
                retry_delays=bus.retry_delays,
                queue_expires=bus.queue_expires,
            )
            await cleaner.start()
            try:
                await cleaner.delete_topology([])
            finally:
                await cleaner.close()


@dataclass
class Served:
    """What the tests need: the base URL, an admin's access token, a session."""

    base: str
    token: str
    admin_id: int
    session: requests.Session = field(default_factory=requests.Session)

    def headers(self, client: str = "10.0.0.1") -> dict[str, str]:
        """The admin's credentials, calling as ``client`` (each test its own rate limits)."""
        return {"Authorization": f"Bearer {self.token}", "X-Forwarded-For": client}

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.session.get(self.base + path, headers=self.headers(), timeout=15, **kw)


@pytest.fixture(scope="module")
def served(
    database_url: str, amqp_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The edge as served, with an admin logged in through the API."""
    settings = HubSettings(
        env="test",
        bus_prefix=f"t{RUN_ID}{secrets.token_hex(3)}",
        data_dir=str(tmp_path_factory.mktemp("openapi") / "data"),
        database_url=Secret(database_url),
        amqp_url=Secret(amqp_url),
        redis_url=Secret(redis_url),
        jwt_secret=Secret(JWT_SECRET),
        migrations_dir=str(MIGRATIONS),
        queue_expires=QUEUE_EXPIRES,
        retry_delays=(0.05, 0.1),
        shutdown_timeout=5.0,
        rate_limit_per_minute=1_000_000,  # the sweep must reach handlers, not the default 429
        rate_limit_burst=1_000_000,
        trusted_proxies=(PROXY,),
    )
    edge = ServedEdge(settings)
    edge.start()
    try:
        admin_id, uri = edge.run(_fresh_admin(edge))
        base = f"http://127.0.0.1:{edge.port}"
        login = requests.post(
            f"{base}/api/v1/auth/login",
            json={"email": ADMIN, "password": PASSWORD, "otp": pyotp.parse_uri(uri).now()},
            headers={"X-Forwarded-For": "10.0.0.254"},
            timeout=15,
        )
        assert login.status_code == 200, login.text
        yield Served(base, login.json()["data"]["access_token"], admin_id)
    finally:
        edge.stop()


async def _fresh_admin(edge: ServedEdge) -> tuple[int, str]:
    assert edge.runner is not None
    async with edge.runner.app[DB].pool.acquire() as conn:
        await conn.execute(f"TRUNCATE {AUTH_TABLES} RESTART IDENTITY CASCADE")
        user, uri = await create_user(conn, email=ADMIN, role=Role.admin, password=PASSWORD)
    assert uri is not None
    return user.id, uri


# --- the sweep ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One check that failed on one answer."""

    operation: str
    check: str
    status: int
    message: str


@dataclass
class Sweep:
    """Everything the sweep saw."""

    findings: list[Finding] = field(default_factory=list)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)

    def of(self, checks: set[str]) -> list[Finding]:
        return [f for f in self.findings if f.check in checks]


def _targets_admin(case: Any, admin_id: int) -> bool:
    """Disabling (or resetting) the sweep's own admin would log it out halfway."""
    return case.path.startswith("/api/v1/users/{id}") and str(
        (case.path_parameters or {}).get("id")
    ).strip() == str(admin_id)


def _sweep(op: Any, mode: Any, n: int, checks: list[Any], served: Served, result: Sweep) -> None:
    """Up to ``n`` cases of ``op``; every failed check is recorded, none stops the sweep."""
    if n == 0:
        return
    headers = served.headers("10.0.1.1")

    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(mode))
    def run(case: Any) -> None:
        if _targets_admin(case, served.admin_id):
            reject()
        try:
            response = case.call(
                base_url=served.base, session=served.session, headers=headers, timeout=15
            )
        except (requests.ConnectionError, requests.Timeout) as exc:  # the edge did not answer
            result.findings.append(Finding(op.label, "transport", 0, repr(exc)))
            return
        except requests.RequestException:
            reject()  # requests itself refuses to send it (a header it cannot encode)
        result.statuses[(op.label, response.status_code)] += 1
        for check in checks:
            try:
                case.validate_response(response, checks=[check], headers=headers)
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup
                finding = Finding(op.label, check.__name__, response.status_code, str(exc))
                result.findings.append(finding)

    with contextlib.suppress(Unsatisfiable):  # an operation without inputs has no negative case
        run()


@pytest.fixture(scope="module")
def sweep(served: Served) -> Sweep:
    """Positive and negative cases over every operation of the served document."""
    schema = schemathesis.openapi.from_url(f"{served.base}/api/v1/openapi.json")
    result = Sweep()
    operations = sorted(
        (op.ok() for op in schema.get_all_operations()), key=lambda op: op.method != "get"
    )
    for op in operations:
        _sweep(op, schemathesis.GenerationMode.POSITIVE, POSITIVE_EXAMPLES, CHECKS, served, result)
        _sweep(
            op,
            schemathesis.GenerationMode.NEGATIVE,
            NEGATIVE_EXAMPLES,
            [not_a_server_error],
            served,
            result,
        )
    return result


def _report(findings: list[Finding]) -> str:
    seen: dict[tuple[str, str, int], Finding] = {}
    for f in findings:
        seen.setdefault((f.operation, f.check, f.status), f)
    return "\n\n".join(f"{k}:\n{f.message}" for k, f in seen.items())


def test_the_served_document_is_the_one_the_examples_use(served: Served) -> None:
    response = served.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response.json() == DOCUMENT


def test_schemathesis_gets_no_server_error(served: Served, sweep: Sweep) -> None:
    failed = sweep.of({"not_a_server_error", "transport"})

    assert not failed, _report(failed)
    # the sweep reached the handlers: answers other than 401/403 on most operations
    reached = {op for (op, status), _ in sweep.statuses.items() if status not in (401, 403)}
    assert len(reached) >= 0.9 * len(DOCUMENT_OPERATIONS), sorted(DOCUMENT_OPERATIONS - reached)
    assert served.get("/api/v1/auth/me").status_code == 200, "the sweep's admin was logged out"


def test_every_answer_conforms_to_the_openapi_document(sweep: Sweep) -> None:
    checks = {c.__name__ for c in CHECKS} - {"not_a_server_error"}

    failed = sweep.of(checks)

    assert not failed, _report(failed)


# --- what the fuzzing found, pinned with its minimal examples -----------------------------------

FOCUSED = settings(
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _text_parameters() -> list[tuple[str, str, str, str]]:
    """(method, path, in, name) of every free-text path or query parameter in the document."""
    found = []
    for path, item in DOCUMENT["paths"].items():
        for method, op in item.items():
            for p in op.get("parameters", []):
                schema = p["schema"]
                text = "string" in str(schema.get("type", "")) or any(
                    s.get("type") == "string" for s in schema.get("anyOf", [])
                )
                if text and "enum" not in str(schema) and "format" not in str(schema):
                    found.append((method.upper(), path, p["in"], p["name"]))
    return sorted(found)


TEXT_PARAMETERS = _text_parameters()


@FOCUSED
@example(target=("GET", "/api/v1/orders", "query", "sku"), value="\x00")
@given(
    target=st.sampled_from(TEXT_PARAMETERS),
    value=st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=5), st.text(max_size=5)),
)
def test_a_nul_in_a_text_parameter_is_refused_not_a_500(
    served: Served, target: tuple[str, str, str, str], value: str
) -> None:
    method, path, where, name = target
    params = {name: value} if where == "query" else {}
    url = path.replace("{" + name + "}", quote(value, safe="")) if where == "path" else path
    for other in DOCUMENT["paths"][path][method.lower()].get("parameters", []):
        if other["in"] == "path" and other["name"] != name:
            url = url.replace("{" + other["name"] + "}", "1")

    response = served.session.request(
        method, served.base + url, params=params, headers=served.headers("10.0.2.1"), timeout=15
    )

    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])


LOGIN = SCHEMA["/api/v1/auth/login"]["POST"]
REFRESH = SCHEMA["/api/v1/auth/refresh"]["POST"]


@FOCUSED
@example(case=LOGIN.Case(body={"email": "0", "password": "0"}, media_type="application/json"))
@example(case=REFRESH.Case(body={"refresh_token": "0"}, media_type="application/json"))
@given(case=st.one_of(LOGIN.as_strategy(), REFRESH.as_strategy()))
def test_refused_login_and_refresh_are_documented_answers(served: Served, case: Any) -> None:
    headers = {"X-Forwarded-For": f"10.0.3.{secrets.randbelow(250) + 1}"}
    response = case.call(base_url=served.base, session=served.session, headers=headers)

    case.validate_response(response, checks=[status_code_conformance], headers=headers)


IMPORT = SCHEMA["/api/v1/catalog/import"]["POST"]
EXPORT = SCHEMA["/api/v1/catalog/export"]["GET"]


@FOCUSED
@example(case=IMPORT.Case(query={}))
@given(case=IMPORT.as_strategy())
def test_catalog_import_refusals_are_documented_answers(served: Served, case: Any) -> None:
    headers = served.headers("10.0.4.1")
    response = case.call(base_url=served.base, session=served.session, headers=headers)

    case.validate_response(response, checks=[status_code_conformance], headers=headers)


@FOCUSED
@example(case=EXPORT.Case(query={}))
@given(case=EXPORT.as_strategy())
def test_catalog_export_csv_is_a_documented_content_type(served: Served, case: Any) -> None:
    headers = served.headers("10.0.5.1")
    response = case.call(base_url=served.base, session=served.session, headers=headers)

    case.validate_response(response, checks=[content_type_conformance], headers=headers)

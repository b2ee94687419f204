"""The /api/v1 conventions over HTTP: route table, roles, envelope, validation, paging, limits,
rate limits, security headers and the two API documents."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import msgspec
import pytest
from openapi_spec_validator import validate as validate_openapi

from hub.auth import Principal, Role
from hub.cli import installed_apis
from hub.edge.api import PUBLIC, Api, ApiModel, Call, Page, PageQuery, encode_cursor
from hub.errors import DomainError
from hub.messages import registry
from tests.e2e.api_support import Edge, fill
from tests.support import Add, Counter, eventually

ROOT = Path(__file__).resolve().parents[2]


# --- a test context's routes, served next to the hub's own ----------------------------------

things = Api("things")


class NewThing(ApiModel):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]
    size: Annotated[int, msgspec.Meta(ge=1, le=10)] = 1


class Thing(ApiModel):
    id: int
    name: str


@things.post(
    "/api/v1/things",
    name="things.create",
    roles={Role.sales},
    summary="Create a thing",
    body=NewThing,
    response=Thing,
    status=201,
    entity="thing",
)
async def create_thing(call: Call[NewThing, None]) -> Thing:
    async with call.transaction():
        call.audit(entity_id=7, after={"name": call.body.name})
        call.emit(Add(counter=call.body.name, amount=call.body.size), key=call.body.name)
        if call.body.name == "rollback":
            raise DomainError("refused after emitting: nothing may be sent")
    return Thing(id=7, name=call.body.name)


@things.get(
    "/api/v1/things",
    name="things.list",
    roles={Role.sales},
    summary="List things",
    query=PageQuery,
    response=list[Thing],
)
async def list_things(call: Call[None, PageQuery]) -> Page[Thing]:
    """Thirty things, paged by id."""
    start = int(call.query.cursor) if call.query.cursor and call.query.cursor.isdigit() else 0
    items = [
        Thing(id=i, name=f"t{i}") for i in range(start + 1, min(start + call.query.limit, 30) + 1)
    ]
    more = items and items[-1].id < 30
    return Page(items, str(items[-1].id) if more else None)


@things.get(
    "/api/v1/things/boom",
    name="things.boom",
    roles={Role.sales},
    summary="Fails on our side",
)
async def boom(call: Call[None, None]) -> None:
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture
async def api(start_api: Callable[..., Awaitable[Edge]]) -> Edge:
    """The edge with every installed context's routes, and the test's own."""
    return await start_api(apis=[*installed_apis(), things])


# --- the route table ------------------------------------------------------------------------


async def test_every_api_route_declares_the_roles_it_admits(api: Edge) -> None:
    declared = {(r.method, r.path): r for r in api.routes}
    served = [
        (route.method, route.resource.canonical)
        for route in api.client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    ]
    assert len(served) >= 20
    for method, path in served:
        route = declared.get((method, path))
        assert route is not None, f"{method} {path} is served without a declaration"
        assert route.public or route.roles, f"{route.name} declares no roles"
        assert route.public is (route.roles is PUBLIC)


async def test_declaring_a_route_without_roles_is_refused() -> None:
    with pytest.raises(ValueError, match="admits no role"):
        Api("x").get("/api/v1/x", name="x", roles=set(), summary="x")


async def test_declaring_media_types_a_route_does_not_handle_itself_is_refused() -> None:
    with pytest.raises(ValueError, match="request_types is for a body its handler reads itself"):
        Api("x").post(
            "/api/v1/x", name="x", roles=PUBLIC, summary="x", body=NewThing, request_types=("a/b",)
        )
    with pytest.raises(ValueError, match=r"response_types is for a raw route \(raw=True\)"):
        Api("x").get("/api/v1/x", name="x", roles=PUBLIC, summary="x", response_types=("a/b",))


async def test_every_route_taking_an_id_checks_the_owner_when_b2b_customers_may_call_it(
    api: Edge,
) -> None:
    checked = [
        r
        for r in api.routes
        if "{" in r.path and not r.public and Role.b2b_customer in r.roles  # type: ignore[operator]
    ]
    assert checked, "no route takes an id and admits b2b customers: the check would prove nothing"
    for route in checked:
        assert route.owner is not None, f"{route.name} lets any b2b customer reach any id"


async def test_an_unauthenticated_call_to_any_protected_route_is_401(api: Edge) -> None:
    protected = [r for r in api.routes if not r.public]
    for route in protected:
        status, body, resp = await api.call(route.method, fill(route.path))
        assert status == 401, (route.name, body)
        assert body["error"]["code"] == "unauthenticated"
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert len(protected) >= 15


async def test_a_call_with_a_role_the_route_does_not_admit_is_403(api: Edge) -> None:
    tried = 0
    for route in api.routes:
        if route.public:
            continue
        refused = sorted(set(Role) - route.roles)  # type: ignore[operator]
        for role in refused:
            status, body, _ = await api.call(
                route.method, fill(route.path), token=await api.as_role(role)
            )
            assert status == 403, (route.name, role, body)
            assert body["error"]["code"] == "forbidden"
            tried += 1
    assert tried >= 50


async def test_public_routes_answer_without_credentials_and_despite_a_stale_token(
    api: Edge,
) -> None:
    who = Principal(kind="user", id=1, name="x@ledux.ro", roles=frozenset({Role.sales}))
    stale = api.tokens.issue_access(who, now=datetime(2020, 1, 1, tzinfo=UTC))
    for path in ("/api/v1/openapi.json", "/api/v1/asyncapi.json"):
        for headers in ({}, {"Authorization": f"Bearer {stale}"}):
            resp = await api.client.get(path, headers=headers)
            assert resp.status == 200, path


# --- envelope, validation, errors -----------------------------------------------------------


async def test_success_is_wrapped_in_the_envelope(api: Edge) -> None:
    status, body, resp = await api.call(
        "POST", "/api/v1/things", token=await api.as_role(Role.sales), json={"name": "lamp"}
    )
    assert status == 201
    assert body == {
        "success": True,
        "data": {"id": 7, "name": "lamp"},
        "error": None,
        "metadata": {},
    }
    assert resp.headers["X-Request-ID"]


async def test_unknown_fields_are_refused_naming_the_field(api: Edge) -> None:
    status, body, _ = await api.call(
        "POST",
        "/api/v1/things",
        token=await api.as_role(Role.sales),
        json={"name": "x", "colour": "red"},
    )
    assert status == 400
    assert body["success"] is False and body["data"] is None
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"][0]["field"] == "colour"


async def test_out_of_range_values_name_the_field(api: Edge) -> None:
    status, body, _ = await api.call(
        "POST",
        "/api/v1/things",
        token=await api.as_role(Role.sales),
        json={"name": "x", "size": 11},
    )
    assert status == 400
    assert body["error"]["details"] == [{"field": "size", "message": "Expected `int` <= 10"}]


async def test_a_nul_character_in_any_text_is_refused_naming_the_field(api: Edge) -> None:
    sales = await api.as_role(Role.sales)

    body_nul = await api.call("POST", "/api/v1/things", token=sales, json={"name": "a\x00b"})
    query_nul = await api.call("GET", "/api/v1/things", token=sales, params={"cursor": "\x00"})
    path_nul = await api.call(
        "POST", "/api/v1/users/7%00/disable", token=await api.as_role(Role.admin)
    )

    refused = "must not contain a NUL character (U+0000)"
    for (status, body, _), field in [(body_nul, "name"), (query_nul, "cursor"), (path_nul, "id")]:
        assert status == 400, body
        assert body["error"]["code"] == "validation_error"
        assert body["error"]["details"] == [{"field": field, "message": refused}]
    audited = await api.conn.fetch(
        "SELECT action, path, entity_id FROM audit_log WHERE status = 400 ORDER BY id"
    )
    assert [tuple(r) for r in audited] == [
        ("things.create", "/api/v1/things", None),
        ("users.disable", "/api/v1/users/7\\x00/disable", "7\\x00"),  # NUL spelled out
    ]


async def test_malformed_json_wrong_media_type_and_oversize_bodies(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    api = await start_api(apis=[things], api_max_body=64)
    token = await api.as_role(Role.sales)
    status, body, _ = await api.call(
        "POST",
        "/api/v1/things",
        token=token,
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert (status, body["error"]["code"]) == (400, "malformed_json")
    status, body, _ = await api.call(
        "POST",
        "/api/v1/things",
        token=token,
        data=b"name=x",
        headers={"Content-Type": "text/plain"},
    )
    assert (status, body["error"]["code"]) == (415, "unsupported_media_type")
    status, body, _ = await api.call(
        "POST", "/api/v1/things", token=token, json={"name": "x" * 100}
    )
    assert (status, body["error"]["code"]) == (413, "body_too_large")

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(10):
            yield b'{"name": "' + b"y" * 20

    status, body, _ = await api.call(
        "POST",
        "/api/v1/things",
        token=token,
        data=chunked(),
        headers={"Content-Type": "application/json"},
    )
    assert (status, body["error"]["code"]) == (413, "body_too_large")
    assert await api.conn.fetchval("SELECT count(*) FROM audit_log WHERE status = 201") == 0


async def test_an_internal_error_is_a_500_envelope_without_details(
    api: Edge, caplog: pytest.LogCaptureFixture
) -> None:
    status, body, _ = await api.call(
        "GET", "/api/v1/things/boom", token=await api.as_role(Role.sales)
    )
    assert status == 500
    assert body["error"]["code"] == "internal_error"
    assert "hunter2" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    assert "unhandled error in GET /api/v1/things/boom" in caplog.text


async def test_unknown_api_paths_and_methods_get_the_envelope(api: Edge) -> None:
    status, body, _ = await api.call("GET", "/api/v1/nowhere")
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body, _ = await api.call("DELETE", "/api/v1/openapi.json")
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


async def test_security_headers_on_every_answer(api: Edge) -> None:
    for path in ("/api/v1/auth/me", "/api/v1/openapi.json", "/health/live"):
        resp = await api.client.get(path)
        assert resp.headers["X-Content-Type-Options"] == "nosniff", path
        assert resp.headers["X-Frame-Options"] == "DENY", path
        assert "default-src 'none'" in resp.headers["Content-Security-Policy"], path
    resp = await api.client.get("/api/v1/auth/me")
    assert resp.headers["Cache-Control"] == "no-store"


# --- pagination -----------------------------------------------------------------------------


async def test_cursor_pages_walk_every_item_once(api: Edge) -> None:
    token = await api.as_role(Role.sales)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "7", **({"cursor": cursor} if cursor else {})}
        status, body, _ = await api.call("GET", "/api/v1/things", token=token, params=params)
        assert status == 200, body
        seen += [t["id"] for t in body["data"]]
        assert body["metadata"]["count"] == len(body["data"])
        cursor = body["metadata"]["next_cursor"]
        pages += 1
        if cursor is None:
            break
    assert seen == list(range(1, 31))
    assert pages == 5


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
async def test_a_page_limit_outside_1_to_200_is_refused(api: Edge, limit: str) -> None:
    status, body, _ = await api.call(
        "GET", "/api/v1/things", token=await api.as_role(Role.sales), params={"limit": limit}
    )
    assert status == 400
    assert body["error"]["details"][0]["field"] == "limit"


async def test_unknown_query_parameters_are_refused(api: Edge) -> None:
    status, body, _ = await api.call(
        "GET", "/api/v1/things", token=await api.as_role(Role.sales), params={"sort": "name"}
    )
    assert status == 400
    assert body["error"]["details"][0]["field"] == "sort"


async def test_a_cursor_that_is_not_ours_is_a_400(api: Edge) -> None:
    token = await api.as_role(Role.admin)
    for cursor in ("garbage!", encode_cursor("text"), "e30"):
        status, body, _ = await api.call(
            "GET", "/api/v1/ops/dead-letters", token=token, params={"cursor": cursor}
        )
        assert (status, body["error"]["code"]) == (400, "invalid_cursor"), cursor


# --- rate limits ----------------------------------------------------------------------------


async def test_a_client_over_its_rate_gets_429_with_retry_after(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    api = await start_api(rate_limit_per_minute=60, rate_limit_burst=3)
    alice, bob = await api.person(Role.sales), await api.person(Role.sales)
    statuses = [(await api.call("GET", "/api/v1/auth/me", token=alice))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    status, body, resp = await api.call("GET", "/api/v1/auth/me", token=alice)
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert resp.headers["Retry-After"] == "1"
    # another client has its own bucket
    assert (await api.call("GET", "/api/v1/auth/me", token=bob))[0] == 200


async def test_rate_limits_are_shared_by_every_process_through_redis(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    one = await start_api(rate_limit_per_minute=1, rate_limit_burst=2)
    two = await start_api(
        rate_limit_per_minute=1, rate_limit_burst=2, bus_prefix=one.settings.bus_prefix
    )
    token = await one.as_role(Role.sales)
    assert (await one.call("GET", "/api/v1/auth/me", token=token))[0] == 200
    assert (await two.call("GET", "/api/v1/auth/me", token=token))[0] == 200
    status, _, resp = await two.call("GET", "/api/v1/auth/me", token=token)
    assert status == 429
    assert int(resp.headers["Retry-After"]) > 1


# --- the documents --------------------------------------------------------------------------


async def test_openapi_document_is_valid_and_lists_every_route(api: Edge) -> None:
    resp = await api.client.get("/api/v1/openapi.json")
    doc = await resp.json()
    validate_openapi(doc)  # raises on an invalid OpenAPI 3.1 document
    assert doc["openapi"] == "3.1.0"
    operations = {
        (method.upper(), path): op
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }
    for route in api.routes:
        op = operations.get((route.method, route.path))
        assert op is not None, f"{route.name} is missing from the OpenAPI document"
        assert op["operationId"] == route.name
        assert op["x-roles"] == (["public"] if route.public else sorted(route.roles))  # type: ignore[arg-type]
        assert (op["security"] == []) is route.public
        if route.body is not None:
            assert "requestBody" in op, route.name
        if not route.public:
            assert {"401", "403"} <= set(op["responses"]), route.name
    assert len(operations) == len(api.routes)
    login = operations[("POST", "/api/v1/auth/login")]
    schema_name = login["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = doc["components"]["schemas"][schema_name.rsplit("/", 1)[1]]
    assert set(body["required"]) == {"email", "password"}
    assert body.get("additionalProperties") is False  # unknown fields refused, and documented


def _node_parser() -> Path | None:
    """The official AsyncAPI parser, installed into .cache/ once (npm, from the registry)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None
    prefix = ROOT / ".cache" / "asyncapi-parser"
    if not (prefix / "node_modules" / "@asyncapi" / "parser").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(prefix),
                "@asyncapi/parser@3",
            ],
            check=True,
            timeout=300,
            capture_output=True,
        )
    return prefix


async def test_asyncapi_document_is_valid_and_lists_every_message(
    api: Edge, tmp_path: Path
) -> None:
    resp = await api.client.get("/api/v1/asyncapi.json")
    doc = await resp.json()
    assert doc["asyncapi"].startswith("3.")
    documented = {m["name"] for m in doc["components"]["messages"].values()}
    tags = {tag for tag, _ in registry}
    assert "woocommerce.WebhookReceived" in tags  # the connectors' messages are registered
    assert tags <= documented, tags - documented
    prefix = await asyncio.to_thread(_node_parser)
    if prefix is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed to validate the AsyncAPI document")
        pytest.skip("node/npm not installed: cannot run the official AsyncAPI parser")
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(doc))
    script = ROOT / "tests" / "tools" / "validate_asyncapi.mjs"
    env = {**os.environ, "NODE_PATH": str(prefix / "node_modules")}
    local = prefix / "validate_asyncapi.mjs"  # ESM resolves imports next to the script
    local.write_text(script.read_text())
    done = await asyncio.to_thread(
        subprocess.run,
        ["node", str(local), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("valid")


async def test_behind_a_trusted_proxy_the_forwarded_client_is_limited_and_audited(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    api = await start_api(apis=[things], trusted_proxies=("127.0.0.1",))
    wrong = {"email": "ana@ledux.ro", "password": "not the password"}

    async def login_from(ip: str) -> int:
        headers = {"X-Forwarded-For": f"203.0.113.250, {ip}"}  # the first hop is the client's say
        status, _, _ = await api.call("POST", "/api/v1/auth/login", json=wrong, headers=headers)
        return status

    assert [await login_from("198.51.100.7") for _ in range(6)] == [401] * 5 + [429]
    assert await login_from("198.51.100.8") == 401  # another client behind the same proxy
    ips = await api.conn.fetch("SELECT DISTINCT client_ip FROM audit_log ORDER BY 1")
    assert [r["client_ip"] for r in ips] == ["198.51.100.7", "198.51.100.8"]


async def test_without_trusted_proxies_x_forwarded_for_is_ignored(api: Edge) -> None:
    wrong = {"email": "ana@ledux.ro", "password": "not the password"}
    statuses = []
    for n in range(6):  # a new forged address each time does not escape the limit
        headers = {"X-Forwarded-For": f"198.51.100.{n}"}
        status, _, _ = await api.call("POST", "/api/v1/auth/login", json=wrong, headers=headers)
        statuses.append(status)
    assert statuses == [401] * 5 + [429]


def test_a_sorting_must_offer_exactly_its_columns_both_ways() -> None:
    from typing import Literal

    from hub.edge.api import Sorting

    ok = Sorting(Literal["id", "-id", "at", "-at"], id="id", at="at")
    assert ok.order_by("-at") == "ORDER BY at DESC, id DESC"
    assert ok.after("-at", 3, 4) == "(at, id) < ($3, $4)"
    assert ok.after("id", 1, 2) == "(id, id) > ($1, $2)"
    with pytest.raises(ValueError, match="must be"):
        Sorting(Literal["id", "-id", "name"], id="id", name="name")


async def test_a_call_emits_messages_with_its_transaction_naming_the_caller(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    api = await start_api(apis=[things], actors=(Counter(),))
    token = await api.as_role(Role.sales)
    status, _, _ = await api.call("POST", "/api/v1/things", token=token, json={"name": "rollback"})
    assert status == 422
    status, _, _ = await api.call(
        "POST", "/api/v1/things", token=token, json={"name": "lamp", "size": 3}
    )
    assert status == 201

    async def counted() -> Any:
        return await api.conn.fetchval("SELECT total FROM test_counters WHERE name = 'lamp'")

    assert await eventually(counted) == 3
    sent = await api.conn.fetch("SELECT envelope FROM hub_outbox WHERE type = 'test.Add'")
    assert len(sent) == 1  # the refused call sent nothing
    me = await api.call("GET", "/api/v1/auth/me", token=token)
    assert sent[0]["envelope"]["actor"] == f"user:{me[1]['data']['id']}"
    assert sent[0]["envelope"]["key"] == "lamp"
    assert await api.conn.fetchval("SELECT count(*) FROM test_counters") == 1


NOT_AUDITED = {"pricing.quote"}  # POSTs that only compute; adding one here is a reviewed act


async def test_only_reviewed_computations_opt_out_of_the_audit_trail(api: Edge) -> None:
    opted_out = {r.name for r in api.routes if r.mutates is False}
    assert opted_out == NOT_AUDITED
    for route in api.routes:
        if route.method in {"POST", "PUT", "PATCH", "DELETE"} and route.name not in NOT_AUDITED:
            assert route.changes_state, route.name

"""API5 — broken function level authorisation, beyond the convention tests (which try a user
token of every role on every route): machine credentials with the widest roles they can hold,
refused administration that leaves nothing changed, and a customer-bound credential that can
never also be staff."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from hub.auth import Role, create_api_key
from hub.cli import installed_apis
from hub.errors import DomainError
from tests.e2e.api_support import PASSWORD, Edge, fill

NOT_ADMIN = sorted(set(Role) - {Role.admin, Role.b2b_customer})


async def test_api_keys_reach_only_what_their_roles_admit_on_every_route(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api(apis=installed_apis())
    _, widest = await create_api_key(edge.conn, name="everything-but-admin", roles=NOT_ADMIN)
    _, customer = await create_api_key(
        edge.conn, name="erp", roles=[Role.b2b_customer], customer_id="C-1"
    )
    tried = 0
    for route in edge.routes:
        if route.public:
            continue
        for key, roles in ((widest, set(NOT_ADMIN)), (customer, {Role.b2b_customer})):
            if roles & route.roles:  # type: ignore[operator]
                continue
            status, body, _ = await edge.call(
                route.method, fill(route.path), headers={"X-API-Key": key}
            )
            assert (status, body["error"]["code"]) == (403, "forbidden"), (route.name, roles)
            tried += 1
    admin_only = [
        r.name for r in edge.routes if not r.public and r.roles == frozenset({Role.admin})
    ]
    assert len(admin_only) >= 8 and tried >= 60


async def _insert_user(edge: Edge, role: Role, email: str) -> int:
    """A user row without an argon2 hash to compute: these users never log in."""
    user_id: int = await edge.conn.fetchval(
        "INSERT INTO auth_users (email, role, customer_id, password_hash, totp_secret, "
        "totp_enabled) VALUES ($1, $2, $3, 'not-a-hash', $4, $5) RETURNING id",
        email,
        role.value,
        "C-1" if role is Role.b2b_customer else None,
        "JBSWY3DPEHPK3PXP" if role is Role.admin else None,
        role is Role.admin,
    )
    return user_id


async def test_no_role_but_admin_administers_users_or_keys_and_a_refusal_changes_nothing(
    edge: Edge,
) -> None:
    admin_id = await _insert_user(edge, Role.admin, "boss@ledux.ro")
    other_id = await _insert_user(edge, Role.sales, "ana@ledux.ro")
    await edge.conn.execute("UPDATE auth_users SET disabled_at = now() WHERE id = $1", other_id)
    attempts = [
        ("POST", "/api/v1/users", {"email": "me2@ledux.ro", "role": "admin", "password": PASSWORD}),
        ("POST", f"/api/v1/users/{admin_id}/reset-password", {"password": PASSWORD + "!"}),
        ("POST", f"/api/v1/users/{admin_id}/reset-totp", None),
        ("POST", f"/api/v1/users/{admin_id}/disable", None),
        ("POST", f"/api/v1/users/{other_id}/enable", None),
        ("GET", "/api/v1/audit", None),
        ("POST", "/api/v1/api-keys", {"name": "mine", "roles": ["ops", "sales"]}),
    ]
    users = (
        "SELECT (id, email, role, password_hash, disabled_at, totp_secret)::text FROM auth_users"
    )
    before = sorted(r[0] for r in await edge.conn.fetch(users))
    for role in [*NOT_ADMIN, Role.b2b_customer]:
        user_id = await _insert_user(edge, role, f"{role}@ledux.ro")
        token = edge.token(role, id=user_id, customer="C-1" if role is Role.b2b_customer else None)
        before.append(await edge.conn.fetchval(f"{users} WHERE id = $1", user_id))
        for method, path, body in attempts:
            status, envelope, _ = await edge.call(method, path, token=token, json=body)
            assert status == 403, (role, path, envelope)
        refused = await edge.conn.fetch(
            "SELECT status FROM audit_log WHERE actor = $1", f"user:{user_id}"
        )
        assert [r["status"] for r in refused] == [403] * 6, role  # each on record
    assert sorted(r[0] for r in await edge.conn.fetch(users)) == sorted(before)
    assert await edge.conn.fetchval("SELECT count(*) FROM auth_api_keys") == 0


async def test_a_customer_bound_key_can_never_also_be_staff(edge: Edge) -> None:
    """A credential holding b2b_customer and a staff role would be treated as staff and see
    every customer's records: the key store refuses it, through the API and below it."""
    admin = await edge.person(Role.admin)
    status, body, _ = await edge.call(
        "POST",
        "/api/v1/api-keys",
        token=admin,
        json={"name": "both", "roles": ["b2b_customer", "sales"], "customer_id": "C-1"},
    )
    assert status == 422, body
    with pytest.raises(DomainError):
        await create_api_key(
            edge.conn, name="both", roles=[Role.b2b_customer, Role.sales], customer_id="C-1"
        )
    with pytest.raises(DomainError):  # a customer key bound to no customer
        await create_api_key(edge.conn, name="nobody", roles=[Role.b2b_customer])
    assert await edge.conn.fetchval("SELECT count(*) FROM auth_api_keys") == 0

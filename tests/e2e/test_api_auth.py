"""Authentication and authorisation over HTTP: login, tokens, refresh rotation, TOTP, API keys,
user administration, object-level checks and the audit trail."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pyotp
import pytest

from connectors.woocommerce import webhooks as woocommerce
from connectors.woocommerce.settings import WooCommerceSettings
from hub.auth import Principal, Role, create_api_key
from hub.auth.totp import totp_code
from hub.edge import auth_routes
from hub.settings import Secret
from tests.e2e.api_support import JWT_SECRET, PASSWORD, Edge
from tests.webhook_support import WOO_SECRET, woo_headers, woo_order

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/auth/me"


async def log_in(edge: Edge, email: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    status, body, _ = await edge.call(
        "POST", LOGIN, json={"email": email, "password": password, **extra}
    )
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


async def audit_rows(edge: Edge, action: str) -> list[dict[str, Any]]:
    rows = await edge.conn.fetch("SELECT * FROM audit_log WHERE action = $1 ORDER BY id", action)
    return [dict(r) for r in rows]


# --- login and the access token ---------------------------------------------------------------


async def test_login_gives_tokens_that_identify_the_user(edge: Edge) -> None:
    user_id, _ = await edge.user(Role.sales, email="ana@ledux.ro")
    tokens = await log_in(edge, "Ana@Ledux.ro ")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == round(edge.settings.access_token_ttl)
    status, body, _ = await edge.call("GET", ME, token=tokens["access_token"])
    assert status == 200
    assert body["data"] == {
        "kind": "user",
        "id": user_id,
        "name": "ana@ledux.ro",
        "roles": ["sales"],
        "customer_id": None,
    }
    [entry] = await audit_rows(edge, "auth.login")
    assert entry["actor"] == f"user:{user_id}" and entry["status"] == 200
    assert PASSWORD not in json.dumps({k: str(v) for k, v in entry.items()})


@pytest.mark.parametrize(
    ("email", "password"),
    [("ana@ledux.ro", "wrong password here"), ("nobody@ledux.ro", PASSWORD)],
)
async def test_a_wrong_password_and_an_unknown_email_look_the_same(
    edge: Edge, email: str, password: str
) -> None:
    await edge.user(Role.sales, email="ana@ledux.ro")
    status, body, _ = await edge.call("POST", LOGIN, json={"email": email, "password": password})
    assert status == 401
    assert body["error"] == {
        "code": "invalid_credentials",
        "message": "the email or password is incorrect",
    }


async def test_an_access_token_of_a_user_disabled_elsewhere_is_refused(edge: Edge) -> None:
    user_id, _ = await edge.user(Role.sales, email="ana@ledux.ro")
    token = edge.token(Role.sales, id=user_id)
    # disabled by another process (the CLI): this edge has not seen the user yet
    await edge.conn.execute("UPDATE auth_users SET disabled_at = now() WHERE id = $1", user_id)
    status, body, _ = await edge.call("GET", ME, token=token)
    assert (status, body["error"]["code"]) == (401, "account_disabled")


async def test_a_disabled_user_cannot_log_in(edge: Edge) -> None:
    await edge.user(Role.sales, email="ana@ledux.ro")
    await edge.conn.execute("UPDATE auth_users SET disabled_at = now()")
    status, body, _ = await edge.call(
        "POST", LOGIN, json={"email": "ana@ledux.ro", "password": PASSWORD}
    )
    assert (status, body["error"]["code"]) == (401, "account_disabled")


def _forge(claims: dict[str, Any], key: str = JWT_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def _claims(**over: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    base = {
        "sub": "1",
        "kind": "user",
        "name": "x@ledux.ro",
        "roles": ["admin"],
        "cid": None,
        "iat": now,
        "exp": now + 600,
        "iss": "cypher-hub",
        "jti": "abc",
    }
    return {**base, **over}


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.filterwarnings("ignore:The HMAC key is")  # the HS512 forgery's key length
async def test_expired_tampered_alg_none_and_wrong_key_tokens_are_refused(edge: Edge) -> None:
    user_id, _ = await edge.user(Role.ops)
    assert user_id == 1  # the forged claims name user 1
    good = _forge(_claims(roles=["ops"]))
    assert (await edge.call("GET", ME, token=good))[0] == 200

    old = int((datetime.now(UTC) - timedelta(hours=2)).timestamp())
    expired = _forge(_claims(iat=old, exp=old + 900))
    header, _, signature = good.split(".")
    tampered = f"{header}.{_b64(_claims(roles=['admin']))}.{signature}"
    alg_none = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims())}."
    wrong_key = _forge(_claims(), key="another-key-of-at-least-32-bytes-long!!")
    hs512 = _forge(_claims(), alg="HS512")
    cases = {
        "expired": (expired, "token_expired"),
        "tampered": (tampered, "token_invalid"),
        "alg=none": (alg_none, "token_invalid"),
        "wrong key": (wrong_key, "token_invalid"),
        "HS512": (hs512, "token_invalid"),
        "garbage": ("not-a-jwt", "token_invalid"),
    }
    for name, (token, code) in cases.items():
        status, body, resp = await edge.call("GET", ME, token=token)
        assert status == 401, name
        assert body["error"]["code"] == code, name
        assert f'error="{code}"' in resp.headers["WWW-Authenticate"], name
    status, body, _ = await edge.call("GET", ME, headers={"Authorization": "Basic eDp5"})
    assert (status, body["error"]["code"]) == (401, "token_invalid")


async def test_a_tampered_token_cannot_reach_an_admin_route(edge: Edge) -> None:
    sales = await edge.as_role(Role.sales)
    header, _, signature = sales.split(".")
    promoted = f"{header}.{_b64(_claims(roles=['admin']))}.{signature}"
    status, _, _ = await edge.call("GET", "/api/v1/users", token=promoted)
    assert status == 401


# --- refresh tokens ---------------------------------------------------------------------------


async def test_refresh_rotates_and_reuse_revokes_the_whole_login(edge: Edge) -> None:
    user_id, _ = await edge.user(Role.warehouse, email="dan@ledux.ro")
    first = await log_in(edge, "dan@ledux.ro")
    other_login = await log_in(edge, "dan@ledux.ro")

    status, body, _ = await edge.call(
        "POST", REFRESH, json={"refresh_token": first["refresh_token"]}
    )
    assert status == 200
    second = body["data"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (await edge.call("GET", ME, token=second["access_token"]))[1]["data"]["id"] == user_id

    # the rotated token comes back: someone copied it; the family is signed out
    status, body, _ = await edge.call(
        "POST", REFRESH, json={"refresh_token": first["refresh_token"]}
    )
    assert (status, body["error"]["code"]) == (401, "refresh_reused")
    status, body, _ = await edge.call(
        "POST", REFRESH, json={"refresh_token": second["refresh_token"]}
    )
    assert (status, body["error"]["code"]) == (401, "refresh_invalid")
    # another login (another family) of the same user is untouched
    status, _, _ = await edge.call(
        "POST", REFRESH, json={"refresh_token": other_login["refresh_token"]}
    )
    assert status == 200


async def test_logout_revokes_the_refresh_token(edge: Edge) -> None:
    await edge.user(Role.sales, email="ana@ledux.ro")
    tokens = await log_in(edge, "ana@ledux.ro")
    status, body, _ = await edge.call(
        "POST", LOGOUT, json={"refresh_token": tokens["refresh_token"]}
    )
    assert (status, body["data"]) == (200, {"revoked": True})
    status, body, _ = await edge.call(
        "POST", REFRESH, json={"refresh_token": tokens["refresh_token"]}
    )
    assert (status, body["error"]["code"]) == (401, "refresh_invalid")
    status, body, _ = await edge.call("POST", LOGOUT, json={"refresh_token": "x" * 43})
    assert (status, body["data"]) == (200, {"revoked": False})


async def test_disabling_a_user_through_the_api_ends_their_sessions(edge: Edge) -> None:
    admin_id, _ = await edge.user(Role.admin, email="boss@ledux.ro")
    user_id, _ = await edge.user(Role.sales, email="ana@ledux.ro")
    tokens = await log_in(edge, "ana@ledux.ro")
    assert (await edge.call("GET", ME, token=tokens["access_token"]))[0] == 200
    admin = edge.token(Role.admin, id=admin_id)
    status, body, _ = await edge.call("POST", f"/api/v1/users/{user_id}/disable", token=admin)
    assert status == 200 and body["data"]["disabled_at"] is not None
    status, body, _ = await edge.call(
        "POST", REFRESH, json={"refresh_token": tokens["refresh_token"]}
    )
    assert status == 401
    # the access token issued before is refused too, long before it expires
    status, body, _ = await edge.call("GET", ME, token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (401, "account_disabled")
    [entry] = await audit_rows(edge, "users.disable")
    assert entry["actor"] == f"user:{admin_id}"
    assert entry["entity_type"] == "user" and entry["entity_id"] == str(user_id)
    assert entry["before"]["disabled"] is False and entry["after"]["disabled"] is True


# --- TOTP -------------------------------------------------------------------------------------


async def test_admins_need_a_totp_code_and_a_code_works_once(edge: Edge) -> None:
    _, uri = await edge.user(Role.admin, email="boss@ledux.ro")
    assert uri is not None
    secret = pyotp.parse_uri(uri).secret
    status, body, _ = await edge.call(
        "POST", LOGIN, json={"email": "boss@ledux.ro", "password": PASSWORD}
    )
    assert (status, body["error"]["code"]) == (401, "totp_required")
    status, body, _ = await edge.call(
        "POST", LOGIN, json={"email": "boss@ledux.ro", "password": PASSWORD, "otp": "000000"}
    )
    assert (status, body["error"]["code"]) == (401, "totp_invalid")
    code = totp_code(secret)
    tokens = await log_in(edge, "boss@ledux.ro", otp=code)
    assert (await edge.call("GET", "/api/v1/users", token=tokens["access_token"]))[0] == 200
    status, body, _ = await edge.call(
        "POST", LOGIN, json={"email": "boss@ledux.ro", "password": PASSWORD, "otp": code}
    )
    assert (status, body["error"]["code"]) == (401, "totp_invalid")  # replayed code


async def test_a_user_enrols_in_totp_and_then_needs_it(edge: Edge) -> None:
    user_id, _ = await edge.user(Role.sales, email="ana@ledux.ro")
    token = (await log_in(edge, "ana@ledux.ro"))["access_token"]
    enroll = "/api/v1/auth/totp/enroll"
    status, body, _ = await edge.call("POST", enroll, token=token, json={"password": "guess"})
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")  # a token is not enough
    status, body, _ = await edge.call("POST", enroll, token=token, json={"password": PASSWORD})
    assert status == 200
    secret = pyotp.parse_uri(body["data"]["provisioning_uri"]).secret
    status, body, _ = await edge.call(
        "POST", "/api/v1/auth/totp/confirm", token=token, json={"otp": "123456"}
    )
    assert (status, body["error"]["code"]) == (401, "totp_invalid")
    status, body, _ = await edge.call(
        "POST", "/api/v1/auth/totp/confirm", token=token, json={"otp": totp_code(secret)}
    )
    assert status == 200 and body["data"]["totp_enabled"] is True
    status, body, _ = await edge.call(
        "POST", LOGIN, json={"email": "ana@ledux.ro", "password": PASSWORD}
    )
    assert (status, body["error"]["code"]) == (401, "totp_required")
    entries = await audit_rows(edge, "auth.totp.confirm")
    assert [e["status"] for e in entries] == [401, 200]  # the refused code is recorded too
    assert {e["entity_id"] for e in entries} == {str(user_id)}


async def test_an_api_key_has_no_second_factor_to_enrol(edge: Edge) -> None:
    _, secret = await create_api_key(edge.conn, name="scanner", roles=[Role.warehouse])
    status, body, _ = await edge.call(
        "POST",
        "/api/v1/auth/totp/enroll",
        headers={"X-API-Key": secret},
        json={"password": PASSWORD},
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")


# --- rate limits on login ---------------------------------------------------------------------


async def test_repeated_logins_from_one_address_get_429(edge: Edge) -> None:
    wrong = {"email": "ana@ledux.ro", "password": "not the password"}
    statuses = [(await edge.call("POST", LOGIN, json=wrong))[0] for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    status, body, resp = await edge.call("POST", LOGIN, json=wrong)
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    assert int(resp.headers["Retry-After"]) >= 1


async def test_repeated_logins_to_one_account_get_429(
    edge: Edge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth_routes, "LOGIN_PER_EMAIL", (1, 2))
    await edge.user(Role.sales, email="ana@ledux.ro")
    wrong = {"email": "ana@ledux.ro", "password": "not the password"}
    assert (await edge.call("POST", LOGIN, json=wrong))[0] == 401
    assert (await edge.call("POST", LOGIN, json={**wrong, "email": "ANA@ledux.ro"}))[0] == 401
    status, body, resp = await edge.call("POST", LOGIN, json={**wrong, "password": PASSWORD})
    assert status == 429
    assert "this account" in body["error"]["message"]
    assert int(resp.headers["Retry-After"]) >= 30


async def test_failed_logins_are_in_the_audit_trail_without_the_password(edge: Edge) -> None:
    await edge.user(Role.sales, email="ana@ledux.ro")
    wrong = {"email": "Ana@ledux.ro", "password": "not the password"}
    assert (await edge.call("POST", LOGIN, json=wrong))[0] == 401
    [entry] = await audit_rows(edge, "auth.login")
    assert entry["actor"] == "anonymous" and entry["actor_name"] == "ana@ledux.ro"
    assert entry["status"] == 401
    assert "not the password" not in json.dumps({k: str(v) for k, v in entry.items()})


async def test_failed_authentications_from_one_address_get_429(edge: Edge) -> None:
    statuses = []
    for _ in range(30):  # the burst of AUTH_FAILURES
        status, _, _ = await edge.call("GET", ME, token="forged.token.here")
        statuses.append(status)
    assert statuses == [401] * 30
    status, body, resp = await edge.call("GET", ME, token="forged.token.here")
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert "failed authentications" in body["error"]["message"]
    assert int(resp.headers["Retry-After"]) >= 1


# --- users (admins) ---------------------------------------------------------------------------


async def test_admins_create_list_and_reset_users_with_an_audit_trail(edge: Edge) -> None:
    admin_id, _ = await edge.user(Role.admin, email="boss@ledux.ro")
    admin = edge.token(Role.admin, id=admin_id)
    status, body, _ = await edge.call(
        "POST",
        "/api/v1/users",
        token=admin,
        json={
            "email": "b2b@client.ro",
            "role": "b2b_customer",
            "password": PASSWORD,
            "customer_id": "C-77",
        },
    )
    assert status == 201, body
    new = body["data"]["user"]
    assert new["customer_id"] == "C-77" and body["data"]["totp_provisioning_uri"] is None
    assert "password" not in json.dumps(body["data"]).replace('"password":', "")

    status, body, _ = await edge.call(
        "POST",
        "/api/v1/users",
        token=admin,
        json={"email": "b2b@client.ro", "role": "sales", "password": PASSWORD},
    )
    assert status == 422 and "already exists" in body["error"]["message"]

    status, body, _ = await edge.call(
        "POST",
        f"/api/v1/users/{new['id']}/reset-password",
        token=admin,
        json={"password": "a brand new long passphrase"},
    )
    assert status == 200
    await log_in(edge, "b2b@client.ro", password="a brand new long passphrase")

    emails = []
    cursor = None
    while True:
        params = {"limit": "1", **({"cursor": cursor} if cursor else {})}
        status, body, _ = await edge.call("GET", "/api/v1/users", token=admin, params=params)
        emails += [u["email"] for u in body["data"]]
        cursor = body["metadata"]["next_cursor"]
        if cursor is None:
            break
    assert emails == ["boss@ledux.ro", "b2b@client.ro"]

    status, body, _ = await edge.call(
        "GET", "/api/v1/audit", token=admin, params={"entity_type": "user"}
    )
    assert status == 200
    actions = [(e["action"], e["status"]) for e in body["data"]]
    assert ("users.create", 201) in actions
    assert ("users.create", 422) in actions  # refused changes are recorded too
    assert ("users.reset_password", 200) in actions
    reset = next(e for e in body["data"] if e["action"] == "users.reset_password")
    assert "a brand new" not in json.dumps(reset)
    assert reset["actor"] == f"user:{admin_id}" and reset["entity_id"] == str(new["id"])


async def test_an_admin_replaces_a_lost_second_factor(edge: Edge) -> None:
    admin_id, _ = await edge.user(Role.admin, email="boss@ledux.ro")
    other_id, old_uri = await edge.user(Role.admin, email="deputy@ledux.ro")
    sales_id, _ = await edge.user(Role.sales, email="ana@ledux.ro")
    assert old_uri is not None
    admin = edge.token(Role.admin, id=admin_id)
    status, body, _ = await edge.call("POST", f"/api/v1/users/{other_id}/reset-totp", token=admin)
    assert status == 200
    new_uri = body["data"]["totp_provisioning_uri"]
    assert new_uri and new_uri != old_uri and body["data"]["user"]["totp_enabled"] is True
    old_code = totp_code(pyotp.parse_uri(old_uri).secret)
    new_code = totp_code(pyotp.parse_uri(new_uri).secret)
    if old_code != new_code:
        status, body, _ = await edge.call(
            "POST", LOGIN, json={"email": "deputy@ledux.ro", "password": PASSWORD, "otp": old_code}
        )
        assert (status, body["error"]["code"]) == (401, "totp_invalid")
    await log_in(edge, "deputy@ledux.ro", otp=new_code)
    status, body, _ = await edge.call("POST", f"/api/v1/users/{sales_id}/reset-totp", token=admin)
    assert body["data"]["totp_provisioning_uri"] is None
    assert body["data"]["user"]["totp_enabled"] is False
    assert [e["entity_id"] for e in await audit_rows(edge, "users.reset_totp")] == [
        str(other_id),
        str(sales_id),
    ]


async def test_the_last_admin_cannot_be_disabled(edge: Edge) -> None:
    admin_id, _ = await edge.user(Role.admin, email="boss@ledux.ro")
    status, body, _ = await edge.call(
        "POST", f"/api/v1/users/{admin_id}/disable", token=edge.token(Role.admin, id=admin_id)
    )
    assert status == 422 and "last enabled admin" in body["error"]["message"]


async def test_a_user_id_that_does_not_exist_is_404(edge: Edge) -> None:
    admin = await edge.as_role(Role.admin)
    for path in ("/api/v1/users/999", "/api/v1/users/abc", "/api/v1/users/%C2%B2"):
        status, body, _ = await edge.call("GET", path, token=admin)
        assert (status, body["error"]["code"]) == (404, "not_found"), path


# --- API keys and object-level access --------------------------------------------------------


async def test_an_api_key_authenticates_until_it_is_revoked(edge: Edge) -> None:
    admin = await edge.person(Role.admin)
    status, body, _ = await edge.call(
        "POST", "/api/v1/api-keys", token=admin, json={"name": "ops-bot", "roles": ["ops"]}
    )
    assert status == 201
    secret, key_id = body["data"]["secret"], body["data"]["api_key"]["id"]
    assert secret.startswith("chk_")
    assert "secret" not in json.dumps((await audit_rows(edge, "api_keys.create"))[0]["after"])

    for headers in ({"X-API-Key": secret}, {"Authorization": f"ApiKey {secret}"}):
        status, body, _ = await edge.call("GET", "/api/v1/ops/dead-letters", headers=headers)
        assert status == 200, body
    status, _, _ = await edge.call("GET", "/api/v1/users", headers={"X-API-Key": secret})
    assert status == 403

    status, _, _ = await edge.call("POST", f"/api/v1/api-keys/{key_id}/revoke", token=admin)
    assert status == 200
    status, body, _ = await edge.call(
        "GET", "/api/v1/ops/dead-letters", headers={"X-API-Key": secret}
    )
    assert (status, body["error"]["code"]) == (401, "api_key_invalid")


async def test_no_api_key_can_be_an_admin(edge: Edge) -> None:
    status, body, _ = await edge.call(
        "POST",
        "/api/v1/api-keys",
        token=await edge.as_role(Role.admin),
        json={"name": "root", "roles": ["admin"]},
    )
    assert status == 422 and "admin" in body["error"]["message"]


async def test_a_b2b_customer_reaches_only_its_own_keys(edge: Edge) -> None:
    alpha = await edge.person(Role.b2b_customer, customer="C-ALPHA")
    beta = await edge.person(Role.b2b_customer, customer="C-BETA")

    status, body, _ = await edge.call(
        "POST",
        "/api/v1/api-keys",
        token=alpha,
        json={"name": "alpha-erp", "roles": ["b2b_customer"]},
    )
    assert status == 201
    alpha_key = body["data"]["api_key"]
    assert alpha_key["customer_id"] == "C-ALPHA"
    _, body, _ = await edge.call(
        "POST", "/api/v1/api-keys", token=beta, json={"name": "beta-erp", "roles": ["b2b_customer"]}
    )
    beta_key = body["data"]["api_key"]

    # an id of another customer's record is "not found", whatever the route
    for method, path in (
        ("GET", "/api/v1/api-keys/{}"),
        ("POST", "/api/v1/api-keys/{}/revoke"),
    ):
        status, body, _ = await edge.call(method, path.format(alpha_key["id"]), token=beta)
        assert (status, body["error"]["code"]) == (404, "not_found"), path
        _, missing, _ = await edge.call(method, path.format(999), token=beta)
        assert body["error"] == missing["error"], "another's record must look like a missing one"
    assert (
        await edge.conn.fetchval(
            "SELECT revoked_at FROM auth_api_keys WHERE id = $1", alpha_key["id"]
        )
        is None
    )
    # its own record is there
    status, _, _ = await edge.call("GET", f"/api/v1/api-keys/{beta_key['id']}", token=beta)
    assert status == 200
    # lists hold only its own, whatever filter it asks for
    for params in ({}, {"customer_id": "C-ALPHA"}):
        _, body, _ = await edge.call("GET", "/api/v1/api-keys", token=beta, params=params)
        assert [k["id"] for k in body["data"]] == [beta_key["id"]], params
    # staff see every customer's
    _, body, _ = await edge.call("GET", "/api/v1/api-keys", token=await edge.as_role(Role.admin))
    assert {k["id"] for k in body["data"]} == {alpha_key["id"], beta_key["id"]}


async def test_a_b2b_customer_cannot_mint_wider_keys_or_keys_for_others(edge: Edge) -> None:
    alpha = await edge.as_role(Role.b2b_customer, customer="C-ALPHA")
    for payload in (
        {"name": "wide", "roles": ["ops"]},
        {"name": "mixed", "roles": ["b2b_customer", "sales"]},
        {"name": "theirs", "roles": ["b2b_customer"], "customer_id": "C-BETA"},
    ):
        status, body, _ = await edge.call("POST", "/api/v1/api-keys", token=alpha, json=payload)
        assert (status, body["error"]["code"]) == (403, "forbidden"), payload
    assert await edge.conn.fetchval("SELECT count(*) FROM auth_api_keys") == 0


async def test_an_api_key_cannot_mint_or_revoke_api_keys(edge: Edge) -> None:
    key, secret = await create_api_key(
        edge.conn, name="alpha-erp", roles=[Role.b2b_customer], customer_id="C-ALPHA"
    )
    as_key = {"X-API-Key": secret}
    status, body, _ = await edge.call(
        "POST", "/api/v1/api-keys", headers=as_key, json={"name": "more", "roles": ["b2b_customer"]}
    )
    assert (status, body["error"]["code"]) == (403, "forbidden")
    status, _, _ = await edge.call("POST", f"/api/v1/api-keys/{key.id}/revoke", headers=as_key)
    assert status == 403
    assert await edge.conn.fetchval("SELECT count(*) FROM auth_api_keys") == 1
    assert await edge.conn.fetchval("SELECT revoked_at FROM auth_api_keys") is None


async def test_a_customer_has_at_most_ten_active_keys(edge: Edge) -> None:
    alpha = await edge.person(Role.b2b_customer, customer="C-ALPHA")
    ids = []
    for n in range(10):
        status, body, _ = await edge.call(
            "POST",
            "/api/v1/api-keys",
            token=alpha,
            json={"name": f"k{n}", "roles": ["b2b_customer"]},
        )
        assert status == 201
        ids.append(body["data"]["api_key"]["id"])
    status, body, _ = await edge.call(
        "POST", "/api/v1/api-keys", token=alpha, json={"name": "k10", "roles": ["b2b_customer"]}
    )
    assert status == 422 and "revoke one" in body["error"]["message"]
    assert (await edge.call("POST", f"/api/v1/api-keys/{ids[0]}/revoke", token=alpha))[0] == 200
    status, _, _ = await edge.call(
        "POST", "/api/v1/api-keys", token=alpha, json={"name": "k10", "roles": ["b2b_customer"]}
    )
    assert status == 201


async def test_a_b2b_api_key_is_bound_to_its_customer(edge: Edge) -> None:
    _, secret = await create_api_key(
        edge.conn, name="alpha-erp", roles=[Role.b2b_customer], customer_id="C-ALPHA"
    )
    status, body, _ = await edge.call("GET", ME, headers={"X-API-Key": secret})
    assert status == 200
    assert body["data"]["kind"] == "api_key" and body["data"]["customer_id"] == "C-ALPHA"


async def test_a_token_of_a_b2b_user_carries_its_customer(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    edge = await start_api()
    await edge.user(Role.b2b_customer, email="buyer@client.ro", customer="C-9")
    tokens = await log_in(edge, "buyer@client.ro")
    principal = edge.tokens.verify_access(tokens["access_token"])
    assert principal == Principal(
        kind="user",
        id=principal.id,
        name="buyer@client.ro",
        roles=frozenset({Role.b2b_customer}),
        customer_id="C-9",
    )


# --- operations: dead letters and webhook deliveries ------------------------------------------


async def test_ops_list_and_replay_webhook_deliveries_audited(
    start_api: Callable[..., Awaitable[Edge]],
) -> None:
    shop = WooCommerceSettings(webhook_secret=Secret(WOO_SECRET))
    edge = await start_api(webhooks=[lambda s: woocommerce.source(s, config=shop)])
    for order in (1, 2):
        body = woo_order(order)
        resp = await edge.client.post(
            "/webhooks/woocommerce", data=body, headers=woo_headers(body, topic="order.created")
        )
        assert resp.status == 200
    ops_id, _ = await edge.user(Role.ops)
    ops = edge.token(Role.ops, id=ops_id)
    status, body, _ = await edge.call(
        "GET", "/api/v1/ops/webhooks/deliveries", token=ops, params={"limit": "1"}
    )
    assert status == 200 and len(body["data"]) == 1
    cursor = body["metadata"]["next_cursor"]
    _, rest, _ = await edge.call(
        "GET", "/api/v1/ops/webhooks/deliveries", token=ops, params={"cursor": cursor}
    )
    assert [d["source"] for d in body["data"] + rest["data"]] == ["woocommerce"] * 2
    assert rest["metadata"]["next_cursor"] is None
    delivery = body["data"][0]["id"]
    status, body, _ = await edge.call(
        "POST", f"/api/v1/ops/webhooks/deliveries/{delivery}/replay", token=ops
    )
    assert status == 200
    replays = await edge.conn.fetchval(
        "SELECT replays FROM webhook_deliveries WHERE id = $1", delivery
    )
    assert replays == 1
    [entry] = await audit_rows(edge, "ops.webhooks.replay")
    assert entry["actor"] == f"user:{ops_id}" and entry["entity_id"] == str(delivery)
    assert entry["after"]["message_id"] == body["data"]["message_id"]
    status, _, _ = await edge.call("POST", "/api/v1/ops/webhooks/deliveries/999/replay", token=ops)
    assert status == 404


async def test_users_sort_by_email_either_way_across_pages(edge: Edge) -> None:
    admin_id, _ = await edge.user(Role.admin, email="mara@ledux.ro")
    for email in ("zoe@ledux.ro", "ana@ledux.ro", "dan@ledux.ro", "bob@ledux.ro"):
        await edge.user(Role.sales, email=email)
    admin = edge.token(Role.admin, id=admin_id)

    async def walk(sort: str) -> list[str]:
        emails: list[str] = []
        cursor = None
        while True:
            params = {"limit": "2", "sort": sort, **({"cursor": cursor} if cursor else {})}
            status, body, _ = await edge.call("GET", "/api/v1/users", token=admin, params=params)
            assert status == 200, body
            emails += [u["email"] for u in body["data"]]
            cursor = body["metadata"]["next_cursor"]
            if cursor is None:
                return emails

    ordered = sorted(
        ["mara@ledux.ro", "zoe@ledux.ro", "ana@ledux.ro", "dan@ledux.ro", "bob@ledux.ro"]
    )
    assert await walk("email") == ordered
    assert await walk("-email") == ordered[::-1]
    assert await walk("-id") == [
        "bob@ledux.ro",
        "dan@ledux.ro",
        "ana@ledux.ro",
        "zoe@ledux.ro",
        "mara@ledux.ro",
    ]
    status, body, _ = await edge.call(
        "GET", "/api/v1/users", token=admin, params={"sort": "created_at"}
    )
    assert status == 400 and body["error"]["details"][0]["field"] == "sort"

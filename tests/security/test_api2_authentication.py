"""API2 — broken authentication: what tests/e2e/test_api_auth.py does not already prove.

Altered and guessed API keys, guessed refresh tokens, expired refresh tokens, token-type
confusion, credentials in the URL, tokens of users that no longer exist, and logins that must
not tell which accounts exist (by their error, their rate limit or their duration)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hub.auth import Role, create_api_key
from hub.edge import auth_routes
from tests.e2e.api_support import PASSWORD, Edge

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/auth/me"


async def log_in(edge: Edge, email: str, password: str = PASSWORD) -> dict[str, Any]:
    status, body, _ = await edge.call("POST", LOGIN, json={"email": email, "password": password})
    assert status == 200, body
    tokens: dict[str, Any] = body["data"]
    return tokens


async def refused_until_throttled(attempt: Callable[[int], Awaitable[int]], *, most: int) -> int:
    """How many attempts were refused (401) before the first 429."""
    for n in range(most + 1):
        status = await attempt(n)
        if status == 429:
            return n
        assert status == 401, status
    raise AssertionError(f"still not throttled after {most} refused attempts")


def _flip(text: str, at: int) -> str:
    at %= len(text)
    swapped = "A" if text[at] != "A" else "B"
    return text[:at] + swapped + text[at + 1 :]


async def test_an_altered_or_guessed_api_key_is_refused_and_guessing_is_throttled(
    edge: Edge,
) -> None:
    _, good = await create_api_key(edge.conn, name="scanner", roles=[Role.warehouse])
    _, other = await create_api_key(edge.conn, name="ops-bot", roles=[Role.ops])
    assert (await edge.call("GET", ME, headers={"X-API-Key": good}))[0] == 200
    prefix, public_id, secret = good.split("_", 2)
    other_id = other.split("_", 2)[1]
    altered = {
        "last character of the secret": _flip(good, len(good) - 1),
        "first character of the secret": _flip(good, len(prefix) + len(public_id) + 2),
        "another key's public id": f"{prefix}_{other_id}_{secret}",
        "truncated secret": good[:-1],
        "secret with a character more": good + "A",
        "upper-case prefix": good.upper(),
        "no prefix": f"{public_id}_{secret}",
    }
    for name, key in altered.items():
        for headers in ({"X-API-Key": key}, {"Authorization": f"ApiKey {key}"}):
            status, body, resp = await edge.call("GET", ME, headers=headers)
            assert (status, body["error"]["code"]) == (401, "api_key_invalid"), name
            assert 'error="api_key_invalid"' in resp.headers["WWW-Authenticate"], name

    async def guess(n: int) -> int:
        return (await edge.call("GET", ME, headers={"X-API-Key": _flip(good, -1 - n % 8)}))[0]

    # 14 refused so far; an address may fail 30 times at once (AUTH_FAILURES), then it waits
    assert 14 + await refused_until_throttled(guess, most=30) >= 30
    status, body, resp = await edge.call("GET", ME, headers={"X-API-Key": _flip(good, -2)})
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert int(resp.headers["Retry-After"]) >= 1


async def test_guessing_refresh_tokens_is_throttled(edge: Edge) -> None:
    async def guess(n: int) -> int:
        return (await edge.call("POST", REFRESH, json={"refresh_token": f"{n:02d}" * 22}))[0]

    assert await refused_until_throttled(guess, most=15) >= 10  # REFRESH_RATE: bursts of 10
    status, body, resp = await edge.call("POST", REFRESH, json={"refresh_token": "x" * 43})
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert int(resp.headers["Retry-After"]) >= 1


async def test_an_expired_refresh_token_is_refused(edge: Edge) -> None:
    await edge.user(Role.sales, email="ana@ledux.ro")
    tokens = await log_in(edge, "ana@ledux.ro")
    await edge.conn.execute(
        "UPDATE auth_refresh_tokens SET issued_at = now() - interval '31 days', "
        "expires_at = now() - interval '1 second'"
    )
    status, body, _ = await edge.call(
        "POST", REFRESH, json={"refresh_token": tokens["refresh_token"]}
    )
    assert (status, body["error"]["code"]) == (401, "refresh_expired")
    assert body["data"] is None


async def test_a_refresh_token_is_no_access_token_and_an_access_token_no_refresh_token(
    edge: Edge,
) -> None:
    await edge.user(Role.sales, email="ana@ledux.ro")
    tokens = await log_in(edge, "ana@ledux.ro")
    status, body, _ = await edge.call("GET", ME, token=tokens["refresh_token"])
    assert (status, body["error"]["code"]) == (401, "token_invalid")
    status, body, _ = await edge.call(
        "POST", REFRESH, json={"refresh_token": tokens["access_token"]}
    )
    assert status in (400, 401), body  # too long to be one (400), or unknown (401)
    assert body["data"] is None
    _, key = await create_api_key(edge.conn, name="scanner", roles=[Role.warehouse])
    status, body, _ = await edge.call("GET", ME, token=key)  # a key is not a bearer token
    assert (status, body["error"]["code"]) == (401, "token_invalid")


async def test_credentials_in_the_url_are_ignored(edge: Edge) -> None:
    """Tokens in a URL end up in proxies' logs and browsers' histories: they never count."""
    user_id, _ = await edge.user(Role.sales, email="ana@ledux.ro")
    token = edge.token(Role.sales, id=user_id)
    _, key = await create_api_key(edge.conn, name="scanner", roles=[Role.warehouse])
    for params in (
        {"access_token": token},
        {"token": token},
        {"api_key": key},
        {"apikey": key},
    ):
        status, body, _ = await edge.call("GET", ME, params=params)
        assert (status, body["error"]["code"]) == (401, "unauthenticated"), params


async def test_a_token_of_a_user_that_does_not_exist_is_refused(edge: Edge) -> None:
    """A validly signed token outlives its user (deleted, or a database restored from a backup):
    the edge asks whether the user is still there and enabled."""
    admin = edge.token(Role.admin, id=4242)
    status, body, _ = await edge.call("GET", "/api/v1/users", token=admin)
    assert (status, body["error"]["code"]) == (401, "account_disabled")


async def test_a_login_error_does_not_tell_which_accounts_exist(edge: Edge) -> None:
    """Only the right password learns that an account is disabled or needs a second factor."""
    await edge.user(Role.sales, email="ana@ledux.ro")
    await edge.user(Role.warehouse, email="dan@ledux.ro")
    await edge.user(Role.admin, email="boss@ledux.ro")  # TOTP always on
    await edge.conn.execute(
        "UPDATE auth_users SET disabled_at = now() WHERE email = 'dan@ledux.ro'"
    )
    answers = []
    for email in ("nobody@ledux.ro", "ana@ledux.ro", "dan@ledux.ro", "boss@ledux.ro"):
        status, body, resp = await edge.call(
            "POST", LOGIN, json={"email": email, "password": "not the password at all"}
        )
        answers.append((status, body["error"], resp.headers.get("WWW-Authenticate")))
    assert answers[0][:2] == (
        401,
        {"code": "invalid_credentials", "message": "the email or password is incorrect"},
    )
    assert answers == [answers[0]] * 4


async def test_the_per_account_login_limit_treats_unknown_emails_alike(
    start_api: Callable[..., Awaitable[Edge]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 429 only for real accounts would tell which emails have one."""
    monkeypatch.setattr(auth_routes, "LOGIN_PER_EMAIL", (1, 2))
    edge = await start_api(trusted_proxies=("127.0.0.1",))
    await edge.user(Role.sales, email="ana@ledux.ro")
    answers = {}
    for n, email in enumerate(("ana@ledux.ro", "nobody@ledux.ro")):
        wrong = {"email": email, "password": "not the password at all"}
        client = {"X-Forwarded-For": f"198.51.100.{n}"}  # each its own address: no login limit
        seen = [await edge.call("POST", LOGIN, json=wrong, headers=client) for _ in range(3)]
        answers[email] = [
            (status, body["error"]["code"], body["error"]["message"].split(";")[0])
            for status, body, _ in seen
        ]
    assert answers["ana@ledux.ro"] == answers["nobody@ledux.ro"]
    assert answers["nobody@ledux.ro"][-1] == (
        429,
        "rate_limited",
        "too many login attempts for this account",
    )


async def test_an_unknown_email_takes_as_long_to_refuse_as_a_wrong_password(
    start_api: Callable[..., Awaitable[Edge]], real_passwords: None
) -> None:
    """The unknown email is checked against a dummy hash: without it, it would be refused in a
    millisecond instead of an argon2 verification's tens of milliseconds."""
    edge = await start_api(trusted_proxies=("127.0.0.1",))
    await edge.user(Role.sales, email="ana@ledux.ro")
    durations: dict[str, list[float]] = {"ana@ledux.ro": [], "nobody@ledux.ro": []}
    for attempt in range(3):
        for n, email in enumerate(durations):
            headers = {"X-Forwarded-For": f"198.51.100.{attempt * 2 + n}"}  # no login limit hit
            wrong = {"email": email, "password": "not the password at all"}
            started = time.perf_counter()
            status, _, _ = await edge.call("POST", LOGIN, json=wrong, headers=headers)
            durations[email].append(time.perf_counter() - started)
            assert status == 401
    known, unknown = min(durations["ana@ledux.ro"]), min(durations["nobody@ledux.ro"])
    assert unknown > known / 2, durations


async def test_guessing_the_password_through_totp_enrolment_is_throttled_like_login(
    edge: Edge,
) -> None:
    user_id, _ = await edge.user(Role.sales, email="ana@ledux.ro")
    stolen = edge.token(Role.sales, id=user_id)
    statuses = []
    for n in range(6):  # login answers the 6th guess from one client with a 429
        status, _, _ = await edge.call(
            "POST", "/api/v1/auth/totp/enroll", token=stolen, json={"password": f"guess {n}"}
        )
        statuses.append(status)
    assert statuses[-1] == 429, statuses

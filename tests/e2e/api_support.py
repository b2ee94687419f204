"""Helpers of the API tests: users, tokens and calls against a running edge (``conftest``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiohttp.test_utils import TestClient

from hub.auth import Principal, Role, TokenService, create_user
from hub.edge.api import ROUTES, Route
from hub.settings import HubSettings

JWT_SECRET = "test-signing-key-0123456789-abcdefghijklmnop"
PASSWORD = "correct horse battery staple"
AUTH_TABLES = "auth_api_keys, auth_refresh_tokens, auth_users, audit_log, webhook_deliveries"
_PARAM = re.compile(r"\{(\w+)(?::[^}]*)?\}")


@dataclass
class Edge:
    """A running edge and what the tests need to drive it."""

    client: TestClient
    settings: HubSettings
    conn: asyncpg.Connection
    _people: int = 0
    _as_role: dict[tuple[Role, str | None], str] = field(default_factory=dict)

    @property
    def routes(self) -> list[Route]:
        """Every declared API route."""
        return list(self.client.app[ROUTES])

    @property
    def tokens(self) -> TokenService:
        """A token service with the edge's key."""
        return TokenService.from_settings(self.settings)

    def token(self, role: Role, *, id: int = 1, customer: str | None = None) -> str:
        """An access token for user ``id`` with ``role`` (the edge checks the user is enabled)."""
        if role is Role.b2b_customer and customer is None:
            customer = "C-1"
        principal = Principal(
            kind="user",
            id=id,
            name=f"{role}@ledux.ro",
            roles=frozenset({role}),
            customer_id=customer,
        )
        return self.tokens.issue_access(principal)

    async def user(
        self, role: Role, *, email: str | None = None, customer: str | None = None
    ) -> tuple[int, str | None]:
        """Create a user with :data:`PASSWORD`; its id and (admins) TOTP provisioning URI."""
        if role is Role.b2b_customer and customer is None:
            customer = "C-1"
        user, uri = await create_user(
            self.conn,
            email=email or f"{role}-{customer or 'staff'}@ledux.ro",
            role=role,
            password=PASSWORD,
            customer_id=customer,
        )
        return user.id, uri

    async def person(self, role: Role, *, customer: str | None = None) -> str:
        """An access token of a new user with ``role``."""
        self._people += 1
        email = f"{role}-{customer or 'staff'}-{self._people}@ledux.ro"
        user_id, _ = await self.user(role, email=email, customer=customer)
        return self.token(role, id=user_id, customer=customer)

    async def as_role(self, role: Role, *, customer: str | None = None) -> str:
        """An access token of a user with ``role`` (one user per role and customer)."""
        key = (role, customer)
        if key not in self._as_role:
            self._as_role[key] = await self.person(role, customer=customer)
        return self._as_role[key]

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> tuple[int, dict[str, Any], Any]:
        """``(status, envelope, response)`` of one request."""
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        resp = await self.client.request(method, path, json=json, headers=sent, **kw)
        body = await resp.json()
        return resp.status, body, resp


def fill(path: str, value: str = "1") -> str:
    """A route's path with every parameter set to ``value``."""
    return _PARAM.sub(value, path)

"""Who is calling: roles, the authenticated principal, and the authentication error."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

import msgspec

from hub.errors import HubError


class Role(StrEnum):
    """What a user or API key may do; every route declares the roles it admits."""

    admin = "admin"
    ops = "ops"
    sales = "sales"
    warehouse = "warehouse"
    marketing = "marketing"
    b2b_customer = "b2b_customer"  # bound to one customer: sees only its own records
    service = "service"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """An authenticated caller: a user (from an access token) or an API key.

    ``customer_id`` is set exactly when the principal is a ``b2b_customer``, who is then
    restricted to that customer's records.
    """

    kind: Literal["user", "api_key"]
    id: int
    name: str  # the user's e-mail or the key's name
    roles: frozenset[Role]
    customer_id: str | None = None

    def __post_init__(self) -> None:
        if not self.roles:
            raise ValueError("a principal needs at least one role")
        b2b = Role.b2b_customer in self.roles
        if b2b and not self.customer_id:
            raise ValueError("a b2b_customer principal needs a customer_id")
        if not b2b and self.customer_id is not None:
            raise ValueError("only a b2b_customer principal has a customer_id")

    def has_any(self, roles: Iterable[Role]) -> bool:
        """True if the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)

    @property
    def actor(self) -> str:
        """``"user:12"`` or ``"api_key:3"``: how the audit trail names this principal."""
        return f"{self.kind}:{self.id}"


MESSAGES = {
    "invalid_credentials": "the email or password is incorrect",
    "account_disabled": "this account is disabled; ask an administrator to enable it",
    "totp_required": "a one-time code from your authenticator app is required",
    "totp_invalid": "the one-time code is wrong, expired or already used; wait for the next one",
    "token_expired": "the access token has expired; get a new one with the refresh token",
    "token_invalid": "the access token is invalid; log in again",
    "refresh_invalid": "the refresh token is unknown or revoked; log in again",
    "refresh_expired": "the refresh token has expired; log in again",
    "refresh_reused": (
        "this refresh token was already used, so every session of this login was signed out "
        "as a precaution; log in again"
    ),
    "api_key_invalid": "the API key is unknown, malformed or revoked",
}


class AuthError(HubError):
    """Authentication failed. ``code`` is stable (clients branch on it), the message is human.

    No code or message tells whether an email is registered: an unknown email and a wrong
    password are both ``invalid_credentials``.
    """

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, "authentication failed")
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"AuthError({self.code!r})"

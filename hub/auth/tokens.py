"""Access tokens: short-lived HS256 JWTs, and the signing key they use.

Only HS256 is accepted, whatever the token's header says (so ``alg=none`` and algorithm
confusion are refused), every claim is required and type-checked, and time is checked here
against an injectable ``now`` rather than inside PyJWT.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import secrets
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import jwt
import msgspec

from hub.auth.model import AuthError, Principal, Role
from hub.errors import ConfigError
from hub.settings import HubSettings, project_path

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
CLOCK_SKEW = 60  # seconds a token's iat may lie in the future (clocks of several processes)
SECRET_FILE = "jwt-secret"
_REQUIRED = ["sub", "kind", "name", "roles", "iat", "exp", "iss", "jti"]


class _Claims(msgspec.Struct, frozen=True):
    """The claims of an access token, as they are type-checked on the way in."""

    sub: str
    kind: Literal["user", "api_key"]
    name: str
    roles: list[Role]
    iat: int
    exp: int
    iss: str
    jti: str
    cid: str | None = None


class TokenService:
    """Issues and verifies access tokens with one HMAC key.

    Several hub processes verify each other's tokens when they share the key (see
    :func:`jwt_secret`).
    """

    def __init__(self, secret: bytes, *, access_ttl: float, issuer: str = "cypher-hub") -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"invalid setting CYPHER_JWT_SECRET: the key must be at least "
                f"{MIN_SECRET_BYTES} bytes"
            )
        if access_ttl <= 0:
            raise ConfigError("invalid setting CYPHER_ACCESS_TOKEN_TTL: must be positive")
        self._secret = secret
        self.access_ttl = access_ttl
        self.issuer = issuer

    @classmethod
    def from_settings(cls, settings: HubSettings) -> TokenService:
        """The service configured by ``settings`` (key from :func:`jwt_secret`)."""
        return cls(jwt_secret(settings), access_ttl=settings.access_token_ttl)

    def __repr__(self) -> str:
        return f"TokenService(issuer={self.issuer!r}, access_ttl={self.access_ttl})"

    def issue_access(self, principal: Principal, now: datetime | None = None) -> str:
        """A signed access token for ``principal``, valid for ``access_ttl`` seconds."""
        issued = int((now or datetime.now(UTC)).timestamp())
        claims = {
            "sub": str(principal.id),
            "kind": principal.kind,
            "name": principal.name,
            "roles": sorted(principal.roles),
            "cid": principal.customer_id,
            "iat": issued,
            "exp": issued + max(1, round(self.access_ttl)),
            "iss": self.issuer,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_access(self, token: str, now: datetime | None = None) -> Principal:
        """The principal an access token stands for.

        Raises ``AuthError("token_expired")`` once ``exp`` has passed, and
        ``AuthError("token_invalid")`` for anything else wrong: malformed, bad signature,
        another algorithm (``none`` included), other issuer, missing or mistyped claims,
        unknown role.
        """
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={
                    "require": _REQUIRED,
                    "verify_signature": True,
                    "verify_exp": False,  # checked below against `now`
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
            claims = msgspec.convert(payload, _Claims)
        except (jwt.PyJWTError, msgspec.ValidationError):
            raise AuthError("token_invalid") from None
        moment = (now or datetime.now(UTC)).timestamp()
        if claims.iat > moment + CLOCK_SKEW or claims.exp <= claims.iat:
            raise AuthError("token_invalid")
        if moment >= claims.exp:
            raise AuthError("token_expired")
        try:
            return Principal(
                kind=claims.kind,
                id=int(claims.sub),
                name=claims.name,
                roles=frozenset(claims.roles),
                customer_id=claims.cid,
            )
        except ValueError:
            raise AuthError("token_invalid") from None


def jwt_secret(settings: HubSettings) -> bytes:
    """The HMAC key for access tokens.

    ``CYPHER_JWT_SECRET`` when set (at least 32 bytes). Otherwise, outside production, a random
    key kept in ``<data_dir>/jwt-secret`` (mode 0600): created by the first process that needs
    it and read by every later one, so processes and restarts agree.
    """
    if settings.jwt_secret is not None:
        secret = settings.jwt_secret.reveal().encode()
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"invalid setting CYPHER_JWT_SECRET: it must be at least {MIN_SECRET_BYTES} "
                "bytes; generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'"
            )
        return secret
    if settings.env == "production":
        raise ConfigError("missing setting CYPHER_JWT_SECRET: required when CYPHER_ENV=production")
    return _local_secret(project_path(settings.data_dir) / SECRET_FILE)


def _local_secret(path: Path) -> bytes:
    if not path.exists():
        _create_secret_file(path)
    if path.stat().st_mode & 0o077:
        log.warning("the JWT key file %s is readable by others; chmod 600 it", path)
    secret = path.read_bytes().strip()
    if len(secret) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"the JWT key file {path} is damaged (too short); delete it to have a new one "
            "made (everyone will have to log in again), or set CYPHER_JWT_SECRET"
        )
    return secret


def _create_secret_file(path: Path) -> None:
    """Write a new key next to ``path`` and link it into place: of racing processes, one wins
    and every process then reads a complete file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    key = base64.urlsafe_b64encode(secrets.token_bytes(48))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(key + b"\n")
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(tmp, path)
            log.warning(
                "no CYPHER_JWT_SECRET set: created a local signing key in %s "
                "(fine for development; set CYPHER_JWT_SECRET in production)",
                path,
            )
    finally:
        tmp.unlink(missing_ok=True)

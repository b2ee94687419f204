"""Authentication and user administration over ``/api/v1``.

Login hands out a short-lived access token (JWT) and a refresh token; the refresh token is
rotated on every use and its reuse signs the whole login out (see :mod:`hub.auth.refresh`).
Admins manage users; admins and B2B customers manage API keys (a B2B customer only its own,
bound to its customer and to the ``b2b_customer`` role).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec

from hub.auth import (
    ApiKey,
    Principal,
    Role,
    User,
    check_password,
    confirm_totp,
    create_api_key,
    create_user,
    disable_user,
    enable_user,
    enroll_totp,
    get_api_key,
    get_user,
    issue_refresh,
    list_api_keys,
    login,
    reset_password,
    reset_totp,
    revoke_api_key,
    revoke_refresh,
    rotate_refresh,
)
from hub.auth.users import USER_COLUMNS
from hub.db import record_to
from hub.edge.api import (
    ALL_ROLES,
    PUBLIC,
    Api,
    ApiError,
    ApiModel,
    Call,
    Page,
    PageQuery,
    Sorting,
    decode_cursor,
    encode_cursor,
    is_customer_bound,
    take_or_refuse,
)
from hub.errors import DomainError

api = Api("auth")
Listed = TypeVar("Listed", User, ApiKey)

LOGIN_RATE = (10, 5)  # per client (an address, or the user enrolling TOTP): 10 a minute, burst 5
LOGIN_PER_EMAIL = (6, 10)  # per account, from any address: slows password and TOTP guessing
REFRESH_RATE = (30, 10)

Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Otp = Annotated[str, msgspec.Meta(pattern=r"^\s*\d{6}\s*$")]
Token = Annotated[str, msgspec.Meta(min_length=16, max_length=256)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
CustomerId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


# --- bodies -------------------------------------------------------------------------------


class LoginRequest(ApiModel):
    """Credentials; ``otp`` is the authenticator code, required once TOTP is on (admins)."""

    email: Email
    password: Password
    otp: Otp | None = None


class RefreshRequest(ApiModel):
    """A refresh token from the login or the previous refresh."""

    refresh_token: Token


class Tokens(ApiModel):
    """What a login or a refresh hands out. Keep ``refresh_token`` secret: it is used once."""

    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int  # seconds the access token is valid


class LogoutResult(ApiModel):
    """Whether the refresh token was known (its whole login is revoked then)."""

    revoked: bool


class Me(ApiModel):
    """The caller as the hub sees it."""

    kind: Literal["user", "api_key"]
    id: int
    name: str
    roles: list[Role]
    customer_id: str | None


class TotpEnrollment(ApiModel):
    """Scan ``provisioning_uri`` (as a QR code) into an authenticator app, then confirm a code."""

    provisioning_uri: str


class TotpEnroll(ApiModel):
    """The account's password: a stolen access token alone cannot change the second factor."""

    password: Password


class TotpConfirm(ApiModel):
    """The first code shown by the authenticator app."""

    otp: Otp


class NewUser(ApiModel):
    """A user to create; ``customer_id`` only, and always, for ``b2b_customer``."""

    email: Email
    role: Role
    password: Password
    customer_id: CustomerId | None = None


class CreatedUser(ApiModel):
    """The new user and, for an admin, the TOTP URI to enrol with (shown only now)."""

    user: User
    totp_provisioning_uri: str | None


class NewPassword(ApiModel):
    """The password to set (the policy in docs/AUTH.md applies)."""

    password: Password


UserSort = Literal["id", "-id", "email", "-email"]
USER_SORT = Sorting(UserSort, id="id", email="lower(email)")


class UserQuery(PageQuery):
    """Filters and order of the user list."""

    role: Role | None = None
    include_disabled: bool = True
    sort: UserSort = "id"


class NewApiKey(ApiModel):
    """A key to create. A B2B customer may only create ``b2b_customer`` keys for itself."""

    name: Name
    roles: Annotated[list[Role], msgspec.Meta(min_length=1, max_length=len(Role))]
    customer_id: CustomerId | None = None


class CreatedApiKey(ApiModel):
    """The new key and its secret, which is shown this once and never again."""

    api_key: ApiKey
    secret: str


class ApiKeyQuery(PageQuery):
    """Filters for the API key list."""

    customer_id: CustomerId | None = None
    include_revoked: bool = False


# --- login, refresh, logout ---------------------------------------------------------------


@api.post(
    "/api/v1/auth/login",
    name="auth.login",
    roles=PUBLIC,
    summary="Log in with email, password and (when enabled) a TOTP code",
    body=LoginRequest,
    response=Tokens,
    errors={401},  # a wrong password or TOTP code
    rate=LOGIN_RATE,
    entity="user",
)
async def do_login(call: Call[LoginRequest, None]) -> Tokens:
    """An access token (short-lived) and a refresh token (rotated on use)."""
    body = call.body
    call.audit(actor_name=body.email.strip().lower())  # failed attempts are recorded too
    await _limit_password_guesses(call, body.email)
    otp = body.otp.strip() if body.otp else None
    async with call.transaction() as conn:
        principal = await login(conn, email=body.email, password=body.password, otp=otp)
        refresh = await issue_refresh(
            conn, principal.id, ttl=call.services.settings.refresh_token_ttl
        )
        call.principal = principal
        call.audit(entity_id=principal.id)
    return _tokens(call, principal, refresh)


@api.post(
    "/api/v1/auth/refresh",
    name="auth.refresh",
    roles=PUBLIC,
    summary="Exchange a refresh token for new tokens (the old one stops working)",
    body=RefreshRequest,
    response=Tokens,
    errors={401},  # an expired, revoked or reused refresh token
    rate=REFRESH_RATE,
    entity="user",
)
async def do_refresh(call: Call[RefreshRequest, None]) -> Tokens:
    """Presenting a refresh token twice revokes every token of that login."""
    ttl = call.services.settings.refresh_token_ttl
    async with call.db.pool.acquire() as conn:
        # rotate_refresh commits on its own, so a detected reuse stays revoked
        user_id, refresh = await rotate_refresh(conn, call.body.refresh_token, ttl=ttl)
        principal = (await get_user(conn, user_id)).principal()
    call.principal = principal
    call.audit(entity_id=user_id)
    return _tokens(call, principal, refresh)


@api.post(
    "/api/v1/auth/logout",
    name="auth.logout",
    roles=PUBLIC,
    summary="Log out: revoke the refresh token and every token rotated from it",
    body=RefreshRequest,
    response=LogoutResult,
    rate=REFRESH_RATE,
)
async def do_logout(call: Call[RefreshRequest, None]) -> LogoutResult:
    """Works with an expired access token too: the refresh token is the proof."""
    async with call.transaction() as conn:
        revoked = await revoke_refresh(conn, call.body.refresh_token)
        call.audit(after={"revoked": revoked})
    return LogoutResult(revoked=revoked)


async def _limit_password_guesses(call: Call[Any, Any], email: str) -> None:
    """Take one attempt from the account's own bucket (every address together), before its
    password is checked: login and TOTP enrolment share it, so neither guesses past the other."""
    await take_or_refuse(
        call.services.limiter,
        f"login:{email.strip().lower()}",
        LOGIN_PER_EMAIL,
        "too many login attempts for this account",
    )


def _tokens(call: Call[Any, Any], principal: Principal, refresh: str) -> Tokens:
    tokens = call.services.tokens
    return Tokens(
        access_token=tokens.issue_access(principal),
        refresh_token=refresh,
        token_type="Bearer",
        expires_in=round(tokens.access_ttl),
    )


# --- the caller ---------------------------------------------------------------------------


@api.get(
    "/api/v1/auth/me",
    name="auth.me",
    roles=ALL_ROLES,
    summary="Who am I: kind, id, name, roles and customer",
    response=Me,
)
async def me(call: Call[None, None]) -> Me:
    """The authenticated principal behind the token or API key."""
    p = _principal(call)
    return Me(kind=p.kind, id=p.id, name=p.name, roles=sorted(p.roles), customer_id=p.customer_id)


@api.post(
    "/api/v1/auth/totp/enroll",
    name="auth.totp.enroll",
    roles=ALL_ROLES,
    summary="Start TOTP enrolment for the calling user (needs the password)",
    body=TotpEnroll,
    response=TotpEnrollment,
    rate=LOGIN_RATE,
    entity="user",
)
async def totp_enroll(call: Call[TotpEnroll, None]) -> TotpEnrollment:
    """Returns the provisioning URI; TOTP is required only after a code is confirmed. The
    password is a guess like a login's: the same limits hold it (an access token may be stolen)."""
    user_id = _user_id(call)
    issuer = call.services.settings.totp_issuer
    call.audit(entity_id=user_id)
    async with call.transaction() as conn:
        await _limit_password_guesses(call, (await get_user(conn, user_id)).email)
        await check_password(conn, user_id, call.body.password)
        uri = await enroll_totp(conn, user_id, issuer=issuer)
        call.audit(after={"totp": "pending"})
    return TotpEnrollment(provisioning_uri=uri)


@api.post(
    "/api/v1/auth/totp/confirm",
    name="auth.totp.confirm",
    roles=ALL_ROLES,
    summary="Confirm TOTP enrolment with a first code; logins need a code from now on",
    body=TotpConfirm,
    response=User,
    entity="user",
)
async def totp_confirm(call: Call[TotpConfirm, None]) -> User:
    """A wrong code leaves the enrolment pending."""
    user_id = _user_id(call)
    call.audit(entity_id=user_id)  # a refused code is recorded against the user too
    async with call.transaction() as conn:
        user = await confirm_totp(conn, user_id, call.body.otp.strip())
        call.audit(before={"totp_enabled": False}, after={"totp_enabled": True})
    return user


def _principal(call: Call[Any, Any]) -> Principal:
    assert call.principal is not None  # the route admits roles, so the wrapper authenticated
    return call.principal


def _person(call: Call[Any, Any]) -> Principal:
    """The caller, who must be a person: API keys do not mint or revoke API keys."""
    p = _principal(call)
    if p.kind != "user":
        raise ApiError(
            403, "forbidden", "API keys are managed by a person logged in, not by another key"
        )
    return p


def _user_id(call: Call[Any, Any]) -> int:
    p = _principal(call)
    if p.kind != "user":
        raise ApiError(403, "forbidden", "only a person logged in as a user has a second factor")
    return p.id


# --- users (admins) -----------------------------------------------------------------------

ADMIN = {Role.admin}


@api.get(
    "/api/v1/users",
    name="users.list",
    roles=ADMIN,
    summary="List users",
    query=UserQuery,
    response=list[User],
)
async def users_list(call: Call[None, UserQuery]) -> Page[User]:
    """By id (creation order) or email, either way; filter by role, leave out disabled ones."""
    q = call.query
    by_email = q.sort.removeprefix("-") == "email"
    keyset = "true"
    args: list[object] = [q.role.value if q.role else None, q.include_disabled, q.limit + 1]
    if q.cursor:
        value, last_id = decode_cursor(q.cursor, str if by_email else int, int)
        keyset = USER_SORT.after(q.sort, 4, 5)
        args += [value, last_id]
    async with call.db.pool.acquire() as conn:
        rows = await conn.fetch(
            f"""
            SELECT {USER_COLUMNS} FROM auth_users
            WHERE ($1::text IS NULL OR role = $1) AND ($2 OR disabled_at IS NULL) AND {keyset}
            {USER_SORT.order_by(q.sort)} LIMIT $3
            """,
            *args,
        )
    users: list[User] = [record_to(User, r) for r in rows[: q.limit]]
    if len(rows) <= q.limit:
        return Page(users, None)
    last = users[-1]
    return Page(users, encode_cursor(last.email.lower() if by_email else last.id, last.id))


@api.post(
    "/api/v1/users",
    name="users.create",
    roles=ADMIN,
    summary="Create a user",
    body=NewUser,
    response=CreatedUser,
    status=201,
    entity="user",
)
async def users_create(call: Call[NewUser, None]) -> CreatedUser:
    """An admin gets a TOTP secret at once: the URI is returned only in this answer."""
    b = call.body
    issuer = call.services.settings.totp_issuer
    async with call.transaction() as conn:
        user, uri = await create_user(
            conn,
            email=b.email,
            role=b.role,
            password=b.password,
            customer_id=b.customer_id,
            issuer=issuer,
        )
        call.audit(entity_id=user.id, after=_user_audit(user))
    return CreatedUser(user=user, totp_provisioning_uri=uri)


@api.get(
    "/api/v1/users/{id}",
    name="users.get",
    roles=ADMIN,
    summary="Show a user",
    response=User,
    entity="user",
)
async def users_get(call: Call[None, None]) -> User:
    """Everything but the password hash and the TOTP secret."""
    async with call.db.pool.acquire() as conn:
        return await get_user(conn, call.int_param("id"))


@api.post(
    "/api/v1/users/{id}/disable",
    name="users.disable",
    roles=ADMIN,
    summary="Disable a user and revoke their refresh tokens",
    response=User,
    entity="user",
)
async def users_disable(call: Call[None, None]) -> User:
    """The last enabled admin cannot be disabled."""
    user_id = call.int_param("id")
    async with call.transaction() as conn:
        before = await get_user(conn, user_id)
        after = await disable_user(conn, user_id)
        call.audit(before=_user_audit(before), after=_user_audit(after))
    call.services.active_users.forget(user_id)
    return after


@api.post(
    "/api/v1/users/{id}/enable",
    name="users.enable",
    roles=ADMIN,
    summary="Enable a disabled user",
    response=User,
    entity="user",
)
async def users_enable(call: Call[None, None]) -> User:
    """They log in again: tokens revoked at disable stay revoked."""
    user_id = call.int_param("id")
    async with call.transaction() as conn:
        before = await get_user(conn, user_id)
        after = await enable_user(conn, user_id)
        call.audit(before=_user_audit(before), after=_user_audit(after))
    return after


@api.post(
    "/api/v1/users/{id}/reset-password",
    name="users.reset_password",
    roles=ADMIN,
    summary="Set a new password for a user and revoke their refresh tokens",
    body=NewPassword,
    response=User,
    entity="user",
)
async def users_reset_password(call: Call[NewPassword, None]) -> User:
    """The password itself is never written to the audit trail."""
    user_id = call.int_param("id")
    async with call.transaction() as conn:
        user = await reset_password(conn, user_id, call.body.password)
        call.audit(after={"password": "changed", "sessions": "revoked"})
    return user


@api.post(
    "/api/v1/users/{id}/reset-totp",
    name="users.reset_totp",
    roles=ADMIN,
    summary="Replace a user's second factor (lost phone) and revoke their refresh tokens",
    response=CreatedUser,
    entity="user",
)
async def users_reset_totp(call: Call[None, None]) -> CreatedUser:
    """An admin gets a new TOTP secret at once (URI in this answer only); others lose TOTP
    until they enrol again."""
    user_id = call.int_param("id")
    issuer = call.services.settings.totp_issuer
    async with call.transaction() as conn:
        before = await get_user(conn, user_id)
        user, uri = await reset_totp(conn, user_id, issuer=issuer)
        call.audit(before=_user_audit(before), after={**_user_audit(user), "sessions": "revoked"})
    return CreatedUser(user=user, totp_provisioning_uri=uri)


def _user_audit(user: User) -> dict[str, object]:
    return {
        "email": user.email,
        "role": user.role.value,
        "customer_id": user.customer_id,
        "disabled": user.disabled,
        "totp_enabled": user.totp_enabled,
    }


# --- API keys (admins; B2B customers for their own) ---------------------------------------

KEY_ROLES = {Role.admin, Role.b2b_customer}
MAX_CUSTOMER_KEYS = 10  # active keys per B2B customer


async def _key_owner(call: Call[Any, Any]) -> str | None:
    async with call.db.pool.acquire() as conn:
        return (await get_api_key(conn, call.int_param("id"))).customer_id


@api.get(
    "/api/v1/api-keys",
    name="api_keys.list",
    roles=KEY_ROLES,
    summary="List API keys (a B2B customer sees its own)",
    query=ApiKeyQuery,
    response=list[ApiKey],
)
async def keys_list(call: Call[None, ApiKeyQuery]) -> Page[ApiKey]:
    """Never the secrets: only the ``chk_<id>`` prefix tells keys apart."""
    q = call.query
    customer = call.customer_scope or q.customer_id
    after = decode_cursor(q.cursor, int)[0] if q.cursor else 0
    async with call.db.pool.acquire() as conn:
        keys = await list_api_keys(conn, customer, include_revoked=q.include_revoked)
    return _page([k for k in keys if k.id > after], q.limit)


@api.post(
    "/api/v1/api-keys",
    name="api_keys.create",
    roles=KEY_ROLES,
    summary="Create an API key; its secret is in this answer only",
    body=NewApiKey,
    response=CreatedApiKey,
    status=201,
    entity="api_key",
)
async def keys_create(call: Call[NewApiKey, None]) -> CreatedApiKey:
    """No key gets the admin role; a B2B customer's keys are bound to it."""
    b = call.body
    p = _person(call)
    customer = b.customer_id
    if is_customer_bound(p):
        if set(b.roles) != {Role.b2b_customer}:
            raise ApiError(403, "forbidden", "your keys can only have the b2b_customer role")
        if customer is not None and customer != p.customer_id:
            raise ApiError(403, "forbidden", "you can only create keys for your own account")
        customer = p.customer_id
    async with call.transaction() as conn:
        if customer is not None:
            # serialise creations for one customer, so the cap holds under concurrency
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('api_keys:' || $1))", customer
            )
            active = await conn.fetchval(
                "SELECT count(*) FROM auth_api_keys WHERE customer_id = $1 AND revoked_at IS NULL",
                customer,
            )
            if active >= MAX_CUSTOMER_KEYS:
                raise DomainError(
                    f"customer {customer} has {active} active API keys, the most allowed; "
                    "revoke one it no longer uses first"
                )
        key, secret = await create_api_key(
            conn,
            name=b.name,
            roles=b.roles,
            customer_id=customer,
            created_by=p.id if p.kind == "user" else None,
        )
        call.audit(
            entity_id=key.id,
            after={"name": key.name, "roles": sorted(key.roles), "customer_id": key.customer_id},
        )
    return CreatedApiKey(api_key=key, secret=secret)


@api.get(
    "/api/v1/api-keys/{id}",
    name="api_keys.get",
    roles=KEY_ROLES,
    summary="Show an API key",
    response=ApiKey,
    owner=_key_owner,
    entity="api_key",
)
async def keys_get(call: Call[None, None]) -> ApiKey:
    """Its name, roles, customer, and when it was created, last used and revoked."""
    async with call.db.pool.acquire() as conn:
        return await get_api_key(conn, call.int_param("id"))


@api.post(
    "/api/v1/api-keys/{id}/revoke",
    name="api_keys.revoke",
    roles=KEY_ROLES,
    summary="Revoke an API key: every request with it is refused from now on",
    response=ApiKey,
    owner=_key_owner,
    entity="api_key",
)
async def keys_revoke(call: Call[None, None]) -> ApiKey:
    """Revoking a revoked key changes nothing."""
    _person(call)
    async with call.transaction() as conn:
        key = await revoke_api_key(conn, call.int_param("id"))
        call.audit(after={"revoked_at": key.revoked_at})
    return key


def _page(items: list[Listed], limit: int) -> Page[Listed]:
    chosen = items[:limit]
    more = len(items) > limit
    return Page(chosen, encode_cursor(chosen[-1].id) if more else None)

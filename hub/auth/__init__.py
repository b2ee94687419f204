"""Authentication and authorisation: users, passwords, TOTP, tokens, API keys.

The edge imports everything from here; the submodules are the implementation:

- :mod:`~hub.auth.model`: :class:`Role`, :class:`Principal`, :class:`AuthError`
- :mod:`~hub.auth.passwords`: argon2id hashes and the password policy
- :mod:`~hub.auth.totp`: TOTP second factor with replay protection
- :mod:`~hub.auth.tokens`: HS256 access tokens and their key
- :mod:`~hub.auth.refresh`: rotating refresh tokens with reuse detection
- :mod:`~hub.auth.users`: the users store and :func:`login`
- :mod:`~hub.auth.apikeys`: API keys of machine clients
- :mod:`~hub.auth.cli`: the ``users`` and ``apikeys`` commands
"""

from hub.auth.apikeys import (
    ApiKey,
    authenticate_api_key,
    create_api_key,
    get_api_key,
    list_api_keys,
    revoke_api_key,
)
from hub.auth.cli import add_commands
from hub.auth.model import AuthError, Principal, Role
from hub.auth.passwords import (
    check_password_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from hub.auth.refresh import (
    issue_refresh,
    purge_refresh_tokens,
    revoke_refresh,
    revoke_user_tokens,
    rotate_refresh,
)
from hub.auth.tokens import TokenService, jwt_secret
from hub.auth.totp import new_totp_secret, provisioning_uri, verify_totp
from hub.auth.users import (
    User,
    check_password,
    confirm_totp,
    create_user,
    disable_user,
    enable_user,
    enroll_totp,
    get_user,
    get_user_by_email,
    list_users,
    login,
    reset_password,
    reset_totp,
)

__all__ = [
    "ApiKey",
    "AuthError",
    "Principal",
    "Role",
    "TokenService",
    "User",
    "add_commands",
    "authenticate_api_key",
    "check_password",
    "check_password_policy",
    "confirm_totp",
    "create_api_key",
    "create_user",
    "disable_user",
    "enable_user",
    "enroll_totp",
    "get_api_key",
    "get_user",
    "get_user_by_email",
    "hash_password",
    "issue_refresh",
    "jwt_secret",
    "list_api_keys",
    "list_users",
    "login",
    "needs_rehash",
    "new_totp_secret",
    "provisioning_uri",
    "purge_refresh_tokens",
    "reset_password",
    "reset_totp",
    "revoke_api_key",
    "revoke_refresh",
    "revoke_user_tokens",
    "rotate_refresh",
    "verify_password",
    "verify_totp",
]

"""Password hashes and policy; TOTP codes, drift window and replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from argon2 import PasswordHasher

from hub.auth import (
    AuthError,
    Principal,
    Role,
    check_password_policy,
    hash_password,
    needs_rehash,
    new_totp_secret,
    provisioning_uri,
    verify_password,
    verify_totp,
)
from hub.auth.totp import current_step, totp_code
from hub.errors import DomainError

NOW = datetime(2025, 3, 1, 12, 0, 10, tzinfo=UTC)
STEP = timedelta(seconds=30)


def test_hash_is_argon2id_salted_and_verifies() -> None:
    first = hash_password("correct horse battery")
    assert first.startswith("$argon2id$")
    assert first != hash_password("correct horse battery")
    assert verify_password(first, "correct horse battery")
    assert not verify_password(first, "correct horse battery ")
    assert not verify_password(first, "")


def test_a_broken_stored_hash_fails_closed() -> None:
    assert not verify_password("not a hash", "correct horse battery")
    assert not verify_password("", "correct horse battery")


def test_hash_with_old_parameters_needs_rehash() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("pw is long enough")
    assert verify_password(old, "pw is long enough")
    assert needs_rehash(old)
    assert not needs_rehash(hash_password("pw is long enough"))


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 12"),
        ("elevenchars", "at least 12"),
        (" " * 16, "only spaces"),
        ("x" * 1025, "at most 1024"),
        ("Ana@Ledux.ro", "email"),
    ],
)
def test_password_policy_explains_what_is_wrong(password: str, message: str) -> None:
    with pytest.raises(DomainError, match=message):
        check_password_policy(password, email="ana@ledux.ro")


def test_password_policy_accepts_twelve_characters() -> None:
    check_password_policy("twelve chars", email="ana@ledux.ro")


def test_provisioning_uri_names_issuer_account_and_secret() -> None:
    secret = new_totp_secret()
    uri = provisioning_uri(secret, "ana@ledux.ro", "Cypher Hub")
    parts = urlsplit(uri)
    query = parse_qs(parts.query)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    assert unquote(parts.path) == "/Cypher Hub:ana@ledux.ro"
    assert query["secret"] == [secret] and query["issuer"] == ["Cypher Hub"]
    assert len(secret) >= 32 and secret != new_totp_secret()


def test_current_code_is_accepted_and_its_step_returned() -> None:
    secret = new_totp_secret()
    assert verify_totp(secret, totp_code(secret, NOW), last_step=None, now=NOW) == current_step(NOW)


def test_codes_one_step_either_side_are_accepted_two_are_not() -> None:
    secret = new_totp_secret()
    for offset in (-1, 1):
        code = totp_code(secret, NOW + offset * STEP)
        assert verify_totp(secret, code, last_step=None, now=NOW) == current_step(NOW) + offset
    for offset in (-2, 2):
        code = totp_code(secret, NOW + offset * STEP)
        if code in {totp_code(secret, NOW + k * STEP) for k in (-1, 0, 1)}:
            continue  # a one-in-a-million collision with a code of the window
        with pytest.raises(AuthError) as caught:
            verify_totp(secret, code, last_step=None, now=NOW)
        assert caught.value.code == "totp_invalid"


def test_a_used_step_and_older_ones_are_refused() -> None:
    secret = new_totp_secret()
    step = verify_totp(secret, totp_code(secret, NOW), last_step=None, now=NOW)
    for when in (NOW, NOW - STEP):
        with pytest.raises(AuthError, match="already used"):
            verify_totp(secret, totp_code(secret, when), last_step=step, now=NOW)
    later = NOW + STEP
    assert verify_totp(secret, totp_code(secret, later), last_step=step, now=later) == step + 1


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"])
def test_malformed_codes_are_refused(code: str) -> None:
    with pytest.raises(AuthError):
        verify_totp(new_totp_secret(), code, last_step=None, now=NOW)


def test_code_typed_with_a_space_is_accepted() -> None:
    secret = new_totp_secret()
    code = totp_code(secret, NOW)
    assert verify_totp(secret, f"{code[:3]} {code[3:]}", last_step=None, now=NOW)


def test_wrong_code_is_refused() -> None:
    secret = new_totp_secret()
    good = {totp_code(secret, NOW + k * STEP) for k in (-1, 0, 1)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in good)
    with pytest.raises(AuthError) as caught:
        verify_totp(secret, wrong, last_step=None, now=NOW)
    assert caught.value.code == "totp_invalid"


def test_principal_binds_b2b_customers_and_only_them() -> None:
    with pytest.raises(ValueError, match="customer_id"):
        Principal(kind="user", id=1, name="b@x.ro", roles=frozenset({Role.b2b_customer}))
    with pytest.raises(ValueError, match="customer_id"):
        Principal(kind="user", id=1, name="s@x.ro", roles=frozenset({Role.sales}), customer_id="C")
    ops = Principal(kind="api_key", id=2, name="scanner", roles=frozenset({Role.ops}))
    assert ops.has_any({Role.admin, Role.ops}) and not ops.has_any({Role.admin})
    assert ops.actor == "api_key:2"


def test_auth_error_has_a_stable_code_and_a_human_message() -> None:
    error = AuthError("invalid_credentials")
    assert error.code == "invalid_credentials"
    assert str(error) == error.message == "the email or password is incorrect"
    assert AuthError("token_invalid", "custom words").message == "custom words"

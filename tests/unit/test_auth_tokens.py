"""Access tokens: what verifies and every way a token is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import msgspec
import pytest

from hub.auth import AuthError, Principal, Role, TokenService, jwt_secret
from hub.errors import ConfigError
from hub.settings import HubSettings, Secret

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
ALICE = Principal(kind="user", id=7, name="alice@ledux.ro", roles=frozenset({Role.sales}))
SHOP = Principal(
    kind="api_key",
    id=3,
    name="portal",
    roles=frozenset({Role.b2b_customer}),
    customer_id="C-42",
)


@pytest.fixture
def tokens() -> TokenService:
    return TokenService(KEY, access_ttl=900)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: object) -> dict[str, object]:
    issued = int(NOW.timestamp())
    base: dict[str, object] = {
        "sub": "7",
        "kind": "user",
        "name": "alice@ledux.ro",
        "roles": ["sales"],
        "cid": None,
        "iat": issued,
        "exp": issued + 900,
        "iss": "cypher-hub",
        "jti": "j1",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def refused(tokens: TokenService, token: str, code: str = "token_invalid") -> None:
    with pytest.raises(AuthError) as caught:
        tokens.verify_access(token, now=NOW)
    assert caught.value.code == code


def test_valid_token_gives_back_the_principal(tokens: TokenService) -> None:
    token = tokens.issue_access(ALICE, now=NOW)
    assert tokens.verify_access(token, now=NOW + timedelta(seconds=899)) == ALICE


def test_customer_binding_and_kind_survive_the_round_trip(tokens: TokenService) -> None:
    assert tokens.verify_access(tokens.issue_access(SHOP, now=NOW), now=NOW) == SHOP


def test_token_carries_the_documented_claims(tokens: TokenService) -> None:
    token = tokens.issue_access(SHOP, now=NOW)
    payload = jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert payload["sub"] == "3" and payload["kind"] == "api_key"
    assert payload["roles"] == ["b2b_customer"] and payload["cid"] == "C-42"
    assert payload["iss"] == "cypher-hub" and payload["exp"] - payload["iat"] == 900
    assert (
        payload["jti"]
        != jwt.decode(
            tokens.issue_access(SHOP, now=NOW),
            KEY,
            algorithms=["HS256"],
            options={"verify_exp": False},
        )["jti"]
    )


def test_expired_token_is_refused_as_expired(tokens: TokenService) -> None:
    token = tokens.issue_access(ALICE, now=NOW - timedelta(seconds=900))
    refused(tokens, token, "token_expired")


def test_token_from_the_far_future_is_refused(tokens: TokenService) -> None:
    refused(tokens, tokens.issue_access(ALICE, now=NOW + timedelta(hours=1)))


def test_tampered_payload_is_refused(tokens: TokenService) -> None:
    header, _payload, signature = tokens.issue_access(ALICE, now=NOW).split(".")
    forged = b64(json.dumps(claims(roles=["admin"])).encode())
    refused(tokens, f"{header}.{forged}.{signature}")


def test_tampered_signature_is_refused(tokens: TokenService) -> None:
    header, payload, signature = tokens.issue_access(ALICE, now=NOW).split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    refused(tokens, f"{header}.{payload}.{flipped}")


def test_alg_none_token_crafted_by_hand_is_refused(tokens: TokenService) -> None:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims(roles=["admin"])).encode())
    refused(tokens, f"{header}.{payload}.")
    refused(tokens, f"{header}.{payload}")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
@pytest.mark.parametrize("alg", ["HS512", "HS384"])
def test_other_hmac_algorithm_with_the_right_key_is_refused(tokens: TokenService, alg: str) -> None:
    refused(tokens, jwt.encode(claims(), KEY, algorithm=alg))


def test_token_signed_with_another_key_is_refused(tokens: TokenService) -> None:
    other = TokenService(OTHER_KEY, access_ttl=900)
    refused(tokens, other.issue_access(ALICE, now=NOW))


@pytest.mark.parametrize("missing", ["exp", "sub", "iat", "roles", "kind", "iss", "jti", "name"])
def test_token_missing_a_claim_is_refused(tokens: TokenService, missing: str) -> None:
    refused(tokens, jwt.encode(claims(**{missing: ...}), KEY, algorithm="HS256"))


def test_unknown_role_is_refused(tokens: TokenService) -> None:
    refused(tokens, jwt.encode(claims(roles=["sales", "superuser"]), KEY, algorithm="HS256"))


@pytest.mark.parametrize(
    "bad",
    [
        {"iss": "someone-else"},
        {"sub": 7},
        {"sub": "seven"},
        {"exp": "soon"},
        {"kind": "robot"},
        {"roles": []},
        {"roles": ["b2b_customer"], "cid": None},
        {"cid": "C-1"},
    ],
    ids=repr,
)
def test_token_with_wrong_claim_values_is_refused(
    tokens: TokenService, bad: dict[str, object]
) -> None:
    refused(tokens, jwt.encode(claims(**bad), KEY, algorithm="HS256"))


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "....", "ey.ey.ey"])
def test_malformed_token_is_refused(tokens: TokenService, garbage: str) -> None:
    refused(tokens, garbage)


def test_short_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="CYPHER_JWT_SECRET"):
        TokenService(b"short", access_ttl=900)


def test_configured_secret_is_used_and_must_be_long_enough(tmp_path: Path) -> None:
    long = "s" * 40
    settings = HubSettings(jwt_secret=Secret(long), data_dir=str(tmp_path))
    assert jwt_secret(settings) == long.encode()
    with pytest.raises(ConfigError, match="CYPHER_JWT_SECRET"):
        jwt_secret(msgspec.structs.replace(settings, jwt_secret=Secret("too-short")))
    assert not (tmp_path / "jwt-secret").exists()


def test_local_secret_is_created_once_private_and_reused(tmp_path: Path) -> None:
    settings = HubSettings(env="development", data_dir=str(tmp_path / "data"))
    first = jwt_secret(settings)
    path = tmp_path / "data" / "jwt-secret"
    assert len(first) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert jwt_secret(settings) == first
    # another process (same data folder) verifies tokens of this one
    token = TokenService(first, access_ttl=60).issue_access(ALICE)
    assert TokenService(jwt_secret(settings), access_ttl=60).verify_access(token) == ALICE
    assert [p.name for p in path.parent.iterdir()] == ["jwt-secret"]


def test_production_without_secret_is_a_configuration_error(tmp_path: Path) -> None:
    settings = HubSettings(env="test", data_dir=str(tmp_path))
    production = msgspec.structs.replace(settings, env="production")
    with pytest.raises(ConfigError, match="CYPHER_JWT_SECRET"):
        jwt_secret(production)
    assert not (tmp_path / "jwt-secret").exists()

"""The [smartbill] settings: defaults, the file and CYPHER_SMARTBILL_*, limits, the secret."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import msgspec
import pytest

from connectors.smartbill.client import build_client
from connectors.smartbill.settings import SmartBillSettings, check_limits, load_settings
from hub.errors import ConfigError
from hub.settings import Secret

TOKEN = "6ea7ce36dd5471b3a6f010ab3d4482d2"
NO_FILE = os.devnull  # an explicit, empty config file: only the environment counts


def test_defaults_stay_under_smartbills_limit() -> None:
    settings = load_settings(NO_FILE, environ={})

    assert settings.base_url == "https://ws.smartbill.ro/SBORO/api"
    assert settings.burst + settings.per_second * 10 <= 30
    assert (settings.block_seconds, settings.limit_calls, settings.limit_window) == (600, 30, 10)


def test_the_table_and_the_variables(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text(
        '[smartbill]\nusername = "api@ledux.ro"\ncif = "RO18547290"\ninvoice_series = "LDX"\n',
        encoding="utf-8",
    )
    environ = {"CYPHER_SMARTBILL_TOKEN": TOKEN, "CYPHER_SMARTBILL_PER_SECOND": "1.5"}

    settings = load_settings(config, environ=environ)

    assert (settings.username, settings.cif, settings.invoice_series) == (
        "api@ledux.ro",
        "RO18547290",
        "LDX",
    )
    assert settings.token == Secret(TOKEN) and settings.per_second == 1.5
    assert TOKEN not in repr(settings)


def test_a_limit_over_30_calls_in_10_seconds_is_refused() -> None:
    with pytest.raises(ConfigError, match="CYPHER_SMARTBILL_PER_SECOND"):
        load_settings(NO_FILE, environ={"CYPHER_SMARTBILL_PER_SECOND": "3"})  # 5 + 30 > 30
    fast = msgspec.structs.replace(SmartBillSettings(), per_second=2.5, burst=6)
    with pytest.raises(ConfigError, match="allows 31 calls per 10 s"):
        check_limits(fast)


def test_the_authorization_is_basic_username_token_and_never_shown() -> None:
    settings = SmartBillSettings(username="api@ledux.ro", token=Secret(TOKEN), cif="RO18547290")
    client = build_client(settings)

    header = client.transport._authorization()

    assert header == "Basic " + base64.b64encode(f"api@ledux.ro:{TOKEN}".encode()).decode()
    assert TOKEN not in repr(client.transport.__dict__)

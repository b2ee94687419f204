"""Settings: defaults, the TOML file, CYPHER_* variables, and errors that name the setting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec
import pytest

from hub import settings as settings_mod
from hub.errors import ConfigError
from hub.settings import (
    PROJECT_ROOT,
    HubSettings,
    Secret,
    describe,
    load,
    load_hub,
    redact_url,
    unknown_env,
)

PASSWORD = "s3cr3t-pw-do-not-print"
NO_FILE = os.devnull  # an explicit, empty config file: only the environment counts


class WooSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A connector's section, as a connector would declare it."""

    url: str
    consumer_key: Secret
    timeout: float = 10.0
    sandbox: bool = True


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(**kwargs: Any) -> str:
    """The error text of loading; without a file named, no file is read (hermetic)."""
    environ = kwargs.get("environ", {})
    if "config_path" not in kwargs and "CYPHER_CONFIG" not in environ:
        kwargs["config_path"] = NO_FILE
    with pytest.raises(ConfigError) as info:
        load_hub(**kwargs)
    return str(info.value)


def test_defaults_load_when_there_is_no_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(settings_mod, "PROJECT_ROOT", tmp_path)  # no project config/hub.toml

    settings = load_hub(environ={})

    assert settings == HubSettings()
    assert settings.http_port == 8080
    assert settings.embedded_database


def test_shipped_config_file_holds_exactly_the_defaults() -> None:
    shipped = PROJECT_ROOT / "config" / "hub.toml"
    if not shipped.exists():
        pytest.skip("config/hub.toml is not there")

    assert load_hub(config_path=shipped, environ={}) == HubSettings()


def test_toml_file_values_are_loaded(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        'http_port = 9090\nlog_format = "json"\n'
        "retry_delays = [0.5, 2]\nmigrate_on_start = false\n",
    )

    settings = load_hub(config_path=path, environ={})

    assert settings.http_port == 9090
    assert settings.log_format == "json"
    assert settings.retry_delays == (0.5, 2.0)
    assert settings.migrate_on_start is False


def test_environment_variable_overrides_toml_value(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'http_port = 9090\nhttp_host = "0.0.0.0"\n')

    settings = load_hub(config_path=path, environ={"CYPHER_HTTP_PORT": "7070"})

    assert settings.http_port == 7070
    assert settings.http_host == "0.0.0.0"  # not overridden: the file's value stays


def test_cypher_config_variable_names_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "prefetch = 5\n")

    settings = load_hub(environ={"CYPHER_CONFIG": str(path)})

    assert settings.prefetch == 5


def test_comma_separated_environment_list_becomes_a_tuple() -> None:
    settings = load_hub(config_path=NO_FILE, environ={"CYPHER_RETRY_DELAYS": "0.5, 2,30"})

    assert settings.retry_delays == (0.5, 2.0, 30.0)


def test_environment_booleans_and_empty_url_are_understood() -> None:
    settings = load_hub(
        config_path=NO_FILE,
        environ={"CYPHER_MIGRATE_ON_START": "false", "CYPHER_DATABASE_URL": ""},
    )

    assert settings.migrate_on_start is False
    assert settings.database_url is None


def test_bad_port_is_one_line_naming_the_variable_and_the_problem() -> None:
    text = config_error(environ={"CYPHER_HTTP_PORT": "eighty"})

    assert "\n" not in text
    assert "CYPHER_HTTP_PORT" in text
    assert "Expected `int`" in text
    assert "'eighty'" in text


def test_out_of_range_port_names_the_bound() -> None:
    text = config_error(environ={"CYPHER_HTTP_PORT": "70000"})

    assert "CYPHER_HTTP_PORT" in text
    assert "<= 65535" in text


def test_bad_item_in_a_list_names_the_list_variable() -> None:
    text = config_error(environ={"CYPHER_RETRY_DELAYS": "1,-2"})

    assert "\n" not in text
    assert "CYPHER_RETRY_DELAYS" in text
    assert "> 0" in text


def test_bad_value_in_the_file_names_its_variable(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'log_level = "LOUD"\n')

    text = config_error(config_path=path, environ={})

    assert "CYPHER_LOG_LEVEL" in text
    assert "LOUD" in text


def test_bad_secret_value_never_appears_in_the_error(tmp_path: Path) -> None:
    path = write_toml(tmp_path, f'database_url = ["postgresql://hub:{PASSWORD}@db/hub"]\n')

    text = config_error(config_path=path, environ={})

    assert "CYPHER_DATABASE_URL" in text
    assert PASSWORD not in text


def test_secret_is_hidden_in_repr_str_and_describe() -> None:
    url = f"postgresql://hub:{PASSWORD}@db.internal:5432/hub"

    settings = load_hub(
        config_path=NO_FILE,
        environ={"CYPHER_DATABASE_URL": url, "CYPHER_AMQP_URL": "opaque-" + PASSWORD},
    )

    assert settings.database_url is not None
    assert settings.database_url.reveal() == url
    assert PASSWORD not in repr(settings)
    assert PASSWORD not in str(settings.database_url)
    shown = describe(settings)
    assert PASSWORD not in repr(shown)
    assert shown["database_url"] == "postgresql://hub:***@db.internal:5432/hub"
    assert shown["amqp_url"] == "***"


def test_unknown_key_in_the_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "htp_port = 9090\n")

    text = config_error(config_path=path, environ={})

    assert "\n" not in text
    assert "'htp_port'" in text


def test_unparsable_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "http_port = = 1\n")

    text = config_error(config_path=path, environ={})

    assert str(path) in text


def test_production_without_database_url_is_refused_naming_it() -> None:
    environ = {
        "CYPHER_ENV": "production",
        "CYPHER_AMQP_URL": "amqp://guest:guest@mq/",
        "CYPHER_REDIS_URL": "redis://cache/0",
    }

    text = config_error(environ=environ)

    assert "CYPHER_DATABASE_URL" in text
    assert "production" in text


@pytest.mark.parametrize("missing", ["CYPHER_AMQP_URL", "CYPHER_REDIS_URL"])
def test_production_without_broker_or_cache_url_is_refused_naming_it(missing: str) -> None:
    environ = {
        "CYPHER_ENV": "production",
        "CYPHER_DATABASE_URL": "postgresql://hub@db/hub",
        "CYPHER_AMQP_URL": "amqp://guest:guest@mq/",
        "CYPHER_REDIS_URL": "redis://cache/0",
    }
    del environ[missing]

    assert missing in config_error(environ=environ)


def test_production_with_every_service_url_loads() -> None:
    environ = {
        "CYPHER_ENV": "production",
        "CYPHER_DATABASE_URL": "postgresql://hub@db/hub",
        "CYPHER_AMQP_URL": "amqp://guest:guest@mq/",
        "CYPHER_REDIS_URL": "redis://cache/0",
        "CYPHER_JWT_SECRET": "k" * 48,
    }

    assert load_hub(config_path=NO_FILE, environ=environ).env == "production"
    del environ["CYPHER_JWT_SECRET"]
    assert "CYPHER_JWT_SECRET" in config_error(environ=environ)


def test_explicit_config_file_that_is_missing_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    text = config_error(environ={"CYPHER_CONFIG": str(missing)})

    assert "CYPHER_CONFIG" in text
    assert str(missing) in text


def test_explicit_config_path_that_is_missing_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    assert str(missing) in config_error(config_path=missing, environ={})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://hub:pw@db:5432/hub", "postgresql://hub:***@db:5432/hub"),
        ("amqp://guest:guest@127.0.0.1:5672/", "amqp://guest:***@127.0.0.1:5672/"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("postgresql://hub:p@ss@db/hub", "postgresql://hub:***@db/hub"),
        ("postgresql://hub@db/hub", "postgresql://hub@db/hub"),
        ("postgresql://db/hub?user=hub&password=pw", "postgresql://db/hub?user=hub&password=***"),
        ("redis://cache:6379/0?password=pw", "redis://cache:6379/0?password=***"),
        ("host=db user=hub password=pw dbname=hub", "host=db user=hub password=*** dbname=hub"),
    ],
)
def test_redact_url_masks_passwords(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_unknown_env_reports_typos_of_settings() -> None:
    environ = {
        "CYPHER_HTTP_PROT": "8080",
        "CYPHER_HTTP_PORT": "8080",
        "CYPHER_CONFIG": "hub.toml",
        "CYPHER_WOOCOMMERCE_URL": "https://shop",
        "HOME": "/root",
    }

    assert unknown_env(environ) == ["CYPHER_HTTP_PROT", "CYPHER_WOOCOMMERCE_URL"]
    assert unknown_env(environ, known={"CYPHER_WOOCOMMERCE_URL"}) == ["CYPHER_HTTP_PROT"]


def test_section_reads_its_table_and_its_prefixed_variables(tmp_path: Path) -> None:
    path = write_toml(
        tmp_path,
        'http_port = 9090\n\n[woocommerce]\nurl = "https://shop.example"\ntimeout = 3.5\n',
    )
    environ = {
        "CYPHER_WOOCOMMERCE_CONSUMER_KEY": "ck_" + PASSWORD,
        "CYPHER_WOOCOMMERCE_SANDBOX": "false",
        "CYPHER_TIMEOUT": "99",  # a runtime-level name: not this section's
    }

    woo = load(WooSettings, section="woocommerce", config_path=path, environ=environ)

    assert woo.url == "https://shop.example"
    assert woo.timeout == 3.5
    assert woo.sandbox is False
    assert woo.consumer_key.reveal() == "ck_" + PASSWORD
    assert PASSWORD not in repr(woo)


def test_section_table_does_not_disturb_the_runtime_settings(tmp_path: Path) -> None:
    path = write_toml(tmp_path, 'http_port = 9090\n\n[woocommerce]\nurl = "https://shop"\n')

    assert load_hub(config_path=path, environ={}).http_port == 9090


def test_section_variable_overrides_its_table(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[woocommerce]\nurl = "https://old"\nconsumer_key = "ck"\n')

    woo = load(
        WooSettings,
        section="woocommerce",
        config_path=path,
        environ={"CYPHER_WOOCOMMERCE_URL": "https://new"},
    )

    assert woo.url == "https://new"


def test_bad_section_value_names_the_section_variable(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[woocommerce]\nurl = "https://shop"\nconsumer_key = "ck"\n')

    with pytest.raises(ConfigError) as info:
        load(
            WooSettings,
            section="woocommerce",
            config_path=path,
            environ={"CYPHER_WOOCOMMERCE_TIMEOUT": "soon"},
        )

    assert "CYPHER_WOOCOMMERCE_TIMEOUT" in str(info.value)


def test_missing_required_section_setting_is_refused_naming_its_variable(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[woocommerce]\nurl = "https://shop"\n')

    with pytest.raises(ConfigError) as info:
        load(WooSettings, section="woocommerce", config_path=path, environ={})

    text = str(info.value)
    assert "\n" not in text
    assert "CYPHER_WOOCOMMERCE_CONSUMER_KEY" in text


def test_unknown_key_in_a_section_is_refused_naming_key_and_section(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[woocommerce]\nurl = "https://shop"\nconsumer_kye = "ck"\n')

    with pytest.raises(ConfigError) as info:
        load(WooSettings, section="woocommerce", config_path=path, environ={})

    assert "'consumer_kye'" in str(info.value)
    assert "[woocommerce]" in str(info.value)

"""Sandbox mode's settings: when it runs, production refusing it, distinct ports, and a
configured partner never pointed at a simulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors.sandbox import partners
from connectors.smartbill.settings import SmartBillSettings
from connectors.woocommerce.settings import WooCommerceSettings
from hub.errors import ConfigError
from hub.settings import Secret, load, load_hub, section_defaults

NO_FILE = os.devnull  # an explicit, empty config file: only the environment counts
SERVICES = {
    "CYPHER_DATABASE_URL": "postgresql://cypher@db/cypher",
    "CYPHER_AMQP_URL": "amqp://guest:guest@mq/",
    "CYPHER_REDIS_URL": "redis://cache/0",
    "CYPHER_JWT_SECRET": "x" * 40,
}


def test_sandbox_runs_by_default_in_development_on_the_embedded_database() -> None:
    settings = load_hub(config_path=NO_FILE, environ={})
    assert settings.sandbox == "auto"
    assert settings.sandbox_wanted


@pytest.mark.parametrize(
    ("environ", "wanted"),
    [
        ({"CYPHER_DATABASE_URL": "postgresql://db/cypher"}, False),  # services: off unless on
        ({"CYPHER_ENV": "test"}, False),
        ({"CYPHER_ENV": "test", "CYPHER_SANDBOX": "on"}, True),
        ({"CYPHER_DATABASE_URL": "postgresql://db/cypher", "CYPHER_SANDBOX": "on"}, True),
        ({"CYPHER_SANDBOX": "off"}, False),
        ({"CYPHER_ENV": "production", **SERVICES}, False),
    ],
)
def test_when_the_sandbox_runs(environ: dict[str, str], wanted: bool) -> None:
    assert load_hub(config_path=NO_FILE, environ=environ).sandbox_wanted is wanted


def test_production_refuses_sandbox_mode_naming_the_setting() -> None:
    environ = {"CYPHER_ENV": "production", "CYPHER_SANDBOX": "on", **SERVICES}
    with pytest.raises(ConfigError) as info:
        load_hub(config_path=NO_FILE, environ=environ)
    assert "CYPHER_SANDBOX" in str(info.value)
    assert "production" in str(info.value)


def test_production_refuses_sandbox_mode_written_in_the_file(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('env = "production"\nsandbox = "on"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="CYPHER_SANDBOX"):
        load_hub(config_path=config, environ=SERVICES)


def test_two_simulators_on_one_port_are_refused_naming_the_second() -> None:
    environ = {"CYPHER_SANDBOX_SMARTBILL_PORT": "8027"}  # the shop's default port
    with pytest.raises(ConfigError) as info:
        load_hub(config_path=NO_FILE, environ=environ)
    assert "CYPHER_SANDBOX_SMARTBILL_PORT" in str(info.value)


def test_a_simulator_on_the_edges_port_is_refused() -> None:
    environ = {"CYPHER_HTTP_PORT": "9000", "CYPHER_SANDBOX_WHATSAPP_PORT": "9000"}
    with pytest.raises(ConfigError, match=r"CYPHER_SANDBOX_WHATSAPP_PORT.*http_port"):
        load_hub(config_path=NO_FILE, environ=environ)


def test_port_zero_means_any_free_port_for_every_simulator() -> None:
    environ = {
        f"CYPHER_SANDBOX_{name}_PORT": "0"
        for name in ("WOOCOMMERCE", "SMARTBILL", "SENDGRID", "WHATSAPP")
    }
    settings = load_hub(config_path=NO_FILE, environ=environ)
    assert settings.sandbox_smartbill_port == 0


def test_section_defaults_sit_beneath_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('[woocommerce]\nconsumer_key = "ck_from_file"\n', encoding="utf-8")
    sandbox = {"woocommerce": {"base_url": "http://127.0.0.1:9", "consumer_key": "ck_sandbox"}}
    environ = {"CYPHER_WOOCOMMERCE_TIMEOUT": "5"}
    with section_defaults(sandbox):
        inside = load(
            WooCommerceSettings, section="woocommerce", config_path=config, environ=environ
        )
    after = load(WooCommerceSettings, section="woocommerce", config_path=config, environ=environ)
    assert inside.base_url == "http://127.0.0.1:9"
    assert inside.consumer_key == Secret("ck_from_file")  # the file wins
    assert inside.timeout == 5.0  # and the environment
    assert after.base_url == "https://ledux.ro"  # gone after the block


def test_a_partner_with_any_credential_set_is_not_simulated() -> None:
    settings = load_hub(config_path=NO_FILE, environ={})
    environ = {"CYPHER_SMARTBILL_TOKEN": "real-token", "CYPHER_SENDGRID_TIMEOUT": "3"}
    simulated, configured = partners.simulated(settings, config_path=NO_FILE, environ=environ)
    assert [p.name for p in simulated] == ["woocommerce", "sendgrid", "whatsapp"]
    assert configured == {"smartbill": ["token"]}  # a timeout alone configures nothing


def test_a_partner_configured_in_the_file_is_not_simulated(tmp_path: Path) -> None:
    config = tmp_path / "hub.toml"
    config.write_text('[woocommerce]\nbase_url = "https://ledux.ro/shop"\n', encoding="utf-8")
    settings = load_hub(config_path=NO_FILE, environ={})
    simulated, configured = partners.simulated(settings, config_path=config, environ={})
    assert "woocommerce" not in [p.name for p in simulated]
    assert configured == {"woocommerce": ["base_url"]}


def test_nothing_is_simulated_when_the_sandbox_is_off() -> None:
    settings = load_hub(config_path=NO_FILE, environ={"CYPHER_SANDBOX": "off"})
    simulated, _ = partners.simulated(settings, config_path=NO_FILE, environ={})
    assert simulated == []


def test_a_configured_partner_keeps_its_own_settings_inside_the_sandbox() -> None:
    settings = load_hub(config_path=NO_FILE, environ={})
    environ = {
        "CYPHER_SMARTBILL_USERNAME": "facturare@ledux.ro",
        "CYPHER_SMARTBILL_TOKEN": "real-token",
        "CYPHER_SMARTBILL_CIF": "RO18547290",
    }
    simulated, _ = partners.simulated(settings, config_path=NO_FILE, environ=environ)
    defaults = {p.name: partners.section_values(p.name, "http://127.0.0.1:9") for p in simulated}
    with section_defaults(defaults):
        smartbill = load(
            SmartBillSettings, section="smartbill", config_path=NO_FILE, environ=environ
        )
        woo = load(WooCommerceSettings, section="woocommerce", config_path=NO_FILE, environ=environ)
    assert smartbill.base_url == "https://ws.smartbill.ro/SBORO/api"  # the real one
    assert smartbill.token == Secret("real-token")
    assert smartbill.invoice_series == ""  # not the sandbox's series either
    assert woo.base_url == "http://127.0.0.1:9"  # the others point at their simulator
    assert woo.consumer_key == Secret(partners.WOO_KEY)


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8080"),
        ("0.0.0.0", "http://127.0.0.1:8080"),
        ("::1", "http://[::1]:8080"),
    ],
)
def test_simulators_reach_the_edge_on_loopback_when_it_listens_everywhere(
    host: str, url: str
) -> None:
    settings = load_hub(config_path=NO_FILE, environ={"CYPHER_HTTP_HOST": host})
    assert partners.edge_url(settings) == url

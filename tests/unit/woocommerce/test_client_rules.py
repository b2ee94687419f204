"""The client's rules that need no store: HTTPS only, GMT filters, Link headers, credentials."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from connectors.woocommerce.answers import link, next_page
from connectors.woocommerce.client import WooCommerceClient, build, check_base_url, gmt_param
from connectors.woocommerce.settings import WooCommerceSettings, load_settings
from hub.breaker import Breaker
from hub.errors import ConfigError
from hub.http import HttpResult, Outbound
from hub.settings import Secret

EMPTY = Path(__file__).parents[2] / "empty.toml"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://ledux.ro", "https://ledux.ro"),
        ("https://www.ledux.ro/", "https://www.ledux.ro"),
        ("https://ledux.ro/wp-json/wc/v3", "https://ledux.ro"),
        ("https://ledux.ro/magazin/", "https://ledux.ro/magazin"),
        ("http://127.0.0.1:8026", "http://127.0.0.1:8026"),
        ("http://localhost:8026/", "http://localhost:8026"),
        ("http://[::1]:8026", "http://[::1]:8026"),
    ],
)
def test_https_or_loopback_store_urls_are_accepted(given: str, expected: str) -> None:
    assert check_base_url(given) == expected


@pytest.mark.parametrize("url", ["http://ledux.ro", "http://10.0.0.5:8080", "ftp://ledux.ro", ""])
def test_plain_http_to_a_real_host_is_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(ConfigError, match="CYPHER_WOOCOMMERCE_BASE_URL"):
        check_base_url(url)


def test_modified_after_is_sent_as_utc_seconds_without_offset() -> None:
    bucharest = timezone(timedelta(hours=3))
    moment = datetime(2026, 7, 1, 12, 30, 45, 999_000, tzinfo=bucharest)

    assert gmt_param(moment) == "2026-07-01T09:30:45"
    with pytest.raises(ValueError, match="timezone-aware"):
        gmt_param(datetime(2026, 7, 1, 12, 0))


def test_link_header_with_several_relations_gives_each_url() -> None:
    header = (
        '<https://ledux.ro/wp-json/wc/v3/products?page=1>; rel="prev", '
        '<https://ledux.ro/wp-json/wc/v3/products?page=3>; rel="next"'
    )

    assert link(header, "next") == "https://ledux.ro/wp-json/wc/v3/products?page=3"
    assert link(header, "prev") == "https://ledux.ro/wp-json/wc/v3/products?page=1"
    assert link('<https://ledux.ro/wp-json/>; rel="https://api.w.org/"', "next") is None


def _answer(**headers: str) -> HttpResult:
    return HttpResult(200, CIMultiDictProxy(CIMultiDict(headers)), b"[]")


def test_the_next_page_follows_the_link_and_counts_pages_when_a_proxy_drops_it() -> None:
    query = {"per_page": "100", "page": "1", "modified_after": "2026-07-01T09:00:00"}
    linked = _answer(
        Link="<https://ledux.ro/wp-json/wc/v3/orders?per_page=100&page=2&modified_after="
        '2026-07-01T09%3A00%3A00>; rel="next"',
        **{"X-WP-TotalPages": "3"},
    )
    stripped = _answer(**{"X-WP-TotalPages": "3"})

    assert next_page(linked, 1, query, 100) == (2, {**query, "page": "2"})
    assert next_page(stripped, 1, query, 100) == (2, {**query, "page": "2"})
    assert next_page(stripped, 3, {**query, "page": "3"}, 100) is None
    assert (
        next_page(
            _answer(Link='<https://ledux.ro/wp-json/>; rel="https://api.w.org/"'), 1, query, 100
        )
        is None
    )  # a Link without "next": the last page


async def test_missing_credentials_raise_config_error_before_any_request() -> None:
    outbound = Outbound("woocommerce-unit", base_url="https://ledux.ro", breaker=Breaker("wc-u"))
    client = WooCommerceClient(outbound, None, Secret("cs_x"))

    with pytest.raises(ConfigError, match="CYPHER_WOOCOMMERCE_CONSUMER_KEY"):
        await client.get_product(1)
    await client.close()


def test_settings_come_from_the_environment_and_secrets_stay_hidden() -> None:
    settings = load_settings(
        config_path=EMPTY,
        environ={
            "CYPHER_WOOCOMMERCE_BASE_URL": "https://ledux.ro",
            "CYPHER_WOOCOMMERCE_CONSUMER_KEY": "ck_live",
            "CYPHER_WOOCOMMERCE_CONSUMER_SECRET": "cs_live",
            "CYPHER_WOOCOMMERCE_PAGE_SIZE": "50",
        },
    )

    assert settings.page_size == 50 and settings.batch_size == 100
    assert settings.consumer_secret == Secret("cs_live")
    assert "cs_live" not in repr(settings)
    client = build(settings)
    assert client.page_size == 50
    assert "cs_live" not in repr(vars(client))


def test_a_plain_http_store_is_refused_when_the_client_is_built() -> None:
    with pytest.raises(ConfigError):
        build(WooCommerceSettings(base_url="http://ledux.ro"))

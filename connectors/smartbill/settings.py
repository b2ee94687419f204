"""Settings of the SmartBill connector: table ``[smartbill]``, variables ``CYPHER_SMARTBILL_*``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from hub.errors import ConfigError
from hub.settings import Count, Positive, Secret, env_name, load


class SmartBillSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the SmartBill client needs (docs/SMARTBILL.md).

    ``username`` (``CYPHER_SMARTBILL_USERNAME``): the e-mail used to log in to SmartBill Cloud.
    ``token`` (``CYPHER_SMARTBILL_TOKEN``): the API token (Contul Meu > Integrari). Together they
    make the preemptive ``Authorization: Basic base64(username:token)``. Unset, every call raises
    :class:`~hub.errors.ConfigError` naming the missing variable.

    ``cif`` (``CYPHER_SMARTBILL_CIF``): our company's CIF, sent as ``companyVatCode`` in bodies and
    ``cif`` in queries. A CIF that is not in the account is answered 401 like a bad token.

    ``base_url``: ``https://ws.smartbill.ro/SBORO/api`` (SmartBill refuses plain HTTP; sandboxes:
    the simulator's URL, e.g. ``http://127.0.0.1:8027/SBORO/api``).

    ``invoice_series``, ``proforma_series``: the series used when a document names none. They
    must exist in SmartBill Cloud (Configurare > Serii documente). The hub should own them
    alone: reconciliation after a lost answer reads the series' ``nextNumber``.

    ``timeout``: seconds for one request. On a document-creating call a timeout is an *unknown
    outcome* (:class:`~connectors.smartbill.errors.OutcomeUnknown`), never repeated blindly.

    ``per_second``, ``burst``: the client-side token bucket shared by every hub process (Redis).
    ``burst + per_second * limit_window`` must stay at or under ``limit_calls`` (loading refuses
    it otherwise); the defaults allow at most 25 calls in any 10 s. ``limit_calls``,
    ``limit_window``: SmartBill's published limit, 30 calls in 10 s (change them only if SmartBill
    does; tests shorten them together with the simulator's).

    ``attempts``, ``backoff``, ``max_backoff``: tries of a read (GET) on 5xx or timeouts, with
    jittered exponential backoff (seconds); writes are tried once.

    ``breaker_fail_max``, ``breaker_reset_timeout``: consecutive 5xx/timeouts that open the
    ``smartbill`` breaker, and seconds before a trial call. ``block_seconds``: how long the
    breaker is held open after SmartBill's 403 (its rate-limit block lasts 10 minutes).
    """

    username: str = ""
    token: Secret | None = None
    cif: str = ""
    base_url: str = "https://ws.smartbill.ro/SBORO/api"
    invoice_series: str = ""
    proforma_series: str = ""
    timeout: Positive = 30.0
    per_second: Positive = 2.0
    burst: Count = 5
    attempts: Annotated[int, Meta(ge=1, le=10)] = 3
    backoff: Positive = 0.5
    max_backoff: Positive = 10.0
    breaker_fail_max: Count = 5
    breaker_reset_timeout: Positive = 60.0
    block_seconds: Positive = 600.0
    limit_calls: Count = 30
    limit_window: Positive = 10.0


def check_limits(settings: SmartBillSettings) -> None:
    """Refuse a client-side limit that could exceed SmartBill's ``limit_calls`` per window."""
    window = settings.limit_window
    most = settings.burst + settings.per_second * window
    if most > settings.limit_calls:
        raise ConfigError(
            f"invalid setting {env_name('per_second', 'smartbill')}: burst {settings.burst} + "
            f"per_second {settings.per_second:g} x {window:g} s allows {most:g} calls per "
            f"{window:g} s, over SmartBill's {settings.limit_calls} (a 10-minute block)"
        )


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> SmartBillSettings:
    """Load ``[smartbill]`` from the config file and ``CYPHER_SMARTBILL_*``."""
    settings = load(
        SmartBillSettings, section="smartbill", config_path=config_path, environ=environ
    )
    check_limits(settings)
    return settings

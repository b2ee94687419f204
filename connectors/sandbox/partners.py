"""Which partners run against a simulator, and the settings that point them at it.

A partner counts as **configured** when any of its identifying settings — credentials, account
ids, or the API address — is set to something else than its default, in the config file
(``[woocommerce]`` ...) or the environment (``CYPHER_WOOCOMMERCE_*`` ...). A configured partner is
never simulated: setting a partner's credentials turns its sandbox off. Every other partner gets
the sandbox values below as its section's defaults (:func:`hub.settings.section_defaults`), so
the config file and the environment still win field by field (a ``timeout``, say).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from connectors.sendgrid.settings import SendGridSettings
from connectors.smartbill.settings import SmartBillSettings
from connectors.whatsapp.settings import WhatsAppSettings
from connectors.woocommerce.settings import WooCommerceSettings
from hub.settings import HubSettings, env_name, load

# The sandbox's credentials: valid only against the simulators this process runs on loopback.
WOO_KEY, WOO_SECRET, WOO_WEBHOOK_SECRET = "ck_sandbox", "cs_sandbox", "sandbox-webhook-secret"
SMARTBILL_USER, SMARTBILL_TOKEN = "sandbox@ledux.ro", "sandbox-token"
SMARTBILL_CIF, INVOICE_SERIES, PROFORMA_SERIES = "RO18547290", "LDX", "LDXP"
SENDGRID_KEY = "SG.sandbox"
WHATSAPP_TOKEN, WHATSAPP_PHONE_ID = "sandbox-whatsapp-token", "1000000001"
WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN = "sandbox-app-secret", "sandbox-verify-token"
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Partner:
    """A partner the sandbox can stand in for."""

    name: str  # the settings section, "smartbill"
    title: str  # "SmartBill"
    settings: type[msgspec.Struct]
    identity: tuple[str, ...]  # the settings that say "this partner is configured"
    port_setting: str  # the HubSettings field of its simulator's port

    def variables(self) -> str:
        """``CYPHER_SMARTBILL_USERNAME, ...``: what configuring it means, for messages."""
        return ", ".join(env_name(field, self.name) for field in self.identity)


PARTNERS: tuple[Partner, ...] = (
    Partner(
        "woocommerce",
        "WooCommerce",
        WooCommerceSettings,
        ("base_url", "consumer_key", "consumer_secret", "webhook_secret"),
        "sandbox_woocommerce_port",
    ),
    Partner(
        "smartbill",
        "SmartBill",
        SmartBillSettings,
        ("base_url", "username", "token", "cif"),
        "sandbox_smartbill_port",
    ),
    Partner(
        "sendgrid",
        "SendGrid",
        SendGridSettings,
        ("base_url", "api_key", "webhook_public_key"),
        "sandbox_sendgrid_port",
    ),
    Partner(
        "whatsapp",
        "WhatsApp",
        WhatsAppSettings,
        ("base_url", "access_token", "phone_number_id", "app_secret", "verify_token"),
        "sandbox_whatsapp_port",
    ),
)
BY_NAME = {p.name: p for p in PARTNERS}


def configured(
    partner: Partner,
    *,
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """The identifying settings of ``partner`` that someone set (empty: not configured)."""
    loaded = load(partner.settings, section=partner.name, config_path=config_path, environ=environ)
    default = partner.settings()
    return [f for f in partner.identity if getattr(loaded, f) != getattr(default, f)]


def simulated(
    settings: HubSettings,
    *,
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[list[Partner], dict[str, list[str]]]:
    """The partners to simulate, and the configured ones with the settings that were set.

    Nothing is simulated unless ``settings.sandbox_wanted``.
    """
    found = {p.name: configured(p, config_path=config_path, environ=environ) for p in PARTNERS}
    done = {name: fields for name, fields in found.items() if fields}
    if not settings.sandbox_wanted:
        return [], done
    return [p for p in PARTNERS if p.name not in done], done


def section_values(name: str, url: str, *, sendgrid_public_key: str = "") -> dict[str, Any]:
    """The ``[name]`` settings that point the connector at its simulator serving ``url``."""
    if name == "woocommerce":
        return {
            "base_url": url,
            "consumer_key": WOO_KEY,
            "consumer_secret": WOO_SECRET,
            "webhook_secret": WOO_WEBHOOK_SECRET,
        }
    if name == "smartbill":
        return {
            "base_url": url + "/SBORO/api",
            "username": SMARTBILL_USER,
            "token": SMARTBILL_TOKEN,
            "cif": SMARTBILL_CIF,
            "invoice_series": INVOICE_SERIES,
            "proforma_series": PROFORMA_SERIES,
        }
    if name == "sendgrid":
        return {
            "base_url": url,
            "api_key": SENDGRID_KEY,
            "webhook_public_key": sendgrid_public_key,
        }
    if name == "whatsapp":
        return {
            "base_url": url,
            "access_token": WHATSAPP_TOKEN,
            "phone_number_id": WHATSAPP_PHONE_ID,
            "app_secret": WHATSAPP_APP_SECRET,
            "verify_token": WHATSAPP_VERIFY_TOKEN,
        }
    raise ValueError(f"no sandbox for partner {name!r}")


def edge_url(settings: HubSettings) -> str:
    """The hub edge as the simulators reach it (a wildcard listen address means loopback)."""
    host = settings.http_host
    if host in ("", "0.0.0.0", "::"):
        host = LOOPBACK
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.http_port}"

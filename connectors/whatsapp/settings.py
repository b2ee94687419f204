"""Settings of the WhatsApp connector: table ``[whatsapp]``, variables ``CYPHER_WHATSAPP_*``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec

from hub.settings import Secret, load


class WhatsAppSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the WhatsApp connector needs.

    ``app_secret`` (``CYPHER_WHATSAPP_APP_SECRET``): the Meta app's App Secret, which signs every
    notification (``X-Hub-Signature-256``). ``verify_token`` (``CYPHER_WHATSAPP_VERIFY_TOKEN``):
    the string typed in the app's webhook configuration, echoed in the GET handshake. Unset,
    notifications (or the handshake) are refused with 503 naming the setting.
    """

    app_secret: Secret | None = None
    verify_token: Secret | None = None


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> WhatsAppSettings:
    """Load ``[whatsapp]`` from the config file and ``CYPHER_WHATSAPP_*``."""
    return load(WhatsAppSettings, section="whatsapp", config_path=config_path, environ=environ)

"""Settings of the WhatsApp connector: table ``[whatsapp]``, variables ``CYPHER_WHATSAPP_*``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from hub.settings import Secret, load


class WhatsAppSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the WhatsApp connector needs.

    ``app_secret`` (``CYPHER_WHATSAPP_APP_SECRET``): the Meta app's App Secret, which signs every
    notification (``X-Hub-Signature-256``). ``verify_token`` (``CYPHER_WHATSAPP_VERIFY_TOKEN``):
    the string typed in the app's webhook configuration, echoed in the GET handshake. Unset,
    notifications (or the handshake) are refused with 503 naming the setting.

    ``access_token`` (``CYPHER_WHATSAPP_ACCESS_TOKEN``): the system user's token sent as
    ``Authorization: Bearer``. Unset, ``SendWhatsApp`` waits (retried) and the log names it.

    ``phone_number_id``: our business number's id (the path's ``{phone_number_id}``).
    ``api_version``: the Graph version pinned in the path (e.g. ``v21.0``), changed on purpose.
    ``base_url``: ``https://graph.facebook.com`` (tests and sandboxes: the simulator's URL).

    ``timeout``: seconds for one request. A timeout is an *unknown outcome*: the connector never
    sends that delivery again (docs/WHATSAPP.md).

    ``per_second``, ``burst``: the client-side limit, shared through Redis; Meta's default is
    80 messages/s per number, we stay well below. ``retry_backoff``, ``retry_max_backoff``:
    seconds before a throughput-limited message is tried again (doubling, capped);
    ``pair_wait``: seconds before trying again after 131056 (same recipient too fast).
    ``give_up_after``: seconds of "refused for now" after which ``WhatsAppFailed(permanent=False)``.
    ``breaker_fail_max``: consecutive 5xx/timeouts that open the ``whatsapp`` breaker.
    """

    app_secret: Secret | None = None
    verify_token: Secret | None = None
    access_token: Secret | None = None
    phone_number_id: str = ""
    api_version: str = "v21.0"
    base_url: str = "https://graph.facebook.com"
    timeout: Annotated[float, Meta(gt=0)] = 10.0
    per_second: Annotated[float, Meta(gt=0)] = 20.0
    burst: Annotated[int, Meta(ge=1)] = 5
    retry_backoff: Annotated[float, Meta(gt=0)] = 1.0
    retry_max_backoff: Annotated[float, Meta(gt=0)] = 60.0
    pair_wait: Annotated[float, Meta(gt=0)] = 30.0
    give_up_after: Annotated[float, Meta(gt=0)] = 3600.0
    breaker_fail_max: Annotated[int, Meta(ge=1)] = 5


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> WhatsAppSettings:
    """Load ``[whatsapp]`` from the config file and ``CYPHER_WHATSAPP_*``."""
    return load(WhatsAppSettings, section="whatsapp", config_path=config_path, environ=environ)

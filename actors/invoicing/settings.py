"""Settings of the invoicing context: ``[invoicing]``, variables ``CYPHER_INVOICING_*``.

SmartBill itself (credentials, series, timeout, limits) is ``[smartbill]``
(:class:`connectors.smartbill.settings.SmartBillSettings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec

from hub.settings import load

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]


class InvoicingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the invoicing actor waits (docs/INVOICING.md).

    - ``retry_backoff``, ``retry_max_backoff``: seconds before issuing again after SmartBill
      certainly made nothing (5xx, outage, breaker open, 403 block: never sooner than its
      ``retry_after``), doubled per attempt and capped.
    - ``reconcile_after``: seconds after a POST whose answer was lost before its series is read
      (reconciliation); at least the SmartBill client's ``timeout`` (SmartBill may still be
      working on it). Unset: the ``[smartbill]`` timeout plus 5 s.
    """

    retry_backoff: Seconds = 30.0
    retry_max_backoff: Seconds = 900.0
    reconcile_after: Seconds | None = None


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> InvoicingSettings:
    """Load ``[invoicing]`` from the config file and ``CYPHER_INVOICING_*``."""
    return load(InvoicingSettings, section="invoicing", config_path=config_path, environ=environ)

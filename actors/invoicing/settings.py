"""Settings of the invoicing context: ``[invoicing]``, variables ``CYPHER_INVOICING_*``.

SmartBill itself (credentials, series, timeout, limits) is ``[smartbill]``
(:class:`connectors.smartbill.settings.SmartBillSettings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from pathlib import Path
from typing import Annotated

import msgspec

from hub.settings import load

Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]
Calls = Annotated[int, msgspec.Meta(ge=1, le=1000)]
Days = Annotated[int, msgspec.Meta(ge=1, le=3650)]


class InvoicingSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the invoicing actor waits (docs/INVOICING.md).

    - ``retry_backoff``, ``retry_max_backoff``: seconds before issuing again after SmartBill
      certainly made nothing (5xx, outage, breaker open, 403 block: never sooner than its
      ``retry_after``), doubled per attempt and capped.
    - ``reconcile_after``: seconds after a POST whose answer was lost before its series is read
      (reconciliation); at least the SmartBill client's ``timeout`` (SmartBill may still be
      working on it). Unset: the ``[smartbill]`` timeout plus 5 s.
    - ``payment_poll_interval``: seconds between two payment polls (unset: no poll);
      ``payment_poll_calls``: the most SmartBill calls one poll makes (the rest waits for the
      next, oldest-polled first); ``payment_watch_days``: how long a proforma or an invoice is
      watched after it was issued.
    - ``proforma_due_days``: days after its issue date a proforma is due (its ``dueDate`` in
      SmartBill and the date in the customer's email).
    - ``stock_check_at``: the time of day (Europe/Bucharest) of the daily stock comparison
      (unset: none); ``warehouses``: ``"<hub code>=<SmartBill warehouse name>"`` pairs (the
      name exact, case-sensitive, as SmartBill writes it; a list in TOML, comma-separated in
      the environment); a SmartBill warehouse missing from it is reported as unmapped, a hub
      warehouse missing from it is not compared.
    """

    retry_backoff: Seconds = 30.0
    retry_max_backoff: Seconds = 900.0
    reconcile_after: Seconds | None = None
    payment_poll_interval: Seconds | None = 900.0
    payment_poll_calls: Calls = 20
    payment_watch_days: Days = 60
    proforma_due_days: Days = 5
    stock_check_at: time | None = time(6, 30)
    warehouses: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pair in self.warehouses:
            code, _, name = pair.partition("=")
            if not code.strip() or not name.strip():
                raise ValueError(f"warehouses: {pair!r} is not '<hub code>=<SmartBill name>'")

    @property
    def warehouse_map(self) -> dict[str, str]:
        """SmartBill warehouse name → hub warehouse code."""
        pairs = (p.partition("=") for p in self.warehouses)
        return {name.strip(): code.strip() for code, _, name in pairs}


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> InvoicingSettings:
    """Load ``[invoicing]`` from the config file and ``CYPHER_INVOICING_*``."""
    return load(InvoicingSettings, section="invoicing", config_path=config_path, environ=environ)

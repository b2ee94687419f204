"""Settings of the quotations: ``[quotations]``, variables ``CYPHER_QUOTATIONS_*``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from hub.settings import load

Days = Annotated[int, msgspec.Meta(ge=1, le=365)]


class QuotationsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Validity and reminder of new quotes, and the seller printed on every quotation.

    - ``validity_days``: calendar days a quote is valid, the day it is sent counting as the
      first (a quote may ask for its own when it is created).
    - ``remind_days_before``: the reminder goes at 09:00 Bucharest time this many days before
      the day the quote expires.
    - ``seller_*``: the shop's legal details for the PDF (the demo defaults describe Ledux).
    """

    validity_days: Days = 15
    remind_days_before: Days = 3
    default_language: Literal["ro", "en"] = "ro"
    seller_name: str = "LEDUX DISTRIBUTION S.R.L."
    seller_cui: str = "RO18547290"
    seller_reg_com: str = "J40/8123/2006"
    seller_street: str = "Bd. Iuliu Maniu nr. 7, corp A, et. 2"
    seller_city: str = "București"
    seller_county: str = "Sector 6"
    seller_postcode: str | None = "061072"
    seller_iban: str = "RO49AAAA1B31007593840000"
    seller_bank: str = "Banca Transilvania"
    seller_email: str = "oferte@ledux.ro"
    seller_phone: str = "+40 21 555 01 00"
    seller_website: str | None = "www.ledux.ro"

    def __post_init__(self) -> None:
        if self.remind_days_before >= self.validity_days:
            raise ValueError(
                f"remind_days_before ({self.remind_days_before}) must be less than "
                f"validity_days ({self.validity_days})"
            )


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> QuotationsSettings:
    """Load ``[quotations]`` from the config file and ``CYPHER_QUOTATIONS_*``."""
    return load(QuotationsSettings, section="quotations", config_path=config_path, environ=environ)


@cache
def current() -> QuotationsSettings:
    """The settings of this process, loaded once (the API routes use them)."""
    return load_settings()

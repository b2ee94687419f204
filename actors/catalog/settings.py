"""Settings of the catalog: ``[catalog]`` in the config file, variables ``CYPHER_CATALOG_*``."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import msgspec

from hub.settings import load


class CatalogSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Limits of the catalog's import and export.

    - ``import_max_bytes``: the largest import body (the API's ``api_max_body`` does not apply
      to imports); larger is 413.
    - ``import_batch_size``: rows per all-or-nothing batch when the request does not say
      (``batch_size``, at most ``import_max_batch_size``).
    - ``import_max_line_bytes``: the longest CSV line or NDJSON line accepted.
    - ``import_max_errors``: row errors listed in an import's answer (all are counted, and every
      batch's errors are kept with the batch).
    """

    import_max_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 50 * 1024 * 1024
    import_batch_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000
    import_max_batch_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 5000
    import_max_line_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    import_max_errors: Annotated[int, msgspec.Meta(ge=1)] = 1000


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> CatalogSettings:
    """Load ``[catalog]`` from the config file and ``CYPHER_CATALOG_*``."""
    return load(CatalogSettings, section="catalog", config_path=config_path, environ=environ)


@functools.cache
def current() -> CatalogSettings:
    """The settings, loaded once on first use (never at import time)."""
    return load_settings()

"""Loading the installed parts by name: ``"package.module:attribute"`` paths.

The contexts and connectors list what they contribute (actor factories, webhook sources, API
route groups, settings sections) as such paths in ``actors/__init__.py`` and
``connectors/__init__.py``; the command line loads them with :func:`load_all`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from hub.errors import ConfigError


def load(path: str, what: str) -> Any:
    """The object at ``path``; a :class:`ConfigError` naming ``what`` and the path if missing."""
    module, _, attr = path.partition(":")
    if not module or not attr:
        raise ConfigError(f"cannot load {what} {path!r}: write it as 'package.module:name'")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load {what} {path!r}: {exc}") from exc


def load_all(paths: Sequence[str], what: str) -> list[Any]:
    """:func:`load` each path, in order."""
    return [load(path, what) for path in paths]

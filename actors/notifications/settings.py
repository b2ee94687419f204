"""Settings of the notifications: ``[notifications]``, variables ``CYPHER_NOTIFICATIONS_*``."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from hub.settings import PROJECT_ROOT, load


class NotificationsSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Who gets the staff emails, how customers are written to, how failed sends are retried.

    - ``staff_emails``: where the low-stock digest goes (an empty list: the digest is skipped).
    - ``retry_attempts``: deliveries per channel of one notification, the first included; a
      retry happens only after a non-permanent failure (the connector sent nothing) and is a
      new delivery id, after ``retry_backoff`` seconds doubled per attempt.
    - ``templates_dir``: the jinja2 templates, one folder per template.
    """

    staff_emails: tuple[str, ...] = ("depozit@ledux.ro",)
    default_language: Literal["ro", "en"] = "ro"
    retry_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3
    retry_backoff: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 300.0
    templates_dir: str = str(PROJECT_ROOT / "config" / "templates" / "notifications")


def load_settings(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> NotificationsSettings:
    """Load ``[notifications]`` from the config file and ``CYPHER_NOTIFICATIONS_*``."""
    return load(
        NotificationsSettings, section="notifications", config_path=config_path, environ=environ
    )


@cache
def current() -> NotificationsSettings:
    """The settings of this process, loaded once (the API routes use them)."""
    return load_settings()

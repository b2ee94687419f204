"""The one error tree of the hub.

- :class:`DomainError`: a business "no". Acknowledged, never retried, never trips a breaker.
- :class:`TransientError`: timeouts, 5xx, lost connections. Retried with backoff.
- :class:`PermanentError`: a poison message (undecodable, invalid). Dead-lettered at once.
- :class:`NotFound`: a repository found nothing (a :class:`DomainError`).
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose."""


class DomainError(HubError):
    """A business rule said no; the message is acknowledged and not retried."""

    code = "domain_error"


class NotFound(DomainError):
    """The entity asked for does not exist."""

    code = "not_found"


class TransientError(HubError):
    """A failure that may pass: retried with growing delays, then dead-lettered."""


class PermanentError(HubError):
    """A message that can never succeed as it is: dead-lettered at once."""


class ConfigError(HubError):
    """A setting is missing or invalid; the message names the setting."""

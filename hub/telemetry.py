"""Logging (structured, bound to message and correlation ids) and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class BoundLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger that adds fixed fields (message_id, correlation_id, actor...) to every line."""

    def __init__(self, logger: logging.Logger, **fields: Any) -> None:
        super().__init__(logger, fields)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        extra = dict(self.extra or {})
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return msg, kwargs

    def bind(self, **fields: Any) -> BoundLogger:
        """A new logger with more fields."""
        return BoundLogger(self.logger, **{**dict(self.extra or {}), **fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the bound fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        if not extra:
            return base
        head, sep, tail = base.partition("\n")
        return f"{head} [{extra}]{sep}{tail}"


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Configure the root logger once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiormq", "aio_pika", "asyncio", "pgserver"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class Metrics:
    """The hub's Prometheus metrics, in a registry of their own (one per hub instance)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        labels = ("actor", "type")
        self.handled = Counter(
            "hub_messages_handled", "Messages handled and committed", labels, registry=r
        )
        self.failed = Counter(
            "hub_messages_failed", "Handler attempts that raised", labels, registry=r
        )
        self.retried = Counter(
            "hub_messages_retried", "Messages sent to a delay queue", labels, registry=r
        )
        self.dead_lettered = Counter(
            "hub_messages_dead_lettered",
            "Messages put in the dead-letter store",
            (*labels, "reason"),
            registry=r,
        )
        self.duplicates = Counter(
            "hub_messages_duplicate", "Redeliveries skipped by the inbox", labels, registry=r
        )
        self.rejected = Counter(
            "hub_messages_rejected",
            "Messages a domain rule refused (acked, not retried)",
            labels,
            registry=r,
        )
        self.latency = Histogram(
            "hub_handler_seconds",
            "Handler time including its transaction",
            labels,
            registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.published = Counter("hub_outbox_published", "Outbox rows published", registry=r)
        self.outbox_lag = Gauge(
            "hub_outbox_lag_seconds",
            "Age of the oldest unpublished outbox row (0 when empty)",
            registry=r,
        )
        self.outbox_pending = Gauge("hub_outbox_pending", "Unpublished outbox rows", registry=r)
        self.timers_fired = Counter("hub_timers_fired", "Durable timers delivered", registry=r)
        self.restarts = Counter(
            "hub_task_restarts", "Supervised task restarts", ("task",), registry=r
        )
        self.breaker_open = Gauge(
            "hub_breaker_open",
            "1 while a partner's circuit breaker is open",
            ("partner",),
            registry=r,
        )
        self.breaker_transitions = Counter(
            "hub_breaker_transitions",
            "Circuit breaker state changes",
            ("partner", "to"),
            registry=r,
        )
        self.outbound = Counter(
            "hub_outbound_requests",
            "Calls to partner APIs by outcome (status class, timeout, error, breaker_open)",
            ("partner", "outcome"),
            registry=r,
        )


def redact(
    mapping: Mapping[str, Any], secrets: tuple[str, ...] = ("authorization", "cookie")
) -> dict[str, Any]:
    """A copy of a header mapping with secret-bearing values masked."""
    return {k: ("***" if k.lower() in secrets else v) for k, v in mapping.items()}

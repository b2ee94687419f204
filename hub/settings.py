"""Typed settings from ``config/hub.toml`` plus ``CYPHER_*`` environment variables.

Every setting has one name in the TOML file (``http_port``) and one in the environment
(``CYPHER_HTTP_PORT``); the environment wins. A section of settings owned by a connector is a
TOML table (``[woocommerce]``) with variables ``CYPHER_WOOCOMMERCE_<FIELD>``. A bad or missing
value raises :class:`~hub.errors.ConfigError` with one line naming the setting. Secret values are
wrapped in :class:`Secret`, whose ``repr`` and ``str`` never show the value.

This is the only module that reads ``os.environ``.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import msgspec
from msgspec import Meta

from hub.errors import ConfigError

ENV_PREFIX = "CYPHER_"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = Path("config/hub.toml")

S = TypeVar("S", bound=msgspec.Struct)


class Secret:
    """A secret string: shown as ``'***'`` everywhere; call :meth:`reveal` where it is used."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the secret value, for the one place that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


Port = Annotated[int, Meta(ge=1, le=65535)]
Positive = Annotated[float, Meta(gt=0)]
Count = Annotated[int, Meta(ge=1)]
SandboxPort = Annotated[int, Meta(ge=0, le=65535)]  # 0: a free port chosen at start

SANDBOX_PORTS = (
    "sandbox_woocommerce_port",
    "sandbox_smartbill_port",
    "sandbox_sendgrid_port",
    "sandbox_whatsapp_port",
)


class HubSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Settings of the runtime. Documented, with defaults, in ``config/hub.toml``."""

    env: Literal["development", "test", "production"] = "development"
    database_url: Secret | None = None
    amqp_url: Secret | None = None
    redis_url: Secret | None = None
    http_host: str = "127.0.0.1"
    http_port: Port = 8080
    data_dir: str = ".cypher"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    bus_prefix: Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_.-]{0,62}$")] = "cypher"
    prefetch: Annotated[int, Meta(ge=1, le=10_000)] = 32
    retry_delays: Annotated[tuple[Positive, ...], Meta(min_length=1, max_length=10)] = (
        1.0,
        10.0,
        60.0,
        600.0,
    )
    max_redeliveries: Count = 10
    shutdown_timeout: Positive = 20.0
    handler_timeout: Positive = 60.0
    db_pool_min: Annotated[int, Meta(ge=0)] = 1
    db_pool_max: Count = 10
    outbox_batch_size: Count = 500
    outbox_sweep_interval: Positive = 1.0
    timer_poll_interval: Positive = 1.0
    inbox_retention_hours: Count = 14 * 24
    outbox_retention_hours: Count = 24
    migrate_on_start: bool = True
    demo_data: Literal["auto", "on", "off"] = "auto"
    queue_expires: Positive | None = None
    migrations_dir: str = str(PROJECT_ROOT / "migrations")
    # The edge: request limits, webhook intake.
    api_max_body: Count = 1_048_576
    webhook_max_body: Count = 2_097_152
    webhook_retention_days: Count = 30
    intake_group_commit: bool = True
    intake_max_batch: Annotated[int, Meta(ge=1, le=10_000)] = 256
    # Authentication and rate limits.
    jwt_secret: Secret | None = None
    access_token_ttl: Positive = 900.0
    refresh_token_ttl: Positive = 30 * 24 * 3600.0
    totp_issuer: str = "Cypher Hub"
    rate_limit_per_minute: Count = 600
    rate_limit_burst: Count = 100
    trusted_proxies: Annotated[tuple[str, ...], Meta(max_length=20)] = ()
    # PDF rendering (quotations, documents): worker processes, recycling, time limit.
    pdf_workers: Annotated[int, Meta(ge=1, le=32)] = 2
    pdf_max_tasks: Count = 50
    pdf_timeout: Positive = 30.0
    # Sandbox mode: the partners' simulators in this process (connectors/sandbox).
    sandbox: Literal["auto", "on", "off"] = "auto"
    sandbox_woocommerce_port: SandboxPort = 8027
    sandbox_smartbill_port: SandboxPort = 8028
    sandbox_sendgrid_port: SandboxPort = 8025
    sandbox_whatsapp_port: SandboxPort = 8026

    @property
    def embedded_database(self) -> bool:
        """True when PostgreSQL runs embedded (no ``CYPHER_DATABASE_URL``)."""
        return self.database_url is None

    @property
    def sandbox_wanted(self) -> bool:
        """Whether ``serve`` runs the simulators of the partners not configured (``sandbox``).

        ``"auto"``: in development on an embedded database (``make run``); ``"on"``: in any
        environment but production (refused there at load); ``"off"``: never.
        """
        if self.sandbox == "auto":
            return self.env == "development" and self.embedded_database
        return self.sandbox == "on"


_SECTION_DEFAULTS: dict[str, dict[str, Any]] = {}


@contextmanager
def section_defaults(defaults: Mapping[str, Mapping[str, Any]]) -> Iterator[None]:
    """Give ``[section]`` settings other defaults while the block runs.

    ``defaults`` maps a section (``"smartbill"``) to field values as the config file would
    write them. They sit *beneath* the config file and the environment, which still win field
    by field, and are read by every :func:`load` of that section in the block. Sandbox mode
    uses this to point the partners nobody configured at their simulators.
    """
    previous = {k: dict(v) for k, v in _SECTION_DEFAULTS.items()}
    for section, values in defaults.items():
        _SECTION_DEFAULTS[section] = {**_SECTION_DEFAULTS.get(section, {}), **values}
    try:
        yield
    finally:
        _SECTION_DEFAULTS.clear()
        _SECTION_DEFAULTS.update(previous)


def env_name(field: str, section: str | None = None) -> str:
    """The environment variable of a setting: ``CYPHER_[SECTION_]FIELD``."""
    parts = [section, field] if section else [field]
    return ENV_PREFIX + "_".join(p.upper() for p in parts)


def load(
    cls: type[S],
    *,
    section: str | None = None,
    config_path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> S:
    """Load ``cls`` from the TOML file (top level, or the ``[section]`` table) and environment.

    ``config_path`` defaults to ``CYPHER_CONFIG`` or ``config/hub.toml`` (relative to the
    working directory, else to the project). An explicitly named file that is missing is an
    error; a missing default file means "all defaults".
    """
    environ = os.environ if environ is None else environ
    table = _read_toml(config_path, environ)
    if section is not None:
        raw = table.get(section, {})
        if not isinstance(raw, dict):
            raise ConfigError(f"invalid setting [{section}] in config: expected a table")
        table = raw
    all_hints = typing.get_type_hints(cls, include_extras=True)
    hints = {f: all_hints[f] for f in cls.__struct_fields__}  # not ClassVars
    data: dict[str, Any] = dict(_SECTION_DEFAULTS.get(section, {})) if section else {}
    for key, value in table.items():
        if isinstance(value, dict) and key not in hints:
            continue  # another section's table
        data[key] = value
    unknown = sorted(set(data) - set(hints))
    if unknown:
        raise ConfigError(
            f"unknown setting {unknown[0]!r} in config"
            + (f" [{section}]" if section else "")
            + f"; known settings: {', '.join(sorted(hints))}"
        )
    for field, hint in hints.items():
        name = env_name(field, section)
        if name in environ:
            data[field] = _from_env(environ[name], hint)
    try:
        settings = msgspec.convert(data, cls, strict=False, dec_hook=_dec_hook)
    except msgspec.ValidationError as exc:
        raise _explain(exc, section, hints, data) from None
    if isinstance(settings, HubSettings):
        _check_production(settings)
    return settings


def load_hub(
    config_path: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> HubSettings:
    """Load the runtime's settings (see :func:`load`)."""
    return load(HubSettings, config_path=config_path, environ=environ)


def unknown_env(
    environ: Mapping[str, str] | None = None, known: set[str] | None = None
) -> list[str]:
    """``CYPHER_*`` variables no loaded setting claims (likely typos), for a startup warning."""
    environ = os.environ if environ is None else environ
    known = known or set()
    claimed = {env_name(f) for f in HubSettings.__struct_fields__} | known | {"CYPHER_CONFIG"}
    return sorted(k for k in environ if k.startswith(ENV_PREFIX) and k not in claimed)


def describe(settings: msgspec.Struct) -> dict[str, Any]:
    """The settings as plain data for display; secrets are masked."""
    out: dict[str, Any] = {}
    for field in settings.__struct_fields__:
        value = getattr(settings, field)
        if isinstance(value, Secret):
            value = redact_url(value.reveal()) if "://" in value.reveal() else "***"
        elif isinstance(value, msgspec.Struct):
            value = describe(value)
        out[field] = value
    return out


_SECRET_PARAM = re.compile(r"pass|secret|token|key", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``scheme://user:***@host/path``: a URL (or libpq ``key=value`` DSN) safe to log.

    Passwords are masked wherever libpq and redis-py accept them: in the user info, in
    query parameters (``?password=``, ``?sslpassword=``, tokens) and in keyword DSNs.
    """
    if "://" not in url:
        return _KEYWORD_PASSWORD.sub(r"\1***", url)
    parts = urlsplit(url)
    if parts.password is not None:
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        parts = parts._replace(netloc=f"{user}:***@{netloc}")
    if parts.query:
        query = "&".join(_redact_param(p) for p in parts.query.split("&"))
        parts = parts._replace(query=query)
    return urlunsplit(parts)


def _redact_param(param: str) -> str:
    name, sep, _value = param.partition("=")
    return f"{name}=***" if sep and _SECRET_PARAM.search(name) else param


def project_path(path: str | Path) -> Path:
    """Resolve a relative setting path against the working directory."""
    return Path(path).expanduser().resolve()


def _read_toml(config_path: str | Path | None, environ: Mapping[str, str]) -> dict[str, Any]:
    explicit = config_path is not None or "CYPHER_CONFIG" in environ
    path = Path(config_path or environ.get("CYPHER_CONFIG") or DEFAULT_CONFIG)
    if not explicit and not path.exists():
        path = PROJECT_ROOT / DEFAULT_CONFIG
    if not path.exists():
        if explicit:
            raise ConfigError(f"invalid setting CYPHER_CONFIG: file {path} does not exist")
        return {}
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid config file {path}: {exc}") from None


def _from_env(value: str, hint: Any) -> Any:
    """Environment values are strings; split lists on commas, map empty to None."""
    base = _strip_annotated(hint)
    origin = typing.get_origin(base)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(base) if a is not type(None)]
        if value == "" and len(args) < len(typing.get_args(base)):
            return None
        base = _strip_annotated(args[0]) if len(args) == 1 else base
        origin = typing.get_origin(base)
    if origin in (tuple, list, frozenset, set):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _strip_annotated(hint: Any) -> Any:
    while typing.get_origin(hint) is Annotated:
        hint = typing.get_args(hint)[0]
    return hint


def _dec_hook(typ: type, obj: Any) -> Any:
    if typ is Secret:
        if not isinstance(obj, str):
            raise TypeError("expected a string")
        return Secret(obj)
    raise NotImplementedError(f"unsupported setting type {typ}")


_PATH = re.compile(r" - at `\$\.(\w+)[^`]*`")
_MISSING = re.compile(r"^Object missing required field `(\w+)`$")


def _explain(
    exc: msgspec.ValidationError,
    section: str | None,
    hints: dict[str, Any],
    data: dict[str, Any],
) -> ConfigError:
    text = str(exc)
    missing = _MISSING.search(text)
    if missing is not None:
        field = missing.group(1)
        where = f" under [{section}]" if section else ""
        return ConfigError(
            f"missing setting {env_name(field, section)}: it has no default "
            f"(or set {field}{where} in the config file)"
        )
    match = _PATH.search(text)
    field = match.group(1) if match else None
    problem = _PATH.sub("", text)
    if field is None:
        where = f" [{section}]" if section else ""
        return ConfigError(f"invalid settings{where}: {problem}")
    name = env_name(field, section)
    hint = hints.get(field)
    shown = "" if "Secret" in str(hint) else f" (got {data.get(field)!r})"
    return ConfigError(f"invalid setting {name} ({field}): {problem}{shown}")


def _check_production(settings: HubSettings) -> None:
    _check_sandbox_ports(settings)
    if settings.env != "production":
        return
    if settings.sandbox == "on":
        raise ConfigError(
            f"invalid setting {env_name('sandbox')} (sandbox): sandbox mode is refused when "
            'CYPHER_ENV=production (set it to "off" or "auto" and configure the partners)'
        )
    for field in ("database_url", "amqp_url", "redis_url", "jwt_secret"):
        if getattr(settings, field) is None:
            raise ConfigError(
                f"missing setting {env_name(field)}: required when CYPHER_ENV=production"
            )


def _check_sandbox_ports(settings: HubSettings) -> None:
    """Each simulator on its own port, none on the edge's (0, any free port, is never shared)."""
    taken = {settings.http_port: "http_port"}
    for field in SANDBOX_PORTS:
        port = getattr(settings, field)
        if port and port in taken:
            raise ConfigError(
                f"invalid setting {env_name(field)} ({field}): port {port} is also "
                f"{taken[port]}; give each simulator its own port"
            )
        taken[port] = field

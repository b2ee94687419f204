"""Templates: one folder per template under ``config/templates/notifications/<name>/``.

Each holds ``template.toml`` (kind, default channels, in-app link, subjects and the approved
WhatsApp template with its ordered parameters, all jinja expressions) and the bodies
``<lang>.html`` (autoescaped) and ``<lang>.txt``. ``StrictUndefined``: a value missing from the
request's ``data`` is a :class:`RenderError`, never a blank in a customer's email.
"""

from __future__ import annotations

import tomllib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, get_args

import jinja2
import msgspec

from actors.notifications.domain import Channel, Kind

LANGUAGES = ("ro", "en")


class RenderError(Exception):
    """The template cannot be rendered with this data (or does not exist)."""


class WhatsAppTemplate(msgspec.Struct, frozen=True, kw_only=True):
    """The Meta-approved template a notification uses on WhatsApp."""

    name: str
    parameters: tuple[str, ...]  # jinja expressions, in the template's {{1}}, {{2}}, ... order


class Spec(msgspec.Struct, frozen=True, kw_only=True):
    """A template's ``template.toml``."""

    kind: Kind
    channels: tuple[Channel, ...]
    subject: dict[str, str]  # language → jinja subject
    link: str | None = None
    whatsapp: WhatsAppTemplate | None = None


class Rendered(msgspec.Struct, frozen=True, kw_only=True):
    """A notification rendered in one language, for every channel."""

    subject: str
    text: str
    html: str
    link: str | None
    whatsapp_template: str | None
    whatsapp_parameters: tuple[str, ...]


def money(value: Any, lang: str = "ro") -> str:
    """``1234.5`` → ``"1.234,50 lei"`` (ro) or ``"1,234.50 RON"`` (en)."""
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise RenderError(f"not an amount: {value!r}") from exc
    english = f"{amount:,.2f}"
    if lang == "en":
        return f"{english} RON"
    return english.replace(",", " ").replace(".", ",").replace(" ", ".") + " lei"


def day(value: Any) -> str:
    """An ISO date or instant → ``"15.05.2027"`` (the shop's usage in both languages)."""
    if isinstance(value, datetime | date):
        return value.strftime("%d.%m.%Y")
    try:
        return datetime.fromisoformat(str(value)).strftime("%d.%m.%Y")
    except ValueError as exc:
        raise RenderError(f"not a date: {value!r}") from exc


class Renderer:
    """Loads the templates once from ``root`` and renders them."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        loader = jinja2.FileSystemLoader(self.root)
        self._html = self._env(loader, autoescape=True)
        self._text = self._env(loader, autoescape=False)
        self._specs: dict[str, Spec] = {}
        self._inline: dict[str, jinja2.Template] = {}  # subjects, links, WhatsApp parameters

    @staticmethod
    def _env(loader: jinja2.BaseLoader, *, autoescape: bool) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=loader,
            autoescape=autoescape,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
        )
        env.filters["day"] = day

        @jinja2.pass_context
        def lei(ctx: Any, value: Any) -> str:
            return money(value, ctx.get("lang", "ro"))

        env.filters["money"] = lei
        return env

    def spec(self, name: str) -> Spec:
        """The template's settings (:class:`RenderError` if there is no such template)."""
        if name not in self._specs:
            path = self.root / name / "template.toml"
            if "/" in name or name.startswith(".") or not path.is_file():
                raise RenderError(f"no template {name!r}")
            spec = msgspec.convert(tomllib.loads(path.read_text("utf-8")), Spec)
            if not set(spec.channels) <= set(get_args(Channel)) or set(spec.subject) != set(
                LANGUAGES
            ):
                raise RenderError(f"template {name!r}: bad channels or subjects")
            self._specs[name] = spec
        return self._specs[name]

    def _compiled(self, source: str) -> jinja2.Template:
        """A template string of a ``template.toml``, compiled once: compiled at every render,
        they cost as much CPU as the rendering itself (bench/pipeline.py's profile showed
        2 428 compiles for 120 orders)."""
        template = self._inline.get(source)
        if template is None:
            template = self._inline[source] = self._text.from_string(source)
        return template

    def render(self, name: str, language: str, data: dict[str, Any]) -> Rendered:
        """Render every part of template ``name`` in ``language`` with ``data``."""
        spec = self.spec(name)
        lang = language if language in LANGUAGES else "ro"
        values = {**data, "lang": lang}
        try:
            one = self._compiled
            params = spec.whatsapp.parameters if spec.whatsapp else ()
            return Rendered(
                subject=" ".join(one(spec.subject[lang]).render(values).split()),
                text=self._text.get_template(f"{name}/{lang}.txt").render(values),
                html=self._html.get_template(f"{name}/{lang}.html").render(values),
                link=one(spec.link).render(values) if spec.link else None,
                whatsapp_template=spec.whatsapp.name if spec.whatsapp else None,
                whatsapp_parameters=tuple(one(p).render(values) for p in params),
            )
        except RenderError:
            raise
        except (jinja2.TemplateError, TypeError, ValueError, KeyError) as exc:
            raise RenderError(f"template {name!r} ({lang}): {exc}") from exc

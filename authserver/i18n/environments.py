"""Jinja2 environments with the i18n extension, one per locale, over one loader.

Templates mark text with ``{% trans %}…{% endtrans %}`` or ``{{ _("…") }}`` (new-style
gettext: ``_("Hello %(name)s", name=name)``, placeholders escaped). Whitespace inside
``trans`` blocks is trimmed, as the extraction does (``babel.cfg``).

The loader looks in the operator's folder (``AUTHSERVER_TEMPLATES_DIR``) first, then in
the shipped templates; ``builtin/<name>`` is always the shipped file, so an override can
``{% extends "builtin/pages/login.html" %}`` and replace a single block."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

from authserver.i18n.catalogs import Catalogs

BUILTIN_PREFIX = "builtin"


def template_loader(shipped: Path, operator: Path | None) -> BaseLoader:
    builtin = FileSystemLoader(shipped)
    loaders: list[BaseLoader] = [FileSystemLoader(operator)] if operator else []
    return ChoiceLoader([*loaders, builtin, PrefixLoader({BUILTIN_PREFIX: builtin})])


def _babel_locale(tag: str) -> str:
    return tag.replace("-", "_")


class LocalizedEnvironments:
    """``environment(locale)``: a Jinja2 environment speaking ``locale`` (built once)."""

    def __init__(
        self,
        loader: BaseLoader,
        catalogs: Catalogs,
        *,
        autoescape: bool | Callable[[str | None], bool],
        **options: Any,
    ) -> None:
        self._loader = loader
        self._autoescape = autoescape
        self._catalogs = catalogs
        self._options = options
        self._built: dict[str, Environment] = {}
        self._lock = threading.Lock()

    def environment(self, locale: str) -> Environment:
        env = self._built.get(locale)
        if env is not None:
            return env
        with self._lock:
            if locale not in self._built:
                self._built[locale] = self._build(locale)
            return self._built[locale]

    def _build(self, locale: str) -> Environment:
        env = Environment(
            loader=self._loader,
            autoescape=self._autoescape,  # noqa: S701 -- on for HTML; the callers pass it
            extensions=["jinja2.ext.i18n"],
            **self._options,
        )
        env.policies["ext.i18n.trimmed"] = True
        env.install_gettext_translations(  # type: ignore[attr-defined]
            self._catalogs.translations(locale), newstyle=True
        )
        env.filters["datetime"] = _datetime_filter(_babel_locale(locale))
        env.globals["locale"] = locale
        return env


def _datetime_filter(locale: str) -> Callable[[datetime], str]:
    def formatted(value: datetime, format: str = "short") -> str:
        return format_datetime(value, format, tzinfo=value.tzinfo, locale=locale)

    return formatted

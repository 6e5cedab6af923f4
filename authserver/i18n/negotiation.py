"""Which language a page speaks: the first supported tag of ``ui_locales`` (OIDC Core
§3.1.2.1: space-separated BCP 47 tags in order of preference), else the browser's stored
choice, else ``Accept-Language`` (RFC 9110 §12.5.4), else the default.

Matching is RFC 4647 §3.4 lookup: a tag matches a supported one case-insensitively, or
after dropping subtags from the end (``de-CH-1996`` → ``de-CH`` → ``de``)."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

# Longer values are not a list of preferences but an attack: ignored as a whole.
MAX_UI_LOCALES_CHARS = 256
MAX_TAGS = 10
MAX_ACCEPT_LANGUAGE_CHARS = 1024
LANGUAGE_TAG = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8}){0,6}")


def ui_locales_tags(value: str | None) -> list[str]:
    """The well-formed tags of a ``ui_locales`` value, in order; garbage yields []."""
    if not value or len(value) > MAX_UI_LOCALES_CHARS:
        return []
    return [tag for tag in value.split()[:MAX_TAGS] if LANGUAGE_TAG.fullmatch(tag)]


def accept_language_tags(header: str | None) -> list[str]:
    """The tags of an ``Accept-Language`` header, most preferred first (q=0 left out)."""
    if not header or len(header) > MAX_ACCEPT_LANGUAGE_CHARS:
        return []
    accepted = parse_accept_header(header, LanguageAccept)
    return [
        tag
        for tag, quality in list(accepted)[:MAX_TAGS]
        if quality > 0 and LANGUAGE_TAG.fullmatch(tag)
    ]


def lookup(preferred: Iterable[str], supported: Collection[str]) -> str | None:
    """The supported tag (as spelled in ``supported``) best matching ``preferred``."""
    by_key = {tag.lower(): tag for tag in supported}
    for tag in preferred:
        parts = tag.lower().split("-")
        while parts:
            match = by_key.get("-".join(parts))
            if match is not None:
                return match
            parts.pop()
    return None


def choose(
    *,
    supported: Collection[str],
    default: str,
    ui_locales: str | None = None,
    stored: str | None = None,
    accept_language: str | None = None,
) -> str:
    """The locale for one request, by the order in this module's docstring."""
    return (
        lookup(ui_locales_tags(ui_locales), supported)
        or (stored if stored in supported else None)
        or lookup(accept_language_tags(accept_language), supported)
        or default
    )


@lru_cache(maxsize=64)
def describe(tag: str) -> tuple[str, str]:
    """``(name in its own language, text direction "ltr" | "rtl")`` of a supported tag."""
    try:
        locale = Locale.parse(tag, sep="-")
    except (ValueError, UnknownLocaleError):
        return tag, "ltr"
    name = locale.get_display_name(locale) or tag
    return name[:1].upper() + name[1:], locale.text_direction

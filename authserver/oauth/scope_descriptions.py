"""What the consent page says each scope lets an app do.

The standard scopes have built-in, translated texts. Operators describe their own scopes
(and may re-word the standard ones) with a title and a description per language, in
plain text (``authserver scopes describe``, ``PUT /admin/scopes/{scope}``). Shown in the
visitor's language, else its base language, else the server's default, else English,
else any."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from authserver.clock import Clock, to_datetime
from authserver.errors import InvalidInput, NotFound
from authserver.i18n.message import N_, Text
from authserver.i18n.negotiation import LANGUAGE_TAG
from authserver.storage.db import UnitOfWork
from authserver.storage.models import ScopeDescription

MAX_TITLE = 120
MAX_DESCRIPTION = 600
MAX_LANGUAGES = 50
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,200}")  # RFC 6749 §3.3
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
BUILT_IN: dict[str, Text] = {
    "openid": N_("Know who you are (your account id)"),
    "profile": N_("See your name"),
    "email": N_("See your e-mail address"),
    "offline_access": N_("Stay signed in to it when you are away (refresh tokens)"),
    "admin": N_("Administer this sign-in service"),
    "logout_all": N_("Sign you out of every browser and app"),
}


@dataclass(frozen=True)
class ScopeView:
    name: str
    title: Text
    description: str | None = None


def _plain_text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field}: a non-empty string")
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(f"{field}: at most {limit} characters")
    if "<" in value or ">" in value:
        raise InvalidInput(f"{field}: plain text, no HTML")
    if any(unicodedata.category(ch) in ("Cc", "Cs") or ch in BIDI_CONTROLS for ch in value):
        raise InvalidInput(f"{field}: no control or text-direction characters")
    return value


def validate_texts(texts: object) -> dict[str, dict[str, str]]:
    """``{"en": {"title": …, "description": …}, …}`` checked and trimmed; the
    description is optional. Raises ``InvalidInput`` naming the bad field."""
    if not isinstance(texts, dict) or not texts or len(texts) > MAX_LANGUAGES:
        raise InvalidInput(f"texts: an object of 1 to {MAX_LANGUAGES} languages")
    clean: dict[str, dict[str, str]] = {}
    for tag, entry in texts.items():
        if not isinstance(tag, str) or not LANGUAGE_TAG.fullmatch(tag):
            raise InvalidInput(f"texts: {tag!r} is not a language tag such as en or pt-BR")
        if not isinstance(entry, dict) or set(entry) - {"title", "description"}:
            raise InvalidInput(f"texts.{tag}: an object with title and, optionally, description")
        item = {"title": _plain_text(entry.get("title"), f"texts.{tag}.title", MAX_TITLE)}
        if entry.get("description") not in (None, ""):
            item["description"] = _plain_text(
                entry["description"], f"texts.{tag}.description", MAX_DESCRIPTION
            )
        clean[tag] = item
    return clean


def check_scope_name(scope: str) -> str:
    if not SCOPE_TOKEN.fullmatch(scope):
        raise InvalidInput("scope: a scope token (RFC 6749 §3.3)")
    return scope


def describe_scope(
    uow: UnitOfWork, clock: Clock, scope: str, texts: dict[str, Any], *, replace: bool = True
) -> ScopeDescription:
    """Store the texts of ``scope`` (all languages, or with ``replace=False`` merged over
    the languages it already has)."""
    check_scope_name(scope)
    clean = validate_texts(texts)
    current = uow.scope_descriptions.get(scope)
    if current is not None and not replace:
        clean = {**current.texts, **clean}
    return uow.scope_descriptions.put(scope, clean, to_datetime(clock.now()))


def remove_scope_description(uow: UnitOfWork, scope: str) -> None:
    if not uow.scope_descriptions.delete(scope):
        raise NotFound(f"no description for scope {scope}")


def _pick(texts: dict[str, Any], locale: str, default_locale: str) -> dict[str, str] | None:
    by_key = {tag.lower(): entry for tag, entry in texts.items()}
    for tag in (locale, locale.split("-")[0], default_locale, "en"):
        if tag.lower() in by_key:
            return dict(by_key[tag.lower()])
    return dict(next(iter(texts.values()))) if texts else None


def scope_views(
    uow: UnitOfWork, scopes: list[str], locale: str, default_locale: str
) -> list[ScopeView]:
    """One entry per scope, in the order asked."""
    written = uow.scope_descriptions.texts_for(scopes)
    views = []
    for scope in scopes:
        entry = _pick(written.get(scope, {}), locale, default_locale)
        if entry is not None:
            views.append(ScopeView(scope, entry["title"], entry.get("description")))
        else:
            views.append(
                ScopeView(scope, BUILT_IN.get(scope, N_("Access: %(scope)s", scope=scope)))
            )
    return views

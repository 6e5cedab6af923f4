"""Translatable text produced outside templates (error messages, labels in Python code).

``N_("Use at least %(count)s characters.", count=8)`` marks the text for extraction
(``pybabel extract -k N_``) and keeps its parameters; it reads as English (``str()``,
JSON answers, logs) and is translated when a page or e-mail is rendered. Nothing here
imports the rest of the package, so every layer (errors, accounts, pages) may use it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Translations(Protocol):
    def gettext(self, message: str) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int) -> str: ...


class Msg:
    """One message id (and, for plurals, its plural form and count) plus parameters."""

    __slots__ = ("msgid", "n", "params", "plural")

    def __init__(
        self,
        msgid: str,
        plural: str | None = None,
        n: int | None = None,
        params: dict[str, object] | None = None,
    ) -> None:
        self.msgid = msgid
        self.plural = plural
        self.n = n
        self.params = params or {}

    def translate(self, translations: Translations) -> str:
        if self.plural is not None and self.n is not None:
            text = translations.ngettext(self.msgid, self.plural, self.n)
        else:
            text = translations.gettext(self.msgid)
        return text % self.params if self.params else text

    def __str__(self) -> str:
        if self.plural is not None and self.n is not None and self.n != 1:
            text = self.plural
        else:
            text = self.msgid
        return text % self.params if self.params else text

    def __repr__(self) -> str:
        return f"Msg({self.msgid!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Msg) and (self.msgid, self.plural, self.n, self.params) == (
            other.msgid,
            other.plural,
            other.n,
            other.params,
        )

    def __hash__(self) -> int:
        return hash((self.msgid, self.plural, self.n))


class Sentences:
    """Several messages shown as one text, translated one by one."""

    __slots__ = ("parts",)

    def __init__(self, parts: Iterable[Msg]) -> None:
        self.parts = tuple(parts)

    def translate(self, translations: Translations) -> str:
        return " ".join(part.translate(translations) for part in self.parts)

    def __str__(self) -> str:
        return " ".join(str(part) for part in self.parts)


Text = Msg | Sentences | str


def N_(msgid: str, **params: object) -> Msg:
    """Mark ``msgid`` for translation; ``%(name)s`` placeholders take ``params``."""
    return Msg(msgid, params=params)


def N_plural(singular: str, plural: str, n: int, **params: object) -> Msg:
    """A message with a plural form chosen by ``n`` (also available as ``%(n)s``)."""
    return Msg(singular, plural, n, {"n": n, **params})


def translate(text: Text, translations: Translations) -> str:
    return text if isinstance(text, str) else text.translate(translations)

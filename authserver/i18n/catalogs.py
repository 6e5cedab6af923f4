"""Translation catalogs: ``<folder>/<locale>/LC_MESSAGES/messages.po``, compiled in memory
the first time a locale is used (no ``.mo`` files to build, commit or ship).

The shipped catalogs are in ``authserver/locale``; an operator's folder
(``AUTHSERVER_TEMPLATES_DIR/locale``) may add languages or change single messages: its
translations win over the shipped ones, message by message."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

# The language the message ids are written in: it needs no catalog.
SOURCE_LOCALE = "en"
DOMAIN = "messages"


def catalog_path(folder: Path, locale: str) -> Path:
    """Where the catalog of a BCP 47 tag (``pt-BR``) lives: gettext's ``pt_BR`` folder."""
    return folder / locale.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


def available_locales(folders: Sequence[Path]) -> set[str]:
    """The source language plus every locale some folder has a catalog for."""
    found = {SOURCE_LOCALE}
    for folder in folders:
        if folder.is_dir():
            found |= {
                p.parent.parent.name.replace("_", "-")
                for p in folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
            }
    return found


def compile_po(path: Path, locale: str) -> Translations:
    """A catalog read from ``path``; fuzzy entries are left out, as ``msgfmt`` does."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale.replace("-", "_"), domain=DOMAIN)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


class Catalogs:
    """Translations per locale for one app instance (thread-safe, loaded once each)."""

    def __init__(self, folders: Sequence[Path]) -> None:
        # Lowest priority first: later folders override earlier ones.
        self._folders = tuple(folders)
        self._loaded: dict[str, NullTranslations] = {}
        self._lock = threading.Lock()

    @property
    def locales(self) -> set[str]:
        return available_locales(self._folders)

    def translations(self, locale: str) -> NullTranslations:
        loaded = self._loaded.get(locale)
        if loaded is not None:
            return loaded
        with self._lock:
            if locale not in self._loaded:
                self._loaded[locale] = self._load(locale)
            return self._loaded[locale]

    def _load(self, locale: str) -> NullTranslations:
        merged: NullTranslations | None = None
        for folder in self._folders:
            path = catalog_path(folder, locale)
            if not path.is_file():
                continue
            compiled = compile_po(path, locale)
            if merged is None:
                merged = compiled
            else:
                assert isinstance(merged, Translations)
                merged.merge(compiled)
        return merged if merged is not None else NullTranslations()

"""Locale negotiation, message markers and the shipped catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from authserver import resources
from authserver.i18n.catalogs import Catalogs, available_locales, catalog_path
from authserver.i18n.message import N_, N_plural, Sentences
from authserver.i18n.negotiation import accept_language_tags, choose, lookup, ui_locales_tags

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ("de", "fr")
SUPPORTED = ("en", "de", "fr")


def test_ui_locales_first_supported_tag_wins_with_rfc4647_lookup():
    assert choose(supported=SUPPORTED, default="en", ui_locales="es de-CH-1996 fr") == "de"
    assert lookup(["FR-ca"], SUPPORTED) == "fr"
    assert lookup(["zh-Hant-TW", "pt"], SUPPORTED) is None


def test_order_ui_locales_then_stored_then_accept_language_then_default():
    header = "fr-CH, fr;q=0.9, de;q=0.8"
    assert choose(supported=SUPPORTED, default="en", ui_locales="de", accept_language=header) == (
        "de"
    )
    assert choose(supported=SUPPORTED, default="en", stored="de", accept_language=header) == "de"
    assert choose(supported=SUPPORTED, default="en", accept_language=header) == "fr"
    assert choose(supported=SUPPORTED, default="de", accept_language="es, *;q=0.1") == "de"
    # A stored value that is not supported (a tampered cookie) counts for nothing.
    assert choose(supported=SUPPORTED, default="en", stored="<script>") == "en"


def test_garbage_and_enormous_values_are_ignored():
    assert ui_locales_tags("de" + " " * 300 + "fr") == []  # longer than any real list
    assert ui_locales_tags("<script> ../../etc de_DE de") == ["de"]
    assert ui_locales_tags("x" * 9 + " fr") == ["fr"]
    assert ui_locales_tags(" ".join(["es"] * 50) + " de") == ["es"] * 10  # ten at most
    assert accept_language_tags("de;q=0, fr;q=abc, en") == ["en"]
    assert accept_language_tags("de," * 2000) == []
    assert choose(supported=SUPPORTED, default="en", ui_locales="\x00\ud800") == "en"


def test_accept_language_q_zero_means_not_acceptable():
    assert accept_language_tags("de;q=0, fr;q=0.5, en;q=0.7") == ["en", "fr"]


def test_messages_read_as_english_and_translate_with_parameters():
    de = Catalogs([resources.LOCALE]).translations("de")
    msg = N_("Use at least %(count)s characters.", count=8)
    assert str(msg) == "Use at least 8 characters."
    assert msg.translate(de) == "Verwenden Sie mindestens 8 Zeichen."
    wait = N_plural(
        "Too many attempts. Please wait about %(n)s minute and try again.",
        "Too many attempts. Please wait about %(n)s minutes and try again.",
        3,
    )
    assert str(wait).endswith("about 3 minutes and try again.")
    assert "etwa 3 Minuten" in wait.translate(de)
    both = Sentences([N_("Enter your e-mail address."), msg])
    assert str(both) == "Enter your e-mail address. Use at least 8 characters."


def _extracted() -> set[str]:
    method_map = [
        ("**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    options = {"templates/**.html": {"trimmed": "true"}, "templates/**.txt": {"trimmed": "true"}}
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(ROOT / "authserver"),
        method_map,
        options,
        keywords={"N_": None, "N_plural": (1, 2), "_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("lang", SHIPPED)
def test_shipped_catalogs_translate_every_message_of_the_code_and_templates(lang):
    """Complete: nothing extracted from the sources is missing, empty or fuzzy, and every
    translation keeps the placeholders of its message (Babel's python-format checks)."""
    with catalog_path(resources.LOCALE, lang).open("rb") as po:
        catalog: Catalog = read_po(po, locale=lang)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings) and not message.fuzzy:
            translated[key] = message
    missing = sorted(_extracted() - set(translated))
    assert missing == [], f"untranslated in {lang}: run tools/translations update"
    problems = [(m.id, errors) for m, errors in catalog.check() if errors]
    assert problems == []


def test_the_template_catalog_is_current():
    with (resources.LOCALE / "messages.pot").open("rb") as pot:
        template = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(pot) if m.id}
    assert template == _extracted(), "run tools/translations update"


def test_operator_catalogs_add_languages_and_win_message_by_message(tmp_path):
    ours = tmp_path / "locale"
    po = catalog_path(ours, "de")
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Sign in"\nmsgstr "Einloggen"\n', "utf-8")
    (tmp_path / "locale" / "pt_BR" / "LC_MESSAGES").mkdir(parents=True)
    catalog_path(ours, "pt-BR").write_text('msgid "Sign in"\nmsgstr "Entrar"\n', "utf-8")
    catalogs = Catalogs([resources.LOCALE, ours])
    de = catalogs.translations("de")
    assert de.gettext("Sign in") == "Einloggen"
    assert de.gettext("Sign out") == "Abmelden"  # the shipped catalog still answers
    assert catalogs.translations("pt-BR").gettext("Sign in") == "Entrar"
    assert available_locales([resources.LOCALE, ours]) == {"en", "de", "fr", "pt-BR"}

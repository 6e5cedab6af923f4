"""The pages and e-mails in the visitor's language: ui_locales (OIDC Core §3.1.2.1), then
the remembered choice, then Accept-Language, then the default; lang/dir; discovery."""

from __future__ import annotations

import re

import pytest

from authserver.errors import UnsafeSettings
from authserver.i18n.catalogs import catalog_path
from tests.accounts_helpers import browser, outbox, submit, text_of
from tests.oidc import REDIRECT, Flow, hidden_fields


# Language choice is the same on both backends: the embedded one is enough.
@pytest.fixture
def backend(embedded_backend):
    return embedded_backend


@pytest.fixture
def web_app(factory):
    return factory.client(
        grant_types=["authorization_code"],
        scope="openid email profile",
        redirect_uris=[REDIRECT],
    )


def _lang(html: str) -> tuple[str, str]:
    match = re.search(r'<html lang="([^"]+)" dir="([^"]+)">', html)
    assert match, html[:200]
    return match.group(1), match.group(2)


def test_ui_locales_carries_through_login_to_consent(client, factory, web_app):
    user = factory.user()
    flow = Flow(client, web_app)
    start = flow.start(ui_locales="es de")
    login_page = client.get(start.headers["location"])
    assert _lang(login_page.text) == ("de", "ltr")
    assert login_page.headers["content-language"] == "de"
    assert "<h1>Anmelden</h1>" in login_page.text and "Passwort vergessen?" in login_page.text
    consent = flow.login(user, start)
    assert _lang(consent.text) == ("de", "ltr")
    assert "Ihre E-Mail-Adresse sehen" in consent.text and ">Erlauben<" in consent.text
    fields = {**hidden_fields(consent.text), "decision": "approve"}
    assert client.post("/consent", data=fields, follow_redirects=False).status_code == 302


def test_the_choice_is_remembered_and_ui_locales_beats_it(client):
    assert "Passwort vergessen?" in client.get("/login?ui_locales=de").text
    # The next page, with no ui_locales and an English browser: still German.
    page = client.get("/register", headers={"accept-language": "en"})
    assert _lang(page.text)[0] == "de" and "Konto erstellen" in page.text
    assert _lang(client.get("/login?ui_locales=fr").text)[0] == "fr"
    assert _lang(client.get("/password/forgot").text)[0] == "fr"


def test_accept_language_then_default(make_settings):
    with browser(make_settings(default_locale="fr")) as http:
        page = http.get("/login", headers={"accept-language": "de-CH, de;q=0.9, en;q=0.5"})
        assert _lang(page.text)[0] == "de"
        assert _lang(http.get("/login", headers={"accept-language": "es"}).text)[0] == "fr"
        assert _lang(http.get("/login").text)[0] == "fr"


@pytest.mark.parametrize(
    "value",
    ["x" * 5000, "<script>alert(1)</script>", "../../../etc/passwd", "de\u0000", "\ud7ff" * 40],
)
def test_garbage_ui_locales_is_ignored_safely(client, value):
    page = client.get("/login", params={"ui_locales": value}, headers={"accept-language": "fr"})
    # A control character in any URL is refused where the URL is read (web.url_guard).
    status = 400 if "\u0000" in value else 200
    assert page.status_code == status and _lang(page.text) == ("fr", "ltr")
    assert "<script>alert" not in page.text
    assert "locale" not in page.cookies


def test_a_forged_locale_cookie_is_ignored(client):
    client.cookies.set("locale", "<b>x</b>")
    page = client.get("/login")
    assert page.status_code == 200 and _lang(page.text)[0] == "en"


def test_language_links_keep_the_page_and_its_query(client):
    page = client.get("/login?next=/account")
    assert 'href="/login?next=%2Faccount&amp;ui_locales=fr"' in page.text
    assert 'hreflang="de"' in page.text and 'aria-current="true">English' in page.text


def test_error_pages_and_form_errors_are_translated(client):
    page = client.get("/password/no-such-page", headers={"accept-language": "fr"})
    assert page.status_code == 404 and "Il n\u2019y a pas de page à cette adresse." in page.text
    r = submit(
        client,
        "/register?ui_locales=de",
        "/register",
        email="a@example.com",
        password="short",
        password_confirm="short",
    )
    assert r.status_code == 400 and "Verwenden Sie mindestens 8 Zeichen." in r.text


def test_the_reset_mail_speaks_the_language_of_the_page(make_settings, factory):
    settings = make_settings()
    user = factory.user(email="mila@example.com")
    with browser(settings) as http:
        http.get("/password/forgot?ui_locales=fr")
        assert submit(http, "/password/forgot", email=user.email).status_code == 200
    (message,) = outbox(settings)
    assert message["Subject"] == "Réinitialiser votre mot de passe"
    assert message["Content-Language"] == "fr"
    assert "Pour choisir un nouveau mot de passe" in text_of(message)
    assert '<html lang="fr">' in message.get_body(("html",)).get_content()


def test_discovery_advertises_the_languages(make_settings):
    with browser(make_settings(locales="fr en", default_locale="en")) as http:
        metadata = http.get("/.well-known/openid-configuration").json()
        assert metadata["ui_locales_supported"] == ["fr", "en"]
        # A language not enabled is not offered, even when the browser asks for it.
        assert _lang(http.get("/login?ui_locales=de").text)[0] == "en"


def test_an_operator_language_right_to_left(make_settings, tmp_path):
    folder = tmp_path / "brand"
    po = catalog_path(folder / "locale", "ar")
    po.parent.mkdir(parents=True)
    po.write_text('msgid ""\nmsgstr ""\n\nmsgid "Sign in"\nmsgstr "تسجيل الدخول"\n', "utf-8")
    settings = make_settings(templates_dir=folder, locales="en ar")
    with browser(settings) as http:
        page = http.get("/login?ui_locales=ar")
        assert _lang(page.text) == ("ar", "rtl") and "<h1>تسجيل الدخول</h1>" in page.text


def test_languages_without_a_catalog_are_refused_at_start(make_settings):
    with pytest.raises(UnsafeSettings, match="AUTHSERVER_LOCALES: no catalog for es"):
        make_settings(locales="en es")
    with pytest.raises(UnsafeSettings, match="AUTHSERVER_DEFAULT_LOCALE"):
        make_settings(default_locale="de", locales="en fr")

"""Branding without forking: settings for name, logo, favicon, colour and links; an
operator folder whose templates, e-mails and static files override ours one by one."""

from __future__ import annotations

import pytest

from authserver.branding import contrast
from authserver.errors import UnsafeSettings
from tests.accounts_helpers import browser, outbox, submit


@pytest.fixture
def backend(embedded_backend):
    return embedded_backend


BRAND = {
    "brand_name": "Acme <ID>",
    "brand_logo_url": "/static/acme-logo.svg",
    "brand_favicon_url": "https://cdn.acme.example/favicon.ico",
    "brand_primary_color": "#FFD500",
    "brand_support_url": "mailto:help@acme.example",
    "brand_privacy_url": "https://acme.example/privacy",
    "brand_terms_url": "https://acme.example/terms",
}


def test_brand_settings_reach_every_page(make_settings):
    with browser(make_settings(**BRAND)) as http:
        page = http.get("/login").text
        assert "<title>Sign in \u2013 Acme &lt;ID&gt;</title>" in page
        assert '<img class="brand-logo" src="/static/acme-logo.svg" alt="Acme &lt;ID&gt;">' in page
        assert '<link rel="icon" href="https://cdn.acme.example/favicon.ico">' in page
        for href in ("mailto:help@acme.example", "https://acme.example/privacy"):
            assert f'href="{href}"' in page
        assert "Acme &lt;ID&gt;" in http.get("/password/forgot").text
        css = http.get("/brand.css")
        assert css.headers["content-type"].startswith("text/css")
        # A light yellow: black text on buttons, and links in the body colour (readable).
        assert "--primary: #ffd500; --on-primary: #1f2328; --link: #1f2328;" in css.text


def test_text_on_the_primary_colour_is_readable():
    for color in ("#2f5bd3", "#ffd500", "#000000", "#ffffff", "#777777"):
        best = max(contrast(color, "#ffffff"), contrast(color, "#1f2328"))
        assert best >= 4.4, color


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("brand_logo_url", "javascript:alert(1)"),
        ("brand_logo_url", "http://cdn.example.com/logo.png"),
        ("brand_privacy_url", "data:text/html,<script>x</script>"),
        ("brand_terms_url", 'https://acme.example/"onmouseover="x'),
        ("brand_support_url", "mailto:nobody"),
        ("brand_favicon_url", "/static/../../etc/passwd"),
        ("brand_primary_color", "red; } body { display:none"),
        ("brand_name", "Acme\nInjected"),
    ],
)
def test_unsafe_brand_settings_are_refused_at_start(make_settings, field, value):
    with pytest.raises(UnsafeSettings, match=f"AUTHSERVER_{field.upper()}"):
        make_settings(**{field: value})


@pytest.fixture
def operator_folder(tmp_path):
    folder = tmp_path / "acme"
    (folder / "pages").mkdir(parents=True)
    (folder / "email").mkdir()
    (folder / "static").mkdir()
    # Only one block replaced: the rest of the shipped page stays, and keeps up with
    # upgrades.
    (folder / "pages" / "login.html").write_text(
        '{% extends "builtin/pages/login.html" %}\n{% block title %}Welcome back{% endblock %}\n',
        "utf-8",
    )
    (folder / "email" / "password_reset.subject.txt").write_text(
        "{{ brand.name }}: {{ _('Reset your password') }}\n", "utf-8"
    )
    (folder / "static" / "acme-logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return folder


def test_operator_templates_and_static_files_override_ours_one_by_one(
    make_settings, operator_folder, factory
):
    settings = make_settings(templates_dir=operator_folder, brand_name="Acme")
    user = factory.user(email="zoe@example.com")
    with browser(settings) as http:
        page = http.get("/login").text
        assert "<title>Welcome back \u2013 Acme</title>" in page and 'name="password"' in page
        assert "<title>Create an account \u2013 Acme</title>" in http.get("/register").text
        logo = http.get("/static/acme-logo.svg")
        assert logo.status_code == 200 and logo.text.startswith("<svg")
        assert "font-family" in http.get("/static/style.css").text  # ours, not overridden
        submit(http, "/password/forgot?ui_locales=de", "/password/forgot", email=user.email)
    (message,) = outbox(settings)
    assert message["Subject"] == "Acme: Passwort zurücksetzen"


def test_the_operator_folder_must_exist(make_settings, tmp_path):
    with pytest.raises(UnsafeSettings, match="AUTHSERVER_TEMPLATES_DIR"):
        make_settings(templates_dir=tmp_path / "missing")

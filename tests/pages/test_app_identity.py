"""The requesting app is visible on the login and consent pages (name, logo, privacy and
terms links from its validated metadata), and each scope is described in the visitor's
language by the operator."""

from __future__ import annotations

import pytest

from authserver.oauth import registration as dcr
from tests.helpers import password_grant
from tests.oidc import REDIRECT, Flow

LOGO = "https://photos.example.com/logo.png"
DISPLAY = {
    "client_uri": "https://photos.example.com/",
    "logo_uri": LOGO,
    "policy_uri": "https://photos.example.com/privacy",
    "tos_uri": "https://photos.example.com/terms",
}


@pytest.fixture
def photos(factory):
    return factory.client(
        name="Photo <App>",
        grant_types=["authorization_code"],
        scope="openid email photos:read",
        redirect_uris=[REDIRECT],
        extra_metadata=DISPLAY,
    )


@pytest.fixture
def admin_http(client, factory):
    app = factory.password_client(scope="openid admin")
    admin = factory.user(role="admin")
    token = password_grant(client, app, admin, scope="admin").json()["access_token"]
    client.headers["Authorization"] = f"Bearer {token}"
    yield client
    client.headers.pop("Authorization", None)


def test_login_and_consent_name_the_app_with_its_logo_and_links(client, factory, photos):
    user = factory.user()
    flow = Flow(client, photos, scope="openid email photos:read")
    start = flow.start()
    login = client.get(start.headers["location"]).text
    assert "to continue to <strong>Photo &lt;App&gt;</strong>" in login
    assert f'<img class="app-logo" src="{LOGO}" alt=""' in login
    consent = flow.login(user, start)
    assert 'href="https://photos.example.com/privacy" rel="noopener noreferrer">privacy policy' in (
        consent.text
    )
    assert 'href="https://photos.example.com/terms"' in consent.text
    assert '<a href="https://photos.example.com/" rel="noopener noreferrer">Photo &lt;App&gt;' in (
        consent.text
    )
    # Undescribed: the scope's name, as before.
    assert "Access: photos:read" in consent.text


def test_the_login_page_names_no_app_for_a_request_that_is_not_its_own(client, photos):
    for next_path in (
        f"/authorize?client_id={photos.client_id}&redirect_uri=https://evil.example/cb",
        "/authorize?client_id=nobody&redirect_uri=https://app.example.com/cb",
        f"/authorize?client_id={photos.client_id}&client_id=x",
        "https://evil.example/authorize?client_id=x",
    ):
        page = client.get("/login", params={"next": next_path})
        assert page.status_code == 200 and "to continue to" not in page.text
        assert 'class="app-logo"' not in page.text


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "http://photos.example.com/logo.png",
        "data:image/png;base64,AAAA",
        'https://photos.example.com/"onerror="alert(1)',
        "https://user:pw@photos.example.com/logo.png",
        "https://",
    ],
)
def test_unsafe_display_uris_are_refused_everywhere(client, initial_token, admin_http, uri):
    r = client.post(
        "/oauth/register",
        json={"client_name": "x", "redirect_uris": [REDIRECT], "logo_uri": uri},
        headers={"Authorization": f"Bearer {initial_token}"},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
    r = admin_http.post(
        "/admin/clients",
        json={"name": "x", "grant_types": ["client_credentials"], "scope": "a", "tos_uri": uri},
    )
    assert r.status_code == 400 and "tos_uri" in r.json()["error_description"]
    total = admin_http.get("/admin/clients").json()["total"]
    assert total == 1  # only the admin's own password client


@pytest.fixture
def initial_token(services):
    with services.db.unit_of_work() as uow:
        return dcr.issue_initial_token(uow, services.clock, "tests", 3600)


def test_admin_sets_and_clears_display_uris(admin_http):
    created = admin_http.post(
        "/admin/clients",
        json={"name": "Shop", "grant_types": ["client_credentials"], "scope": "a", **DISPLAY},
    ).json()
    assert created["logo_uri"] == LOGO and created["tos_uri"] == DISPLAY["tos_uri"]
    changed = admin_http.patch(f"/admin/clients/{created['client_id']}", json={"logo_uri": None})
    assert changed.status_code == 200 and changed.json()["logo_uri"] is None
    assert changed.json()["policy_uri"] == DISPLAY["policy_uri"]


def test_a_stored_unsafe_logo_is_never_shown(client, factory, services, photos):
    with services.db.unit_of_work() as uow:  # written behind the validation's back
        row = uow.clients.get(photos.client_id)
        row.extra_metadata = {**DISPLAY, "logo_uri": "javascript:alert(1)"}
    flow = Flow(client, photos, scope="openid email photos:read")
    consent = flow.login(factory.user(), flow.start())
    assert "javascript:" not in consent.text and 'class="app-logo"' not in consent.text


def test_operators_describe_scopes_per_language(client, factory, admin_http, photos):
    texts = {
        "en": {"title": "See your photos", "description": "Albums and pictures, not edit them."},
        "de": {"title": "Ihre Fotos sehen", "description": "Alben und Bilder, ohne Änderungen."},
    }
    r = admin_http.put("/admin/scopes/photos:read", json={"texts": texts})
    assert r.status_code == 200, r.text
    # Operators may re-word a standard scope too.
    admin_http.put("/admin/scopes/email", json={"texts": {"en": {"title": "Your e-mail"}}})
    listed = admin_http.get("/admin/scopes").json()
    assert [i["scope"] for i in listed["items"]] == ["email", "photos:read"]
    user = factory.user()
    del client.headers["Authorization"]
    flow = Flow(client, photos, scope="openid email photos:read")
    consent = flow.login(user, flow.start(ui_locales="de"))
    assert '<span class="scope-title">Ihre Fotos sehen</span>' in consent.text
    assert "Alben und Bilder, ohne Änderungen." in consent.text
    # No German text for email: the server's default language (English) is used.
    assert '<span class="scope-title">Your e-mail</span>' in consent.text
    flow = Flow(client, photos, scope="openid email photos:read")
    consent = flow.start(ui_locales="fr")
    assert '<span class="scope-title">See your photos</span>' in consent.text
    assert "Savoir qui vous êtes" in consent.text  # built-in, translated


@pytest.mark.parametrize(
    "texts",
    [
        {"en": {"title": "<b>photos</b>"}},
        {"en": {"title": "ok", "description": "<script>alert(1)</script>"}},
        {"en": {"title": "right\u202eto left"}},
        {"not a tag!": {"title": "x"}},
        {"en": {"title": ""}},
        {"en": {"title": "x" * 121}},
        {},
    ],
)
def test_scope_texts_with_html_or_garbage_are_refused(admin_http, texts):
    r = admin_http.put("/admin/scopes/photos:read", json={"texts": texts})
    assert r.status_code == 400, r.text
    assert admin_http.get("/admin/scopes/photos:read").status_code == 404


def test_cli_describes_scopes(monkeypatch, capsys, settings):
    from authserver.cli import main

    for key, value in {
        "AUTHSERVER_DATABASE_URL": settings.database_url,
        "AUTHSERVER_KEYS_DIR": str(settings.keys_dir),
        **({"AUTHSERVER_REDIS_URL": settings.redis_url} if settings.redis_url else {}),
    }.items():
        monkeypatch.setenv(key, value)
    assert main(["scopes", "describe", "photos:read", "--title", "See your photos"]) == 0
    french = ["--locale", "fr", "--title", "Vos photos"]
    assert main(["scopes", "describe", "photos:read", *french]) == 0
    assert main(["scopes", "describe", "photos:read", "--title", "<i>x</i>"]) == 2
    assert main(["scopes", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"title": "Vos photos"' in out and '"title": "See your photos"' in out
    assert "<i>" not in out


def test_consent_phishing_a_copied_name_is_marked_and_the_host_shown(
    client, factory, services, photos, initial_token
):
    """A self-registered app may copy a trusted app's name: the consent page marks it
    unverified and says which host the answer goes to; bidi controls, which make a name
    read as another, are refused at registration and stripped from names stored before."""
    bearer = {"Authorization": f"Bearer {initial_token}"}
    evil_cb = "https://xn--pple-43d.example/cb"  # a look-alike of apple.example
    meta = {"redirect_uris": [evil_cb], "scope": "openid email", "client_name": "Photo <App>"}
    for name in ("Photo\u202e<ppA>", "Photo\u2066 <App>", "Photo\u200f<App>"):
        r = client.post("/oauth/register", json={**meta, "client_name": name}, headers=bearer)
        assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"
        assert "bidirectional" in r.json()["error_description"]
    copy = client.post("/oauth/register", json=meta, headers=bearer).json()
    user = factory.user()
    flow = Flow(client, type(photos)(copy["client_id"], copy["client_secret"], [evil_cb]))
    page = flow.login(user, flow.start(redirect_uri=evil_cb))
    assert "Photo &lt;App&gt;" in page.text and "Unverified app" in page.text
    assert "you go back to <strong>xn--pple-43d.example</strong>" in page.text
    # The operator's own (third-party) registration: the host, no "unverified" mark.
    honest = Flow(client, photos, scope="openid email photos:read")
    page = honest.start()  # signed in already
    assert "Unverified app" not in page.text
    assert "you go back to <strong>app.example.com</strong>" in page.text
    with services.db.unit_of_work() as uow:  # a name stored before the rule
        uow.clients.get(photos.client_id).name = "Photo\u202e<ppA>"
    services.clients.invalidate()
    page = honest.start()
    assert "\u202e" not in page.text and "Photo&lt;ppA&gt;" in page.text


def test_first_party_consent_shows_no_host_and_names_are_checked_everywhere(
    client, factory, admin_http
):
    first = factory.client(
        name="Home",
        grant_types=["authorization_code"],
        scope="openid",
        redirect_uris=[REDIRECT],
        first_party=True,
    )
    flow = Flow(client, first, scope="openid")
    page = flow.login(factory.user(), flow.start(prompt="consent"))
    assert "Allow" in page.text and "you go back to" not in page.text
    r = admin_http.post(
        "/admin/clients",
        json={"name": "Shop\u202e", "grant_types": ["client_credentials"], "scope": "a"},
    )
    assert r.status_code == 400 and "bidirectional" in r.text

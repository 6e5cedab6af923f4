"""The account page's password section for a user created by an upstream provider (no
local password): nothing when the provider does not allow local passwords (the
default), "set a password" (a reset link to their address) when it does; a user with a
password keeps "change password"."""

from __future__ import annotations

import pytest

from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from tests.accounts_helpers import login, outbox
from tests.federation.test_oidc_login import CALLBACKS, sign_in
from tests.federation.upstream import running_upstream
from tests.oidc import REDIRECT, hidden_fields

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def upstream(tmp_path_factory, key_template):
    with running_upstream(tmp_path_factory.mktemp("upstream"), key_template, CALLBACKS) as up:
        yield up


@pytest.fixture
def settings(make_settings):
    return make_settings(federation_allow_private_networks=True)


@pytest.fixture
def app(factory):
    return factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email profile offline_access",
        redirect_uris=[REDIRECT],
    )


def add_provider(services, upstream, **policy) -> None:
    with services.db.unit_of_work() as uow:
        providers.create(
            uow,
            providers.registry(services),
            "up",
            "oidc",
            ProviderConfig(
                display_name="Corp SSO",
                settings={
                    "issuer": upstream.url,
                    "client_id": upstream.client.client_id,
                    "scopes": ["openid", "email", "profile"],
                },
                policy={"jit": True, **policy},
            ),
            upstream.client.client_secret,
        )


def unlink_the_only_identity(client, html: str) -> str:
    """Press "Unlink" on the account page's one identity; the notice shown after."""
    form = html.split('action="/account/identities/unlink"', 1)[1]
    r = client.post("/account/identities/unlink", data=hidden_fields(form))
    assert r.status_code == 200 and "/account" in str(r.url)
    return r.text.split('class="notice"', 1)[1].split("</p>", 1)[0]


def password_section(html: str) -> str | None:
    if 'id="password"' not in html:
        return None
    return "change" if 'action="/account/password"' in html else "set"


def test_no_password_form_when_the_provider_does_not_allow_local_passwords(
    client, app, upstream, services
):
    add_provider(services, upstream)
    person = upstream.user(upstream.email("kim"), verified=True)
    tokens, _ = sign_in(client, app, upstream, person)
    assert tokens is not None
    page = client.get("/account")
    assert page.status_code == 200 and "Corp SSO" in page.text
    assert password_section(page.text) is None
    assert "Change password" not in page.text and "Set a password" not in page.text
    # Unlinking the only identity is refused, without advice to set a password.
    notice = unlink_the_only_identity(client, page.text)
    assert "so it stays linked." in notice and "Set a password" not in notice


def test_set_a_password_by_e_mail_when_the_provider_allows_it(
    client, app, upstream, services, settings
):
    add_provider(services, upstream, allow_local_password=True)
    email = upstream.email("lee")
    person = upstream.user(email, verified=True)
    tokens, _ = sign_in(client, app, upstream, person)
    assert tokens is not None
    page = client.get("/account")
    assert password_section(page.text) == "set" and 'id="current_password"' not in page.text
    assert "Set a password first." in unlink_the_only_identity(client, page.text)
    # Its button is the forgot-password request for this address: a link is e-mailed.
    fields = hidden_fields(page.text.split('id="password"', 1)[1])
    assert fields["email"] == email and fields["next"] == "/account"
    r = client.post("/password/forgot", data=fields)
    assert r.status_code == 200
    (message,) = outbox(settings)
    assert message["To"] == email


def test_a_user_with_a_password_keeps_change_password(client, factory):
    user = factory.user()
    assert login(client, user.email, user.password).status_code in (200, 303)
    assert password_section(client.get("/account").text) == "change"

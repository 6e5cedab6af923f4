"""What proves a change of e-mail address on the account page is the owner's
(``accounts.email_change.proof_of``): the current password for a user who has one, however
recent the sign-in; for a user created by an identity provider, who has no password, a
sign-in at most ``mfa_reauth_max_age`` old (the rule for removing a second factor), else a
"sign in again" through the provider first. A real second authserver is the upstream."""

from __future__ import annotations

import pytest

from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from tests.accounts_helpers import login, outbox, submit
from tests.federation.test_account_password import add_provider
from tests.federation.test_oidc_login import CALLBACKS
from tests.federation.upstream import running_upstream, start_federated, upstream_login

pytestmark = pytest.mark.slow

REAUTH = "/login?next=/account%23email&notice=reauth"


@pytest.fixture(scope="module")
def upstream(tmp_path_factory, key_template):
    with running_upstream(tmp_path_factory.mktemp("upstream"), key_template, CALLBACKS) as up:
        yield up


@pytest.fixture
def settings(make_settings):
    return make_settings(federation_allow_private_networks=True)


def sign_in_upstream(client, upstream, person, next_path: str = "/account") -> None:
    """Our login page -> "Continue with Corp SSO" -> the upstream's login -> back."""
    callback = upstream_login(upstream, start_federated(client, "up", next_path), person)
    back = client.get(callback, follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == next_path, back.text


def federated_user(client, upstream, services, name: str) -> tuple[object, str]:
    """A user created by the upstream (no password here), signed in; (person, user id)."""
    add_provider(services, upstream)
    person = upstream.user(upstream.email(name), verified=True)
    sign_in_upstream(client, upstream, person)
    with services.db.unit_of_work() as uow:
        user = uow.users.find_by_email(person.email)
        assert user is not None and user.password_hash is None
        return person, user.id


def age_the_sign_in(services, user_id: str, seconds: float) -> None:
    now = services.clock.now()
    with services.db.unit_of_work() as uow:
        (session,) = uow.login_sessions.list_active(user_id, to_datetime(now))
        session.auth_time = to_datetime(now - seconds)


def email_section(html: str) -> str:
    return html.split('<section id="email">', 1)[1].split("</section>", 1)[0]


def change_requests(services, user_id: str) -> list:
    with services.db.unit_of_work() as uow:
        return uow.audit.query(user_id=user_id, event=str(AuditEvent.EMAIL_CHANGE_REQUESTED))


def test_a_federated_user_changes_the_address_after_a_recent_sign_in(
    client, upstream, services, settings
):
    _, user_id = federated_user(client, upstream, services, "noor")
    section = email_section(client.get("/account").text)
    assert 'action="/account/email"' in section and "current_password" not in section
    r = submit(client, "/account", "/account/email", new_email="noor.new@example.com")
    assert r.status_code == 303 and r.headers["location"] == "/account?notice=email_change_sent"
    (message,) = outbox(settings)
    assert message["To"] == "noor.new@example.com"
    (event,) = change_requests(services, user_id)
    assert event.details["proof"] == "recent_sign_in"


def test_a_federated_user_with_an_old_sign_in_signs_in_again_first(
    client, upstream, services, settings
):
    person, user_id = federated_user(client, upstream, services, "ola")
    age_the_sign_in(services, user_id, settings.mfa_reauth_max_age + 60)
    section = email_section(client.get("/account").text)
    assert 'action="/account/email"' not in section
    assert f'href="{REAUTH.replace("&", "&amp;")}"' in section and "Sign in again" in section
    # A form posted anyway (an old page, a crafted request) changes nothing.
    r = submit(client, "/account", "/account/email", new_email="ola.new@example.com")
    assert r.status_code == 303 and r.headers["location"] == REAUTH
    assert outbox(settings) == [] and change_requests(services, user_id) == []
    assert "sign in again" in client.get(REAUTH).text
    # Signing in again through the provider comes back to the section, and the change goes.
    sign_in_upstream(client, upstream, person, "/account#email")
    r = submit(client, "/account", "/account/email", new_email="ola.new@example.com")
    assert r.headers["location"] == "/account?notice=email_change_sent"
    assert [m["To"] for m in outbox(settings)] == ["ola.new@example.com"]


def test_a_user_with_a_password_is_asked_for_it_however_recent_the_sign_in(
    client, factory, services, settings
):
    user = factory.user()
    assert login(client, user.email, user.password).status_code == 303
    assert 'name="current_password"' in email_section(client.get("/account").text)
    # Just signed in, yet no password (or a wrong one) changes nothing.
    for password in ({}, {"current_password": "not the password"}):
        r = submit(client, "/account", "/account/email", new_email="x@example.com", **password)
        assert r.status_code == 400 and "current password is not correct" in r.text
    assert outbox(settings) == [] and change_requests(services, user.id) == []
    # An old sign-in is not sent away: the password is the proof, as before.
    age_the_sign_in(services, user.id, settings.mfa_reauth_max_age + 60)
    r = submit(
        client,
        "/account",
        "/account/email",
        new_email="x@example.com",
        current_password=user.password,
    )
    assert r.headers["location"] == "/account?notice=email_change_sent"
    (event,) = change_requests(services, user.id)
    assert event.details["proof"] == "password"

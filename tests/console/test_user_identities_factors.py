"""A user's page in the console: linked identities (unlink after a confirmation, the
sessions that came through it end) and second factors (reset after a confirmation: every
factor and recovery code goes, the user's sessions end); both audited with the acting
admin and `via: console`, CSRF-checked, HTML shown back escaped."""

from __future__ import annotations

import pytest

from authserver.clock import to_datetime
from authserver.mfa import factors
from tests.console.helpers import (
    SCRIPT,
    another_browser,
    enrol_factors,
    link_identity,
    post,
    sign_in,
)


@pytest.fixture
def admin(client, factory, services):
    admin = factory.user(role="admin")
    sign_in(client, services, admin.id)
    return admin


def _live(services, user_id: str) -> int:
    with services.db.unit_of_work() as uow:
        return len(uow.login_sessions.list_active(user_id, to_datetime(services.clock.now())))


def _events(services, name: str) -> list:
    with services.db.unit_of_work() as uow:
        return list(uow.audit.query(event=name))


def test_identities_listed_escaped_and_unlinked_after_a_confirmation(
    client, admin, factory, services
):
    user = factory.user(email="ida@example.com")
    identity = link_identity(services, user.id, f"{SCRIPT}@corp.example")
    page = client.get(f"/console/users/{user.id}").text
    assert SCRIPT not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;@corp" in page
    confirm_href = f"/console/users/{user.id}/identities/unlink?id={identity}"
    assert confirm_href in page
    confirm = client.get(confirm_href)
    assert confirm.status_code == 200 and SCRIPT not in confirm.text
    assert "only way to sign in" not in confirm.text  # she has a password
    assert _live(services, user.id) == 1  # asking changed nothing

    action = f"/console/users/{user.id}/identities/unlink"
    for token in (None, "forged" + "0" * 58):
        data = {"identity_id": identity, **({"csrf_token": token} if token else {})}
        assert client.post(action, data=data).status_code == 403
    # Another user's identity, or none: not found, nothing unlinked.
    other = factory.user()
    theirs = link_identity(services, other.id, "other@corp.example")
    for wrong in (theirs, "nope", "x" * 5000):
        r = post(client, confirm_href, action, identity_id=wrong)
        assert r.status_code == 404, wrong
    with services.db.unit_of_work() as uow:
        assert len(uow.identities.of_user(user.id)) == 1
        assert len(uow.identities.of_user(other.id)) == 1

    r = post(client, confirm_href, action, identity_id=identity)
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=unlinked")
    assert "The identity was unlinked" in client.get(r.headers["location"]).text
    with services.db.unit_of_work() as uow:
        assert uow.identities.of_user(user.id) == []
    assert _live(services, user.id) == 0  # the session that came through it ended
    (event,) = _events(services, "federation.unlinked")
    assert event.user_id == user.id and event.details["actor"] == admin.id
    assert event.details["via"] == "console" and event.details["sessions_ended"] == 1
    assert client.get(confirm_href).status_code == 404  # gone


def test_the_last_way_to_sign_in_is_named_on_the_confirmation(client, admin, factory, services):
    user = factory.user()
    identity = link_identity(services, user.id, "fed@corp.example")
    with services.db.unit_of_work() as uow:
        uow.users.get(user.id).password_hash = None  # federated only
    href = f"/console/users/{user.id}/identities/unlink?id={identity}"
    assert "only way to sign in" in client.get(href).text
    # As through the admin API, an administrator may still unlink it (to cut it off).
    r = post(client, href, f"/console/users/{user.id}/identities/unlink", identity_id=identity)
    assert r.status_code == 303


def test_second_factors_shown_escaped_and_reset_after_a_confirmation(
    client, admin, factory, services
):
    user = factory.user()
    enrol_factors(services, user.id, f"Key {SCRIPT}")
    sign_in(another_browser(client), services, user.id)  # a session of the user's
    page = client.get(f"/console/users/{user.id}").text
    assert SCRIPT not in page and "Key &lt;script&gt;" in page
    assert "set up" in page and "Recovery codes left</dt>\n    <dd>10</dd>" in page
    href = f"/console/users/{user.id}/mfa/reset"
    assert href in page
    confirm = client.get(href)
    assert confirm.status_code == 200 and "Remove every second factor" in confirm.text
    assert "your own account" not in confirm.text
    assert client.post(href, data={"csrf_token": "forged" + "0" * 58}).status_code == 403
    with services.db.unit_of_work() as uow:
        assert len(factors.overview(uow, user.id).factors) == 2

    r = post(client, href, href)
    assert r.status_code == 303 and r.headers["location"].endswith("?notice=mfa_reset")
    with services.db.unit_of_work() as uow:
        left = factors.overview(uow, user.id)
        assert left.factors == [] and left.recovery_codes_left == 0
    assert _live(services, user.id) == 0
    (event,) = _events(services, "mfa.reset")
    assert event.user_id == user.id and event.details["actor"] == admin.id
    assert event.details["via"] == "console" and event.details["factors_removed"] == 2
    shown = client.get(r.headers["location"]).text
    assert "The second factors were removed" in shown and href not in shown
    nobody = post(client, f"/console/users/{user.id}", "/console/users/nobody/mfa/reset")
    assert nobody.status_code == 404


def test_resetting_ones_own_factors_warns_and_signs_one_out(client, admin, services):
    enrol_factors(services, admin.id, "Mine")
    href = f"/console/users/{admin.id}/mfa/reset"
    assert "your own account" in client.get(href).text
    r = post(client, href, href)
    assert r.status_code == 303 and _live(services, admin.id) == 0
    assert client.get("/console", follow_redirects=False).headers["location"].startswith("/login")

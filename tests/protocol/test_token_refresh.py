"""POST /token with grant_type=refresh_token (RFC 6749 §6): rotation on every use, reuse
revokes the whole family (RFC 9700 §4.14.2)."""

from __future__ import annotations

import threading
from datetime import timedelta

from starlette.testclient import TestClient

from authserver.app import create_app
from tests.helpers import claims, introspect, password_grant, refresh_grant


def _login(client, factory, **spec):
    app = factory.password_client(**spec)
    user = factory.user()
    body = password_grant(client, app, user).json()
    return app, user, body


def test_each_refresh_rotates_the_refresh_token(client, factory):
    app, user, first = _login(client, factory)
    r = refresh_grant(client, app, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert claims(second["access_token"])["sub"] == user.id
    # The new one works, once.
    assert refresh_grant(client, app, second["refresh_token"]).status_code == 200


def test_reuse_revokes_the_whole_family_and_is_audited(client, factory, services):
    app, user, first = _login(client, factory)
    rs = factory.resource_server(scope="api:read")
    second = refresh_grant(client, app, first["refresh_token"]).json()

    replay = refresh_grant(client, app, first["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # Everything the family issued is dead: the newest refresh token and access tokens.
    assert refresh_grant(client, app, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(client, rs, second["access_token"]) == {"active": False}
    assert introspect(client, rs, first["access_token"]) == {"active": False}
    with services.db.unit_of_work() as uow:
        events = uow.audit.query(event="token.refresh_reuse_detected")
        assert [(e.user_id, e.client_id) for e in events] == [(user.id, app.client_id)]


def test_other_logins_of_the_user_survive_a_replay(client, factory):
    app = factory.password_client()
    user = factory.user()
    a = password_grant(client, app, user).json()
    b = password_grant(client, app, user).json()
    refresh_grant(client, app, a["refresh_token"])
    refresh_grant(client, app, a["refresh_token"])  # replay: family a revoked
    assert refresh_grant(client, app, b["refresh_token"]).status_code == 200


def test_another_client_cannot_use_it_and_cannot_revoke_the_family(client, factory):
    app, _, first = _login(client, factory)
    other = factory.password_client()
    r = refresh_grant(client, other, first["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert refresh_grant(client, app, first["refresh_token"]).status_code == 200


def test_narrower_scope_for_the_access_token_keeps_the_family_scope(client, factory):
    app, _, first = _login(client, factory, scope="openid email api:read")
    narrow = refresh_grant(client, app, first["refresh_token"], scope="api:read").json()
    assert narrow["scope"] == "api:read"
    assert claims(narrow["access_token"])["scope"] == "api:read"
    full = refresh_grant(client, app, narrow["refresh_token"]).json()
    assert set(full["scope"].split()) == {"openid", "email", "api:read"}


def test_wider_scope_is_invalid_scope_and_does_not_consume_the_token(client, factory):
    app, _, first = _login(client, factory, scope="openid api:read api:write")
    narrow = refresh_grant(client, app, first["refresh_token"], scope="api:read").json()
    wider = refresh_grant(client, app, narrow["refresh_token"], scope="api:read api:admin")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    assert refresh_grant(client, app, narrow["refresh_token"]).status_code == 200


def test_public_client_refreshes_with_its_client_id(client, factory):
    app, _, first = _login(client, factory, public=True)
    assert refresh_grant(client, app, first["refresh_token"]).status_code == 200


def test_unknown_and_expired_tokens_are_invalid_grant(client, factory, services):
    app, _, first = _login(client, factory)
    assert refresh_grant(client, app, "not-a-token").json()["error"] == "invalid_grant"
    from authserver.hashing import secret_hash
    from authserver.storage.models import RefreshToken, TokenFamily

    with services.db.unit_of_work() as uow:
        rt = uow.session.get(RefreshToken, secret_hash(first["refresh_token"]))
        family = uow.session.get(TokenFamily, rt.family_id)
        family.expires_at = family.created_at - timedelta(seconds=1)
    assert refresh_grant(client, app, first["refresh_token"]).json()["error"] == "invalid_grant"


def test_family_lifetime_is_absolute(client, factory, services):
    app, _, first = _login(client, factory)
    second = refresh_grant(client, app, first["refresh_token"]).json()
    from authserver.hashing import secret_hash
    from authserver.storage.models import RefreshToken, TokenFamily

    with services.db.unit_of_work() as uow:
        old = uow.session.get(RefreshToken, secret_hash(first["refresh_token"]))
        new = uow.session.get(RefreshToken, secret_hash(second["refresh_token"]))
        assert old.family_id == new.family_id
        family = uow.session.get(TokenFamily, new.family_id)
        assert family.expires_at - family.created_at == timedelta(days=30)


def test_concurrent_refreshes_of_one_token_succeed_exactly_once(client, factory, settings):
    app, _, first = _login(client, factory)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        with TestClient(create_app(settings), base_url=settings.issuer) as other:
            barrier.wait()
            results.append(refresh_grant(other, app, first["refresh_token"]).status_code)

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 400, 400, 400, 400, 400]


def _set_user(services, user_id: str, **values) -> None:
    from authserver.storage.models import User

    with services.db.unit_of_work() as uow:
        row = uow.session.get(User, user_id)
        for name, value in values.items():
            setattr(row, name, value)


def test_refreshed_id_token_carries_the_users_claims(client, factory, services):
    app, user, first = _login(client, factory, scope="openid email profile api:read")
    _set_user(services, user.id, name="Ada Lovelace", email_verified=True)
    r = refresh_grant(client, app, first["refresh_token"])
    assert r.status_code == 200, r.text
    id_token = claims(r.json()["id_token"])
    assert id_token["sub"] == user.id
    assert id_token["name"] == "Ada Lovelace"
    assert id_token["email"] == user.email and id_token["email_verified"] is True
    assert isinstance(id_token["updated_at"], int)


def test_a_disabled_users_refresh_is_invalid_grant_and_consumes_nothing(client, factory, services):
    app, user, first = _login(client, factory)
    now = services.clock.now()
    from authserver.clock import to_datetime

    _set_user(services, user.id, disabled_at=to_datetime(now))
    r = refresh_grant(client, app, first["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    _set_user(services, user.id, disabled_at=None)
    # Neither used nor its family revoked: the refusal changed nothing.
    assert refresh_grant(client, app, first["refresh_token"]).status_code == 200

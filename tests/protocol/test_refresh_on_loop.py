"""Refresh rotation on the event loop (PostgreSQL, ``storage.pg_loop``): what it answers
itself and what it hands to a protocol thread, and the rotation's rules kept on both.

The other refresh tests run with the client cache off, so on PostgreSQL their requests
start on the loop and go to a thread at the client lookup; these cache the client, so
the loop answers a rotation from the claim to the commit."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.audit import AuditEvent
from authserver.clock import to_datetime, to_timestamp
from authserver.hashing import secret_hash
from authserver.storage import pg_loop
from authserver.storage.models import AccessTokenRecord, RefreshToken, User
from authserver.storage.models import AuditEvent as AuditRow
from tests.helpers import claims, introspect, password_grant, refresh_grant


@pytest.fixture
def backend(production_backend: Any) -> Any:
    return production_backend


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The statements sent on the loop's connections."""
    sent: list[str] = []
    original = pg_loop._run

    def counted(conn, sql, params, fetch):  # type: ignore[no-untyped-def]
        sent.append(sql)
        return original(conn, sql, params, fetch)

    monkeypatch.setattr(pg_loop, "_run", counted)
    return sent


@pytest.fixture
def http(make_settings) -> Iterator[TestClient]:
    settings = make_settings(client_cache_ttl=60)
    with TestClient(create_app(settings), base_url=settings.issuer) as test_client:
        yield test_client


def _login(http: TestClient, factory, scope: str = "openid email api:read") -> tuple[Any, Any, str]:
    app = factory.password_client(scope=scope)
    user = factory.user()
    first = password_grant(http, app, user).json()["refresh_token"]
    refresh_grant(http, app, first)  # caches the client (the grant below reads it fresh)
    return app, user, password_grant(http, app, user).json()["refresh_token"]


def _set_user(services, user_id: str, **values: Any) -> None:
    with services.db.unit_of_work() as uow:
        row = uow.session.get(User, user_id)
        for name, value in values.items():
            setattr(row, name, value)


def test_a_rotation_is_answered_on_the_event_loop(http, factory, threads):
    app, user, token = _login(http, factory)
    threads.clear()
    r = refresh_grant(http, app, token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert threads == []
    assert claims(body["access_token"])["sub"] == user.id
    assert claims(body["id_token"])["email"] == user.email
    # Committed: the old token is used, the new one works (on the loop as well).
    assert refresh_grant(http, app, body["refresh_token"]).status_code == 200
    assert threads == []


def test_a_replay_goes_to_a_thread_and_revokes_the_family(http, factory, services, threads):
    app, user, token = _login(http, factory)
    rs = factory.resource_server(scope="api:read")
    rotated = refresh_grant(http, app, token).json()
    assert introspect(http, rs, rotated["access_token"])["active"] is True
    threads.clear()
    replay = refresh_grant(http, app, token)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert threads == ["refresh_token"]  # the claim changed nothing; the thread revoked
    # What the loop's rotation stored is the family's: revoked with it.
    assert refresh_grant(http, app, rotated["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(http, rs, rotated["access_token"]) == {"active": False}
    with services.db.unit_of_work() as uow:
        events = [e.event for e in uow.session.query(AuditRow).filter_by(user_id=user.id)]
    assert AuditEvent.REFRESH_REUSE.value in events


def test_a_wider_scope_is_refused_on_the_loop_and_consumes_nothing(
    http, factory, threads, statements
):
    app, _, token = _login(http, factory, scope="api:read")
    threads.clear()
    statements.clear()
    r = refresh_grant(http, app, token, scope="api:read api:write")
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    assert threads == []
    # A scope asked for: claimed in a transaction, released under its claim's lock.
    assert [s.split(None, 1)[0] for s in statements] == ["BEGIN", "UPDATE", "UPDATE"]
    assert refresh_grant(http, app, token).status_code == 200


def test_a_disabled_users_refresh_consumes_nothing(http, factory, services):
    app, user, token = _login(http, factory)
    _set_user(services, user.id, disabled_at=to_datetime(services.clock.now()))
    r = refresh_grant(http, app, token)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    _set_user(services, user.id, disabled_at=None)
    assert refresh_grant(http, app, token).status_code == 200


def test_another_clients_token_changes_nothing(http, factory):
    app, _, token = _login(http, factory)
    other, _, _ = _login(http, factory)
    assert refresh_grant(http, other, token).json()["error"] == "invalid_grant"
    assert refresh_grant(http, app, token).status_code == 200


def test_concurrent_uses_on_one_event_loop_succeed_exactly_once(http, factory, threads):
    """Six requests with one token at once, all on the one app's event loop (the test
    client's portal serves every thread's request there)."""
    app, _, token = _login(http, factory)
    results: list[int] = []
    barrier = threading.Barrier(6)

    def attempt() -> None:
        barrier.wait()
        results.append(refresh_grant(http, app, token).status_code)

    workers = [threading.Thread(target=attempt) for _ in range(6)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert sorted(results) == [200, 400, 400, 400, 400, 400]


def test_off_every_refresh_runs_in_a_thread(make_settings, factory, threads):
    settings = make_settings(client_cache_ttl=60, refresh_on_event_loop=False)
    with TestClient(create_app(settings), base_url=settings.issuer) as off:
        app, _, token = _login(off, factory)
        threads.clear()
        assert refresh_grant(off, app, token).status_code == 200
    assert threads == ["refresh_token"]


def _rows(services) -> tuple[int, int]:
    with services.db.unit_of_work() as uow:
        refresh = uow.session.query(RefreshToken).count()
        access = uow.session.query(AccessTokenRecord).count()
    return refresh, access


def test_one_statement_per_rotation_and_what_it_stores(http, factory, services, statements):
    app, user, token = _login(http, factory)
    before = _rows(services)
    statements.clear()
    body = refresh_grant(http, app, token).json()
    # The claim, the access-token record and the successor: one statement, no BEGIN.
    assert [s.split(None, 1)[0] for s in statements] == ["WITH"]
    assert _rows(services) == (before[0] + 1, before[1] + 1)
    with services.db.unit_of_work() as uow:
        record = uow.session.get(AccessTokenRecord, claims(body["access_token"])["jti"])
        successor = uow.session.get(RefreshToken, secret_hash(body["refresh_token"]))
    assert record is not None and record.user_id == user.id
    assert successor is not None and successor.used_at is None
    assert successor.family_id == record.family_id
    # Its record outlives the token (purged late, never early), by at most a minute.
    exp = claims(body["access_token"])["exp"]
    assert 0 <= to_timestamp(record.expires_at) - exp <= 61


def test_a_rotation_refused_after_its_statement_is_undone(http, factory, services, statements):
    """No scope asked for, so one statement rotates; the user's role no longer allows the
    family's scope: invalid_scope, and the rotation is undone (the token usable again,
    nothing it stored left)."""
    app = factory.password_client(scope="openid admin")
    user = factory.user(roles=["admin"])
    refresh_grant(http, app, password_grant(http, app, user).json()["refresh_token"])
    token = password_grant(http, app, user, scope="openid admin").json()["refresh_token"]
    _set_user(services, user.id, roles=["user"])
    before = _rows(services)
    statements.clear()
    r = refresh_grant(http, app, token)
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    assert [s.split(None, 1)[0] for s in statements] == ["WITH", "WITH"]  # rotate, undo
    assert _rows(services) == before
    _set_user(services, user.id, roles=["admin"])
    assert refresh_grant(http, app, token).status_code == 200


def test_a_rotation_whose_request_fails_later_is_undone(http, factory, services, monkeypatch):
    app, _, token = _login(http, factory)
    before = _rows(services)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("signing failed")

    generator = http.app_state["oauth"].generator  # (Authlib keeps the bound method)
    monkeypatch.setattr(generator, "access_token_generator", broken)
    with pytest.raises(RuntimeError):
        refresh_grant(http, app, token)
    monkeypatch.undo()
    assert _rows(services) == before
    assert refresh_grant(http, app, token).status_code == 200


def test_a_narrower_scope_is_claimed_in_a_transaction_and_committed(
    http, factory, threads, statements
):
    app, _, token = _login(http, factory)
    threads.clear()
    statements.clear()
    r = refresh_grant(http, app, token, scope="api:read")
    assert r.status_code == 200 and r.json()["scope"] == "api:read"
    assert threads == []
    assert [s.split(None, 1)[0] for s in statements] == ["BEGIN", "UPDATE", "WITH"]  # COMMIT
    # Committed: the successor works, and the presented token is used (a replay now).
    assert refresh_grant(http, app, r.json()["refresh_token"]).status_code == 200
    assert refresh_grant(http, app, token).json()["error"] == "invalid_grant"


def test_a_client_assertions_replay_revokes_the_family_with_redis(http, factory, services):
    """private_key_jwt records each assertion's `jti` (RFC 7523 §3 item 7), in Redis here:
    outside the unit of work, so a request that went from the loop to a thread after its
    client was authenticated would meet its own assertion as a replay (invalid_client) --
    and a refresh token's replay (RFC 9700 §4.14.2) would revoke nothing. Such requests
    run in a thread from the start."""
    import time
    import uuid

    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    assert services.settings.redis_url  # the deny list is Redis's
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}
    app = factory.password_client(auth_method="private_key_jwt", jwks={"keys": [jwk]})
    user = factory.user()

    def token(**data: str) -> Any:
        now = int(time.time())
        claims_ = {"iss": app.client_id, "sub": app.client_id, "iat": now, "exp": now + 60}
        claims_ |= {"aud": f"{services.settings.issuer}/token", "jti": uuid.uuid4().hex}
        signed = pyjwt.encode(claims_, key, algorithm="RS256", headers={"kid": "k1"})
        return http.post(
            "/token",
            data={
                **data,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": signed,
            },
        )

    first = token(grant_type="password", username=user.email, password=user.password)
    assert first.status_code == 200, first.text
    old = first.json()["refresh_token"]
    rotated = token(grant_type="refresh_token", refresh_token=old)
    assert rotated.status_code == 200, rotated.text
    replay = token(grant_type="refresh_token", refresh_token=old)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
    unknown = token(grant_type="refresh_token", refresh_token="no-such-token")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    # The replay revoked the family: the winner's successor is refused too.
    winner = token(grant_type="refresh_token", refresh_token=rotated.json()["refresh_token"])
    assert winner.status_code == 400 and winner.json()["error"] == "invalid_grant", winner.text

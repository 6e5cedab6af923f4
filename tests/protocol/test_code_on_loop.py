"""The code exchange on the event loop (PostgreSQL, ``storage.pg_loop_codes``): what it
answers itself and what it hands to a protocol thread, against the thread path.

Both apps here cache their clients (so a request is not sent to a thread by the client
lookup); one exchanges codes on the loop, the other (``CODE_EXCHANGE_ON_EVENT_LOOP``
off) in a thread. Each case mints twin codes, one per app, and both must answer alike:
status, error, description, fields, token claims, and what a follow-up refresh gets."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.audit import AuditEvent
from authserver.clock import to_datetime
from authserver.hashing import new_secret, secret_hash
from authserver.oauth.oidc import IdTokenForCode
from authserver.storage import pg_loop
from authserver.storage.models import (
    AccessTokenRecord,
    AuthorizationCode,
    ExternalIdentity,
    IdentityProvider,
    LoginSession,
    TokenFamily,
    User,
)
from authserver.storage.models import AuditEvent as AuditRow
from tests.helpers import claims, introspect, refresh_grant
from tests.oidc import REDIRECT as FLOW_REDIRECT
from tests.oidc import Flow
from tests.protocol.test_token_differential import CHALLENGE, REDIRECT, VERIFIER, outcome

SCOPE = "openid email profile offline_access api:read"


@pytest.fixture
def backend(production_backend: Any) -> Any:
    return production_backend


@pytest.fixture
def statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The first word of each statement sent on the loop's connections."""
    sent: list[str] = []
    original = pg_loop._run

    def counted(conn, sql, params, fetch):  # type: ignore[no-untyped-def]
        sent.append(sql.split(None, 1)[0])
        return original(conn, sql, params, fetch)

    monkeypatch.setattr(pg_loop, "_run", counted)
    return sent


@pytest.fixture
def pair(make_settings) -> Iterator[tuple[TestClient, TestClient]]:
    """(on the loop, in a thread), over one database."""
    on, off = (
        make_settings(client_cache_ttl=60, code_exchange_on_event_loop=flag)
        for flag in (True, False)
    )
    with (
        TestClient(create_app(on), base_url=on.issuer) as loop,
        TestClient(create_app(off), base_url=off.issuer) as thread,
    ):
        yield loop, thread


@pytest.fixture
def world(factory, services) -> dict[str, Any]:
    spec = {
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": SCOPE,
        "redirect_uris": [REDIRECT, FLOW_REDIRECT],
    }
    user = factory.user()
    with services.db.unit_of_work() as uow:  # every claim an ID token can carry
        row = uow.users.get(user.id)
        row.name, row.email_verified = "Ada Lovelace", True
    return {"app": factory.client(**spec), "other": factory.client(**spec), "user": user}


def login_session(services, user_id: str, identity_id: str | None = None) -> str:
    now = to_datetime(services.clock.now())
    session_id = str(uuid.uuid4())
    with services.db.unit_of_work() as uow:
        uow.session.add(
            LoginSession(
                id=session_id,
                secret_hash=secret_hash(new_secret(16)),
                user_id=user_id,
                auth_time=now,
                auth_methods={"pwd": int(now.timestamp())},
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=1),
                identity_id=identity_id,
            )
        )
    return session_id


def mint(services, client_id: str, user_id: str, session_id: str | None, ttl: int = 60) -> str:
    code = new_secret(32)
    now = to_datetime(services.clock.now())
    with services.db.unit_of_work() as uow:
        uow.codes.add(
            AuthorizationCode(
                code_hash=secret_hash(code),
                client_id=client_id,
                user_id=user_id,
                login_session_id=session_id,
                redirect_uri=REDIRECT,
                scope=SCOPE,
                nonce="n-" + new_secret(8),
                code_challenge=CHALLENGE.decode(),
                code_challenge_method="S256",
                auth_time=now.replace(microsecond=0),
                amr=["pwd", "otp"],
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
            )
        )
    return code


def set_user(services, user_id: str, **values: Any) -> None:
    with services.db.unit_of_work() as uow:
        row = uow.session.get(User, user_id)
        for name, value in values.items():
            setattr(row, name, value)


def code_form(code: str, **changes: str | None) -> dict[str, str]:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    form |= {"code_verifier": VERIFIER, **changes}
    return {k: v for k, v in form.items() if v is not None}


def exchange(http: TestClient, auth: tuple[str, str], code: str, **changes: str | None) -> Any:
    return http.post("/token", data=code_form(code, **changes), auth=auth)


# A code no one holds: its request caches the client (read in a thread) and is refused.
WARM = "warm-the-client-cache"


# case: (changes to the request, its error, the requests that ran in a thread)
CASES = {
    "fresh": ({}, None, []),
    "wrong_verifier": ({"code_verifier": "w" * 50}, "invalid_grant", []),
    "no_verifier": ({"code_verifier": None}, "invalid_request", []),
    "wrong_redirect_uri": ({"redirect_uri": REDIRECT + "/other"}, "invalid_grant", []),
    "no_redirect_uri": ({"redirect_uri": None}, "invalid_grant", []),
    "other_clients_code": ({}, "invalid_grant", []),
    "expired": ({}, "invalid_grant", []),
    "disabled_user": ({}, "invalid_grant", []),
    # The read finds the code used: the family's revocation and its audit need a thread.
    "replayed": ({}, "invalid_grant", ["authorization_code"]),
}


@pytest.mark.parametrize("case", CASES)
def test_the_loop_answers_as_the_thread_does(pair, world, services, threads, statements, case):
    changes, error, expected_threads = CASES[case]
    app, user = world["app"], world["user"]
    answers, ran = [], []
    session_id = login_session(services, user.id)  # the twins' (their ID tokens' `sid`)
    for http in pair:
        owner = world["other"] if case == "other_clients_code" else app
        code = mint(services, owner.client_id, user.id, session_id, -1 if case == "expired" else 60)
        exchange(http, app.basic_auth, WARM)
        if case == "replayed":
            assert exchange(http, app.basic_auth, code).status_code == 200
        if case == "disabled_user":
            set_user(services, user.id, disabled_at=to_datetime(services.clock.now()))
        threads.clear()
        statements.clear()
        r = exchange(http, app.basic_auth, code, **changes)
        set_user(services, user.id, disabled_at=None)
        ran.append((list(threads), list(statements)))
        answer = outcome(r)
        if "refresh_token" in r.json():
            follow = refresh_grant(http, app, r.json()["refresh_token"])
            answer["follow-up"] = follow.status_code
            # The family keeps the code's `amr`: the refreshed ID token carries it.
            id_token = follow.json().get("id_token")
            answer["follow-up amr"] = claims(id_token).get("amr") if id_token else None
        answers.append(answer)
    loop, thread = answers
    assert loop == thread
    assert (loop["status"], loop["error"]) == (200 if error is None else 400, error)
    if case == "fresh":
        assert loop["id_token"]["sid"] and loop["id_token"]["acr"] and loop["follow-up"] == 200
        assert loop["id_token"]["amr"] == ["pwd", "otp"] and loop["id_token"]["name"]
        assert loop["follow-up amr"] == ["pwd", "otp"]
    (loop_threads, loop_sent), (thread_threads, thread_sent) = ran
    assert loop_threads == expected_threads  # answered on the loop unless a thread was needed
    assert thread_threads == ["authorization_code"] and thread_sent == []
    if case == "fresh":  # the read, then the claim with what it stored: two round trips
        assert loop_sent == ["SELECT", "WITH"]


def test_a_real_login_is_exchanged_on_the_loop(pair, world, threads, statements):
    loop, _ = pair
    app = world["app"]
    flow = Flow(loop, app, scope="openid email offline_access")
    code = flow.authorize(world["user"])["code"]
    exchange(loop, app.basic_auth, WARM)
    threads.clear()
    statements.clear()
    r = flow.exchange(code)
    assert r.status_code == 200, r.text
    assert threads == [] and statements == ["SELECT", "WITH"]
    assert refresh_grant(loop, app, r.json()["refresh_token"]).status_code == 200


def test_a_replay_after_a_loop_exchange_revokes_its_family(pair, world, services, factory, threads):
    loop, _ = pair
    app, user = world["app"], world["user"]
    code = mint(services, app.client_id, user.id, login_session(services, user.id))
    exchange(loop, app.basic_auth, WARM)
    threads.clear()
    first = exchange(loop, app.basic_auth, code).json()
    assert threads == []
    rs = factory.resource_server(scope="api:read")
    assert introspect(loop, rs, first["access_token"])["active"] is True
    threads.clear()
    replay = exchange(loop, app.basic_auth, code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert threads == ["authorization_code"]
    # RFC 6749 §4.1.2: what the first use issued is revoked, and the event audited.
    assert refresh_grant(loop, app, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert introspect(loop, rs, first["access_token"]) == {"active": False}
    with services.db.unit_of_work() as uow:
        events = [e.event for e in uow.session.query(AuditRow).filter_by(user_id=user.id)]
    assert AuditEvent.CODE_REUSE.value in events


def test_concurrent_exchanges_on_one_loop_succeed_once(pair, world, services, threads, statements):
    """Two exchanges of one code at once on the app's event loop (the test client serves
    every thread's request there). The code's row is locked meanwhile, so both read it
    unused, sign, and wait at their claims; released, the claim lets one through, and the
    other, finding the code used, goes to a thread, which revokes what the winner got."""
    loop, _ = pair
    app, user = world["app"], world["user"]
    code = mint(services, app.client_id, user.id, login_session(services, user.id))
    exchange(loop, app.basic_auth, WARM)
    threads.clear()
    statements.clear()
    results: list[Any] = []
    engine = services.db.engine
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    )
    with engine.connect() as holder:
        lock = text("SELECT 1 FROM authorization_codes WHERE code_hash = :h FOR UPDATE")
        holder.execute(lock, {"h": secret_hash(code)})
        workers = [
            threading.Thread(target=lambda: results.append(exchange(loop, app.basic_auth, code)))
            for _ in range(2)
        ]
        for t in workers:
            t.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with engine.connect() as watcher:
                if watcher.execute(waiting).scalar() == 2:
                    break
            time.sleep(0.02)
        holder.commit()  # both claims are waiting for the row: let them go
        for t in workers:
            t.join()
    assert sorted(r.status_code for r in results) == [200, 400]
    loser = next(r for r in results if r.status_code == 400)
    assert loser.json()["error"] == "invalid_grant"
    assert statements.count("WITH") == 2  # both claimed
    assert threads == ["authorization_code"]  # the loser's replay handling
    winner = next(r for r in results if r.status_code == 200).json()
    assert refresh_grant(loop, app, winner["refresh_token"]).json()["error"] == "invalid_grant"


def _rows(services) -> tuple[int, int]:
    with services.db.unit_of_work() as uow:
        return uow.session.query(TokenFamily).count(), uow.session.query(AccessTokenRecord).count()


def test_an_exchange_whose_request_fails_after_its_claim_is_undone(
    pair, world, services, monkeypatch
):
    loop, _ = pair
    app, user = world["app"], world["user"]
    code = mint(services, app.client_id, user.id, login_session(services, user.id))
    exchange(loop, app.basic_auth, WARM)
    before = _rows(services)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("ID token signing failed")  # after the claim committed

    monkeypatch.setattr(IdTokenForCode, "encode_id_token", broken)
    with pytest.raises(RuntimeError):
        exchange(loop, app.basic_auth, code)
    monkeypatch.undo()
    assert _rows(services) == before  # nothing it stored is left
    assert exchange(loop, app.basic_auth, code).status_code == 200  # the code is usable


def test_a_federated_logins_family_is_capped_on_the_loop(pair, world, services, threads):
    loop, _ = pair
    app, user = world["app"], world["user"]
    now = to_datetime(services.clock.now())
    with services.db.unit_of_work() as uow:
        uow.session.add(
            IdentityProvider(
                id="corp",
                kind="oidc",
                display_name="Corp",
                domains=[],
                settings={},
                policy={"max_session_seconds": 900},
                mapping={},
                created_at=now,
                updated_at=now,
            )
        )
        uow.session.flush()
        identity = ExternalIdentity(
            id=str(uuid.uuid4()),
            provider_id="corp",
            subject="u-1",
            user_id=user.id,
            claims={},
            created_at=now,
            last_login_at=now,
        )
        uow.session.add(identity)
    code = mint(services, app.client_id, user.id, login_session(services, user.id, identity.id))
    exchange(loop, app.basic_auth, WARM)
    threads.clear()
    r = exchange(loop, app.basic_auth, code)
    assert r.status_code == 200 and threads == []
    with services.db.unit_of_work() as uow:
        record = uow.session.get(AccessTokenRecord, _jti(r.json()["access_token"]))
        family = uow.session.get(TokenFamily, record.family_id)
    assert (family.expires_at - family.created_at).total_seconds() == 900


def _provider_identity(services, user_id: str, provider_id: str, cap: int | None) -> str:
    """A provider (its `max_session_seconds`: ``cap``) and an identity of the user's there."""
    now = to_datetime(services.clock.now())
    policy = {} if cap is None else {"max_session_seconds": cap}
    with services.db.unit_of_work() as uow:
        uow.session.add(
            IdentityProvider(
                id=provider_id,
                kind="oidc",
                display_name=provider_id,
                domains=[],
                settings={},
                policy=policy,
                mapping={},
                created_at=now,
                updated_at=now,
            )
        )
        uow.session.flush()
        identity_id = str(uuid.uuid4())
        uow.session.add(
            ExternalIdentity(
                id=identity_id,
                provider_id=provider_id,
                subject=f"{provider_id}-sub",
                user_id=user_id,
                claims={},
                created_at=now,
                last_login_at=now,
            )
        )
    return identity_id


def test_the_cap_is_the_login_sessions_providers(pair, world, services):
    """The cap comes from the identity the login session came through, not from any
    identity the user has: a local login of a user with linked identities is not
    capped, and a federated one gets its own provider's cap, on either path."""
    app, user = world["app"], world["user"]
    capped = _provider_identity(services, user.id, "corp", 900)
    uncapped = _provider_identity(services, user.id, "social", None)
    ttl = services.settings.refresh_token_ttl
    for session_identity, lifetime in ((None, ttl), (uncapped, ttl), (capped, 900)):
        for http in pair:
            session_id = login_session(services, user.id, session_identity)
            code = mint(services, app.client_id, user.id, session_id)
            r = exchange(http, app.basic_auth, code)
            assert r.status_code == 200, r.text
            with services.db.unit_of_work() as uow:
                record = uow.session.get(AccessTokenRecord, _jti(r.json()["access_token"]))
                family = uow.session.get(TokenFamily, record.family_id)
            assert (family.expires_at - family.created_at).total_seconds() == lifetime


def _jti(token: str) -> str:
    return str(claims(token)["jti"])


def test_a_client_assertions_code_replay_revokes_the_family(pair, factory, services):
    """private_key_jwt (its `jti` recorded once, in Redis): never on the loop, or the
    thread's rerun of a replay would meet its own assertion (invalid_client) and revoke
    nothing (RFC 6749 §4.1.2)."""
    import jwt as pyjwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    loop, _ = pair
    assert services.settings.redis_url
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**pyjwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "k1"}
    app = factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope=SCOPE,
        redirect_uris=[REDIRECT],
        auth_method="private_key_jwt",
        jwks={"keys": [jwk]},
    )
    user = factory.user()
    code = mint(services, app.client_id, user.id, login_session(services, user.id))

    def assertion() -> dict[str, str]:
        now = int(time.time())
        body = {"iss": app.client_id, "sub": app.client_id, "iat": now, "exp": now + 60}
        body |= {"aud": f"{services.settings.issuer}/token", "jti": uuid.uuid4().hex}
        signed = pyjwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})
        kind = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        return {"client_assertion_type": kind, "client_assertion": signed}

    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    form["code_verifier"] = VERIFIER
    first = loop.post("/token", data={**form, **assertion()})
    assert first.status_code == 200, first.text
    replay = loop.post("/token", data={**form, **assertion()})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant", replay.text
    refreshed = loop.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            **assertion(),
        },
    )
    assert refreshed.json()["error"] == "invalid_grant", refreshed.text


def test_a_replay_between_a_claim_and_its_undo_keeps_the_code_spent(pair, world, services):
    """A loop exchange fails after its claim committed; before its undo, the code is
    presented again (the thread path: refused, the claim's family revoked and audited).
    The undo must not erase that: the code stays used and the family revoked, so the
    code is never exchanged after its replay was detected (RFC 6749 §4.1.2)."""
    loop, thread = pair
    app, user = world["app"], world["user"]
    code = mint(services, app.client_id, user.id, login_session(services, user.id))
    exchange(loop, app.basic_auth, WARM)
    exchange(thread, app.basic_auth, WARM)
    replays: list[Any] = []
    original = IdTokenForCode.encode_id_token

    def replay_then_fail(self, token, request):  # type: ignore[no-untyped-def]
        if replays:
            return original(self, token, request)
        replays.append(exchange(thread, app.basic_auth, code))  # the claim has committed
        raise RuntimeError("ID token signing failed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(IdTokenForCode, "encode_id_token", replay_then_fail)
        with pytest.raises(RuntimeError):
            exchange(loop, app.basic_auth, code)
    assert [r.status_code for r in replays] == [400]
    with services.db.unit_of_work() as uow:
        row = uow.session.get(AuthorizationCode, secret_hash(code))
        assert row.used_at is not None and row.family_id is not None
        family = uow.session.get(TokenFamily, row.family_id)
        assert family is not None and family.revoked_reason == "code_reuse"
        events = [e.event for e in uow.session.query(AuditRow).filter_by(user_id=user.id)]
    assert AuditEvent.CODE_REUSE.value in events
    for http in pair:  # never exchanged again, on either path
        again = exchange(http, app.basic_auth, code)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"

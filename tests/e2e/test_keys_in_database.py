"""Keys in PostgreSQL: two real server processes with a scheduled rotation due at the same
moment make exactly one new key, and tokens of either verify on both before, during
(published, not yet signing) and after the handover; a restart with the wrong
key-encryption key refuses to start, naming the setting."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
import time

import httpx2 as httpx
import jwt as pyjwt
import pytest
import sqlalchemy as sa

from authserver.keys.lifecycle import KeySchedule
from authserver.services import build_services, close_services
from authserver.settings import build_settings
from authserver.storage.models import SigningKey
from tests.factories import Factory
from tests.servers import ROOT, free_port, running_server

pytestmark = pytest.mark.slow

ISSUER = "http://localhost:8000"
INTERVAL = 3600
AHEAD = 4
# Seconds from making the rotation due (after both servers answered) until both must
# publish the new key.
DUE_WITHIN = 30


def kek() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


def wait_for(check, what: str, timeout: float = 30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def db_key_env(prod_env):
    return {
        **prod_env,
        "AUTHSERVER_ISSUER": ISSUER,
        "AUTHSERVER_KEY_STORE": "database",
        "AUTHSERVER_ENCRYPTION_KEYS": kek(),
        "AUTHSERVER_KEY_ROTATION_INTERVAL": str(INTERVAL),
        "AUTHSERVER_KEY_PUBLISH_AHEAD": str(AHEAD),
        "AUTHSERVER_JWKS_MAX_AGE": "0",
    }


@pytest.fixture
def seeded(db_key_env):
    """Services on the same database, with one key whose rotation is an interval away (the
    test makes it due once both servers are up: a slow start must not race the schedule)."""
    settings = build_settings(
        **{k.removeprefix("AUTHSERVER_").lower(): v for k, v in db_key_env.items()}
    )
    svc = build_services(settings)
    made = time.time()
    with svc.key_store.exclusive() as keys:
        first = keys.create(lambda kid: KeySchedule(kid, made, made), 2048)
    yield svc, first
    close_services(svc)


def token(http: httpx.Client, app, user) -> str:
    r = http.post(
        "/token",
        auth=app.basic_auth,
        data={"grant_type": "password", "username": user.email, "password": user.password},
    )
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def verifies(tok: str, http: httpx.Client) -> bool:
    jwks = pyjwt.PyJWKSet.from_dict(http.get("/.well-known/jwks.json").json())
    kid = pyjwt.get_unverified_header(tok)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims = pyjwt.decode(tok, key.key, algorithms=["RS256"], audience=ISSUER, issuer=ISSUER)
    return bool(claims["sub"])


def kid_of(tok: str) -> str:
    return pyjwt.get_unverified_header(tok)["kid"]


def test_two_processes_rotate_once_and_tokens_verify_throughout(db_key_env, seeded, tmp_path):
    svc, first = seeded
    factory = Factory(svc)
    app = factory.password_client()
    user = factory.user()
    with (
        running_server(db_key_env, tmp_path) as a,
        running_server(db_key_env, tmp_path) as b,
        a.client() as ca,
        b.client() as cb,
    ):
        before = [token(ca, app, user), token(cb, app, user)]
        assert {kid_of(t) for t in before} == {first.kid}
        assert all(verifies(t, c) for t in before for c in (ca, cb))

        # Due at the same moment on both: the key's age set past the interval in the
        # database both read; exactly one new key, published by both.
        with svc.db.engine.begin() as conn:
            conn.execute(
                sa.update(SigningKey.__table__)
                .where(SigningKey.__table__.c.kid == first.kid)
                .values(created_at=time.time() - INTERVAL - 1)
            )

        def published_by_both() -> set[str] | None:
            kids = [
                {k["kid"] for k in c.get("/.well-known/jwks.json").json()["keys"]} for c in (ca, cb)
            ]
            return kids[0] if kids[0] == kids[1] and len(kids[0]) == 2 else None

        kids = wait_for(published_by_both, "the new key on both JWKS", DUE_WITHIN)
        (new_kid,) = kids - {first.kid}
        assert {s.kid for s in svc.key_store.schedules()} == {first.kid, new_kid}
        with svc.db.unit_of_work() as uow:
            events = uow.audit.query(event="key.rotated")
        assert [e.details for e in events] == [{"kid": new_kid, "via": "schedule"}]

        # During: published, not signing yet (unless the handover came already).
        during = [token(ca, app, user), token(cb, app, user)]
        assert all(verifies(t, c) for t in before + during for c in (ca, cb))

        # After: both sign with the new key; everything issued so far still verifies.
        def signed_with_new() -> list[str] | None:
            after = [token(ca, app, user), token(cb, app, user)]
            return after if {kid_of(t) for t in after} == {new_kid} else None

        after = wait_for(signed_with_new, "both servers signing with the new key", AHEAD + 10)
        assert all(verifies(t, c) for t in before + during + after for c in (ca, cb))
    assert len(svc.key_store.schedules()) == 2
    assert "scheduled key rotation" in (a.log.read_text() + b.log.read_text())


def test_a_restart_with_the_wrong_key_encryption_key_refuses_to_start(db_key_env, seeded, tmp_path):
    env = {
        **os.environ,
        **db_key_env,
        "AUTHSERVER_ENCRYPTION_KEYS": kek(),
        "PYTHONPATH": str(ROOT),
    }
    env.pop("CI", None)
    r = subprocess.run(
        [sys.executable, "-m", "authserver", "serve", "--port", str(free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2, r.stderr
    assert "AUTHSERVER_ENCRYPTION_KEYS" in r.stderr and "cannot be decrypted" in r.stderr
    assert "Traceback" not in r.stderr
    # Nor may it have added a key of its own.
    svc, first = seeded
    assert [s.kid for s in svc.key_store.schedules()] == [first.kid]

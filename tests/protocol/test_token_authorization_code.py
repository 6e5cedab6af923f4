"""The code exchange at /token and the ID token (RFC 6749 §4.1.3, OIDC Core §3.1.3)."""

from __future__ import annotations

import base64
import hashlib
import threading
from dataclasses import replace
from datetime import timedelta

import jwt as pyjwt
import pytest
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.hashing import secret_hash
from authserver.storage.models import AuthorizationCode
from tests.helpers import claims, introspect, refresh_grant
from tests.oidc import REDIRECT, Flow


@pytest.fixture
def web_app(factory):
    return factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email offline_access api:read",
        redirect_uris=[REDIRECT],
    )


def _id_token(client, token: str) -> dict:
    jwks = pyjwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    kid = pyjwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    return pyjwt.decode(token, key.key, algorithms=["RS256"], options={"verify_aud": False})


def test_exchange_returns_tokens_and_a_complete_id_token(client, factory, web_app):
    user = factory.user()
    flow = Flow(client, web_app, scope="openid email offline_access")
    q = flow.authorize(user)
    r = flow.exchange(q["code"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == "openid email offline_access" and body["refresh_token"]
    idt = _id_token(client, body["id_token"])
    assert idt["iss"] == "http://localhost:8000"
    assert idt["aud"] == web_app.client_id and idt["azp"] == web_app.client_id
    assert idt["sub"] == user.id and idt["email"] == user.email
    assert idt["nonce"] == flow.params["nonce"]
    assert idt["sid"] and idt["auth_time"] <= idt["iat"] < idt["exp"]
    digest = hashlib.sha256(body["access_token"].encode()).digest()[:16]
    assert idt["at_hash"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert "name" not in idt  # profile was not asked for
    at = claims(body["access_token"])
    assert at["sub"] == user.id and at["auth_time"] == idt["auth_time"]


def test_no_refresh_token_without_offline_access(client, factory, web_app):
    flow = Flow(client, web_app, scope="openid email")
    body = flow.exchange(flow.authorize(factory.user())["code"]).json()
    assert "refresh_token" not in body and body["id_token"]


def test_refresh_keeps_auth_time_and_sid_in_the_new_id_token(client, factory, web_app):
    flow = Flow(client, web_app, scope="openid offline_access")
    first = flow.exchange(flow.authorize(factory.user())["code"]).json()
    again = refresh_grant(client, web_app, first["refresh_token"]).json()
    a, b = _id_token(client, first["id_token"]), _id_token(client, again["id_token"])
    assert (a["auth_time"], a["sid"], a["sub"]) == (b["auth_time"], b["sid"], b["sub"])


def test_a_code_works_once_and_a_replay_revokes_what_it_issued(client, factory, web_app, services):
    rs = factory.resource_server()
    flow = Flow(client, web_app, scope="openid offline_access")
    code = flow.authorize(factory.user())["code"]
    first = flow.exchange(code).json()
    replay = flow.exchange(code)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert introspect(client, rs, first["access_token"]) == {"active": False}
    assert refresh_grant(client, web_app, first["refresh_token"]).json()["error"] == "invalid_grant"
    with services.db.unit_of_work() as uow:
        assert uow.audit.query(event="token.code_reuse_detected")


def test_concurrent_exchanges_of_one_code_succeed_once_and_revoke_it(
    client, factory, web_app, settings
):
    """A thief racing the client with the same code: one exchange wins, the others are
    refused, and the winner's tokens are revoked all the same (RFC 6749 §4.1.2)."""
    rs = factory.resource_server()
    flow = Flow(client, web_app, scope="openid offline_access")
    code = flow.authorize(factory.user())["code"]
    barrier = threading.Barrier(6)
    answers: list = []

    def attempt() -> None:
        with TestClient(create_app(settings), base_url=settings.issuer) as other:
            barrier.wait()
            answers.append(replace(flow, http=other).exchange(code))

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 400, 400, 400, 400, 400]
    won = next(a.json() for a in answers if a.status_code == 200)
    assert introspect(client, rs, won["access_token"]) == {"active": False}
    assert refresh_grant(client, web_app, won["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("change", ["verifier", "redirect_uri", "client", "no_verifier"])
def test_exchange_is_bound_to_verifier_redirect_uri_and_client(client, factory, web_app, change):
    other = factory.client(
        grant_types=["authorization_code"], scope="openid", redirect_uris=[REDIRECT]
    )
    flow = Flow(client, web_app)
    code = flow.authorize(factory.user())["code"]
    if change == "verifier":
        r = flow.exchange(code, code_verifier="x" * 50)
    elif change == "redirect_uri":
        r = flow.exchange(code, redirect_uri="https://app.example.com/other")
    elif change == "no_verifier":
        r = flow.exchange(code, code_verifier="")
    else:
        r = client.post(
            "/token",
            auth=other.basic_auth,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": flow.verifier,
            },
        )
    assert r.status_code == 400 and r.json()["error"] in ("invalid_grant", "invalid_request")
    # Nothing was issued, and the right exchange still works.
    assert flow.exchange(code).status_code == 200


def test_an_expired_code_is_invalid_grant(client, factory, web_app, services):
    flow = Flow(client, web_app)
    code = flow.authorize(factory.user())["code"]
    with services.db.unit_of_work() as uow:
        record = uow.session.get(AuthorizationCode, secret_hash(code))
        assert record.expires_at - record.created_at <= timedelta(seconds=60)
        record.expires_at = record.created_at
    assert flow.exchange(code).json()["error"] == "invalid_grant"


def test_codes_are_stored_hashed(client, factory, web_app, services):
    code = Flow(client, web_app).authorize(factory.user())["code"]
    with services.db.unit_of_work() as uow:
        assert uow.session.get(AuthorizationCode, secret_hash(code)) is not None
        assert uow.session.get(AuthorizationCode, code) is None


def test_public_client_exchange_needs_the_verifier(client, factory):
    spa = factory.client(
        grant_types=["authorization_code"], scope="openid", public=True, redirect_uris=[REDIRECT]
    )
    flow = Flow(client, spa, scope="openid")
    code = flow.authorize(factory.user())["code"]
    assert flow.exchange(code, code_verifier="").status_code == 400
    assert flow.exchange(code).status_code == 200


def test_a_code_whose_scope_is_no_longer_allowed_is_refused(client, factory, services):
    """The client's registration changed between /authorize and the exchange (or the
    user's roles did: the same check): the code's scope is checked again, as a refresh
    token's is."""
    app = factory.client(
        grant_types=["authorization_code"], scope="openid api:read", redirect_uris=[REDIRECT]
    )
    flow = Flow(client, app, scope="openid api:read")
    code = flow.authorize(factory.user())["code"]
    with services.db.unit_of_work() as uow:
        uow.clients.get(app.client_id).scope = "openid"
    services.clients.invalidate(app.client_id)
    refused = flow.exchange(code)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # Refused before the claim: registered again, the same code is exchanged.
    with services.db.unit_of_work() as uow:
        uow.clients.get(app.client_id).scope = "openid api:read"
    services.clients.invalidate(app.client_id)
    assert flow.exchange(code).status_code == 200

"""The fast token path against Authlib's plain one, on random requests.

Fast: the application as served -- POST /token straight to its handler
(``web.token_path``), client_credentials of cached clients answered on the event loop,
one reused ``AuthServer`` per thread, the refresh claim as one UPDATE ... RETURNING and
the code read with its user in one query. Plain: the same handler behind Starlette's
router, no client cache (so every request runs in a protocol thread), a new
``AuthServer`` for every request, and the two grants as Authlib's documentation writes
them (read the token through the repositories and the ORM, check it in Python, mark it
used when saving the new one). Each random request is
sent to both, against twin data (the same kind of token in the same state, one for each),
and both must give the same status, error, error description, response fields and token
claims; a follow-up request with the family's newest refresh token must then fare the
same on both (a replay revokes the family, a refused request consumes nothing).
On PostgreSQL the fast side answers refresh rotations on the event loop
(``storage.pg_loop``); the plain side, in a thread.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from authlib.oauth2.rfc6749 import InvalidGrantError
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import update
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.clock import to_datetime, to_timestamp
from authserver.hashing import new_secret, secret_hash
from authserver.oauth.grants.authorization_code import AuthorizationCodeGrant, CodeView
from authserver.oauth.grants.issuance import record_issued
from authserver.oauth.grants.refresh_token import (
    MAX_REFRESH_TOKEN_CHARS,
    RefreshTokenGrant,
    revoke_for_reuse,
)
from authserver.oauth.requests import RequestMeta
from authserver.oauth.server import AuthServer, ServerFactory
from authserver.oauth.subject import Subject
from authserver.oauth.token_lookup import RefreshTokenView, find_refresh_token
from authserver.storage.db import UnitOfWork
from authserver.storage.models import AuthorizationCode, RefreshToken
from tests.factories import RegisteredClient
from tests.helpers import claims, password_grant, refresh_grant

REDIRECT = "https://app.example/cb"
VERIFIER = "v" * 50
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
# Claims that differ between any two tokens issued a moment apart.
VOLATILE_CLAIMS = {"jti", "iat", "exp", "nbf", "at_hash", "auth_time"}


class PlainRefreshTokenGrant(RefreshTokenGrant):
    """Read, check in Python, claim when saving (Authlib's documented shape)."""

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshTokenView | None:
        ctx = self.server.ctx
        if not refresh_token or len(refresh_token) > MAX_REFRESH_TOKEN_CHARS:
            return None
        view = find_refresh_token(ctx, refresh_token)
        if view is None or view.family.revoked_at is not None or view.is_expired():
            return None
        if view.token.used_at is not None:
            if view.check_client(self.request.client):
                revoke_for_reuse(ctx, view)
            return None
        if view.user.disabled_at is not None:
            # A disabled user's token is no token, before its scope is looked at (as the
            # claim has it: invalid_grant whatever the scope asked for).
            return None
        return view

    def authenticate_user(self, refresh_token: RefreshTokenView) -> Subject:
        family = refresh_token.family
        user = self.server.ctx.uow.users.get(family.user_id)
        if user is None or user.disabled_at is not None:
            raise InvalidGrantError()
        return Subject(
            user,
            auth_time=int(to_timestamp(family.auth_time)),
            login_session_id=family.login_session_id,
            amr=tuple(family.amr or ()),
        )

    def save_token(self, token: dict[str, Any]) -> None:
        ctx = self.server.ctx
        old: RefreshTokenView = self.request.refresh_token
        claimed = ctx.uow.session.execute(
            update(RefreshToken)
            .where(RefreshToken.token_hash == old.token.token_hash, RefreshToken.used_at.is_(None))
            .values(used_at=ctx.now_dt())
        )
        if claimed.rowcount != 1:
            revoke_for_reuse(ctx, old)
            raise InvalidGrantError()
        record_issued(ctx, token, self.request.client, self.request.user, old.family.id)


class PlainAuthorizationCodeGrant(AuthorizationCodeGrant):
    """The code and its user loaded through the ORM."""

    def query_authorization_code(self, code: str, client: Any) -> CodeView | None:
        ctx = self.server.ctx
        if not code or len(code) > 512:
            return None
        record = ctx.uow.codes.get(secret_hash(code))
        if record is None or record.client_id != client.client_id:
            return None
        if record.used_at is not None:
            self._revoke_first_use(record, record.family_id)
            return None
        if record.expires_at <= ctx.now_dt():
            return None
        user = ctx.uow.users.get(record.user_id)
        return None if user is None else CodeView(record, user)


PLAIN_GRANTS = {
    RefreshTokenGrant: PlainRefreshTokenGrant,
    AuthorizationCodeGrant: PlainAuthorizationCodeGrant,
}


class PlainServers(ServerFactory):
    """A new server for every request, with the plain grants."""

    @contextmanager
    def bound(self, uow: UnitOfWork, meta: RequestMeta) -> Iterator[AuthServer]:
        server = self(uow, meta)
        server._token_grants = [
            (PLAIN_GRANTS.get(grant, grant), extensions)
            for grant, extensions in server._token_grants
        ]
        yield server


@pytest.fixture
def apps(make_settings) -> Iterator[tuple[TestClient, TestClient]]:
    fast_settings = make_settings(client_cache_ttl=60)
    plain_settings = make_settings()  # no client cache: nothing on the event loop
    router = create_app(plain_settings).app.app  # JwksEndpoint -> TokenEndpoint -> the routed app
    with (
        TestClient(create_app(fast_settings), base_url=fast_settings.issuer) as fast,
        TestClient(router, base_url=plain_settings.issuer) as plain,
    ):
        plain.app_state["oauth"] = PlainServers(plain.app_state["services"])
        yield fast, plain


@pytest.fixture
def world(factory, services) -> dict[str, Any]:
    scope = "openid email profile offline_access api:read api:write"
    user = factory.user(roles=["admin"])
    with services.db.unit_of_work() as uow:  # every claim an ID token can carry
        row = uow.users.get(user.id)
        row.name, row.email_verified = "Ada Lovelace", True
    return {
        "svc": factory.client(scope="api:read api:write"),
        "app": factory.client(
            grant_types=["password", "refresh_token", "authorization_code"],
            scope=scope,
            redirect_uris=[REDIRECT],
        ),
        "other": factory.client(
            grant_types=["password", "refresh_token", "authorization_code"],
            scope=scope,
            redirect_uris=[REDIRECT],
        ),
        "user": user,
        # Disabled after each of its logins ("disabled" requests), enabled before.
        "loner": factory.user(),
    }


def mint_code(services, client: RegisteredClient, user_id: str, scope: str) -> str:
    code = new_secret(32)
    now = to_datetime(services.clock.now())
    with services.db.unit_of_work() as uow:
        uow.codes.add(
            AuthorizationCode(
                code_hash=secret_hash(code),
                client_id=client.client_id,
                user_id=user_id,
                redirect_uri=REDIRECT,
                scope=scope,
                nonce="n-" + new_secret(8),
                code_challenge=CHALLENGE.decode(),
                code_challenge_method="S256",
                auth_time=now.replace(microsecond=0),
                amr=["pwd"],
                created_at=now,
                expires_at=now + timedelta(seconds=60),
            )
        )
    return code


def revoke_family_of(services, refresh_token: str) -> None:
    with services.db.unit_of_work() as uow:
        row = uow.session.get(RefreshToken, secret_hash(refresh_token))
        uow.tokens.revoke_family(row.family_id, "test", to_datetime(services.clock.now()))


def set_disabled(services, user_id: str, when: Any) -> None:
    with services.db.unit_of_work() as uow:
        uow.users.get(user_id).disabled_at = when


def prepare(http: TestClient, services, world, grant: str, state: str, scope: str):
    """The form for one request in ``state``, and the family's newest refresh token (what
    a client would present next), for the app ``http`` under test."""
    app, user = world["app"], world["user"]
    form: dict[str, str] = {"grant_type": grant} if grant != "-" else {}
    newest = None
    if grant in ("refresh_token", "-", "bogus"):
        if state == "disabled":
            user = world["loner"]
            set_disabled(services, user.id, None)
        first = password_grant(http, app, user, scope=scope).json()["refresh_token"]
        newest = presented = first
        if state == "disabled":
            set_disabled(services, user.id, to_datetime(services.clock.now()))
        elif state == "used":
            newest = refresh_grant(http, app, first).json()["refresh_token"]
        elif state == "revoked":
            revoke_family_of(services, first)
        elif state == "foreign":
            other = password_grant(http, world["other"], user, scope=scope).json()
            presented = other["refresh_token"]
        elif state == "garbage":
            presented = "x" * 43
        if state != "missing":
            form["refresh_token"] = presented
    elif grant == "authorization_code":
        owner = world["other"] if state == "foreign" else app
        code = mint_code(services, owner, user.id, scope)
        form.update(code=code, redirect_uri=REDIRECT, code_verifier=VERIFIER)
        if state == "used":
            r = http.post("/token", data=form, auth=app.basic_auth)
            assert r.status_code == 200, r.text
            newest = r.json().get("refresh_token")
        elif state == "bad_verifier":
            form["code_verifier"] = "w" * 50
        elif state == "missing":
            del form["code_verifier"]
        elif state == "garbage":
            form["redirect_uri"] = REDIRECT + "/other"
    elif grant == "password":
        form.update(username=user.email, password=user.password)
        if state in ("garbage", "foreign"):
            form["password"] = "not the password"
    return form, newest


def send(http: TestClient, world, form: dict[str, str], grant: str, auth: str, scope: str):
    client = world["svc"] if grant == "client_credentials" else world["app"]
    form = dict(form)
    if scope != "-":
        form["scope"] = scope
    if auth == "basic":
        return http.post("/token", data=form, auth=client.basic_auth)
    if auth == "post":
        form.update(client_id=client.client_id, client_secret=client.client_secret)
        return http.post("/token", data=form)
    if auth == "wrong":
        return http.post("/token", data=form, auth=(client.client_id, "wrong"))
    if auth == "other":
        return http.post("/token", data=form, auth=world["other"].basic_auth)
    return http.post("/token", data=form)


def outcome(response) -> dict[str, Any]:
    body = response.json()
    out: dict[str, Any] = {
        "status": response.status_code,
        "fields": sorted(body),
        "www-authenticate": response.headers.get("www-authenticate"),
        **{k: body.get(k) for k in ("error", "error_description", "scope", "token_type")},
        "expires_in": body.get("expires_in"),
    }
    for name in ("access_token", "id_token"):
        if name in body:
            out[name] = {
                k: (type(v).__name__ if k in VOLATILE_CLAIMS or k == "nonce" else v)
                for k, v in claims(body[name]).items()
            }
    return out


STATES = {
    "refresh_token": ["fresh", "used", "revoked", "foreign", "disabled", "garbage", "missing"],
    "authorization_code": ["fresh", "used", "foreign", "bad_verifier", "missing", "garbage"],
    "password": ["fresh", "garbage"],
    "client_credentials": ["fresh"],
    "bogus": ["fresh"],
    "-": ["fresh"],
}
# Weighted towards the grants and clients the fast path changes.
GRANTS = [*["refresh_token"] * 4, *["authorization_code"] * 3, "client_credentials", "password"]
AUTHS = ["basic", "basic", "post", "wrong", "other", "none"]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, str, str, bool]:
    grant = draw(st.sampled_from([*GRANTS, "bogus", "-"]))
    state = draw(st.sampled_from(STATES[grant]))
    auth = draw(st.sampled_from(AUTHS))
    scope = draw(st.sampled_from(["-", "-", "api:read", "openid email", "api:read api:admin"]))
    return grant, state, auth, scope, draw(st.booleans())


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(drawn=requests())
def test_fast_and_plain_paths_answer_alike(apps, world, services, drawn):
    grant, state, auth, scope, twice = drawn
    granted = "openid email profile offline_access api:read" if scope != "api:read" else "api:read"
    answers = []
    for http in apps:
        form, newest = prepare(http, services, world, grant, state, granted)
        first = send(http, world, form, grant, auth, scope)
        if twice:  # the second request of a cached client runs on the event loop
            first = send(http, world, form, grant, auth, scope)
        answer = outcome(first)
        body = first.json()
        follow = body.get("refresh_token") or newest
        if follow:
            answer["follow-up"] = refresh_grant(http, world["app"], follow).status_code
        answers.append(answer)
    fast, plain = answers
    assert fast == plain

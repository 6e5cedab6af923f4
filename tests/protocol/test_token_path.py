"""The direct path to POST /token (``web.token_path``) and the client_credentials requests
answered on the event loop (``endpoints.token``): the same answers as the routed path, and
no database use, or a rerun in a thread when the database is needed after all."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from joserfc.jwk import RSAKey
from sqlalchemy import event
from starlette.requests import Request
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.endpoints.token import needs_no_database
from authserver.oauth.requests import OAuthRequest, OAuthResponse
from authserver.oauth.server import ServerFactory
from authserver.web.oauth_bridge import call_server

# Headers that differ between any two answers (the request id is random).
VOLATILE = {"x-request-id", "date", "content-length"}


def checkouts(client: TestClient) -> list[int]:
    """Counts connections the app takes from its pool from now on."""
    seen: list[int] = []
    engine = client.app_state["services"].db.engine
    event.listen(engine, "checkout", lambda *_: seen.append(1))
    return seen


@pytest.fixture
def cached(make_settings) -> Iterator[TestClient]:
    """The app with its client cache on (the suite's default settings turn it off)."""
    settings = make_settings(client_cache_ttl=60)
    with TestClient(create_app(settings), base_url=settings.issuer) as test_client:
        yield test_client


def basic(client_id: str, secret: str | None) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_cached_client_credentials_need_no_database_connection(cached, factory):
    client = cached
    svc = factory.client(scope="api:read")
    body = {"grant_type": "client_credentials"}
    assert client.post("/token", data=body, auth=svc.basic_auth).status_code == 200
    seen = checkouts(client)
    r = client.post("/token", data=body, auth=svc.basic_auth)
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "api:read"
    # The secret is still checked on that path.
    wrong = client.post("/token", data=body, auth=(svc.client_id, "not-the-secret"))
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert seen == []
    # A client not cached yet is read from the database (in a protocol thread).
    other = factory.client(scope="api:read")
    assert client.post("/token", data=body, auth=other.basic_auth).status_code == 200
    assert seen


def test_work_needing_the_database_runs_again_in_a_thread(client, factory):
    """``call_server(offline=True)``: the first database use stops the work on the event
    loop, before anything is read; it runs again, from the request as it arrived, in a
    protocol thread, with a real unit of work."""
    svc = factory.client()
    state = client.app_state
    runs: list[tuple[str, str | None]] = []

    def call(server, oauth_request: OAuthRequest) -> OAuthResponse:
        runs.append((threading.current_thread().name, oauth_request.client))
        oauth_request.client = "set by the first attempt"
        record = server.ctx.uow.clients.get(svc.client_id)
        return OAuthResponse(200, {"name": record.name})

    async def go() -> int:
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/token",
            "headers": [],
            "state": {**state, "oauth": ServerFactory(state["services"])},
        }
        request = Request(scope)
        oauth_request = OAuthRequest("POST", "http://localhost:8000/token", {}, form={})
        response = await call_server(request, oauth_request, call, offline=True)
        return response.status_code

    assert client.portal.call(go) == 200
    assert len(runs) == 2
    assert runs[0][0] != runs[1][0]
    assert runs[1][0].startswith("authserver-protocol")
    assert runs[1][1] is None  # a fresh copy of the request, not the first attempt's


@pytest.fixture
def routed(make_settings) -> Iterator[TestClient]:
    """The same application without the direct path: Starlette's router answers /token."""
    settings = make_settings(client_cache_ttl=60)
    app = create_app(settings)
    inner = app.app.app  # JwksEndpoint -> TokenEndpoint -> the routed app
    with TestClient(inner, base_url=settings.issuer) as test_client:
        yield test_client


FIELDS = st.sampled_from(
    ["grant_type", "scope", "client_id", "client_secret", "refresh_token", "code", "x"]
)
VALUES = st.sampled_from(
    ["client_credentials", "password", "refresh_token", "api:read", "api:nope", "", "é", "%ZZ"]
)


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    pairs=st.lists(st.tuples(FIELDS, VALUES), max_size=4),
    auth=st.sampled_from(["good", "wrong", "none", "garbled"]),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "application/json", "text/plain; charset=utf-8"]
    ),
)
def test_direct_path_answers_as_the_router_does(cached, routed, factory, pairs, auth, content_type):
    svc = factory.client(scope="api:read")
    headers = {"content-type": content_type}
    if auth == "good":
        pair = f"{svc.client_id}:{svc.client_secret}".encode()
        headers["authorization"] = "Basic " + base64.b64encode(pair).decode()
    elif auth == "wrong":
        headers["authorization"] = (
            "Basic " + base64.b64encode(f"{svc.client_id}:x".encode()).decode()
        )
    elif auth == "garbled":
        headers["authorization"] = "Basic !!!"
    body = "&".join(f"{k}={v}" for k, v in pairs).encode()
    # Twice each: the second request of a cached client is answered on the event loop.
    answers = [
        [c.post("/token", content=body, headers=headers) for _ in range(2)][1]
        for c in (cached, routed)
    ]
    direct, via_router = answers
    assert direct.status_code == via_router.status_code
    a, b = direct.json(), via_router.json()
    assert a.get("error") == b.get("error")
    assert a.get("error_description") == b.get("error_description")
    assert sorted(a) == sorted(b)
    assert {k: v for k, v in direct.headers.items() if k not in VOLATILE} == {
        k: v for k, v in via_router.headers.items() if k not in VOLATILE
    }
    assert direct.headers["x-request-id"]


def test_only_client_credentials_of_cached_secret_clients_skip_the_thread(cached, factory):
    svc = factory.client(scope="api:read")
    public = {**RSAKey.generate_key(2048).as_dict(private=False), "kid": "k"}
    jwks = {"keys": [public]}
    jwt_client = factory.client(auth_method="private_key_jwt", jwks=jwks, scope="api:read")
    services = cached.app_state["services"]
    # Cache both registrations (as their first requests do).
    for record in (svc, jwt_client):
        services.clients.get(record.client_id, lambda r=record: _load(services, r.client_id))

    def decide(form: dict[str, str], authorization: str | None = None) -> bool:
        headers = {"Authorization": authorization} if authorization else {}
        scope = {"type": "http", "headers": [], "state": cached.app_state}
        oauth_request = OAuthRequest("POST", "http://localhost:8000/token", headers, form=form)
        return needs_no_database(Request(scope), oauth_request)

    cc = {"grant_type": "client_credentials"}
    assert decide(cc, basic(svc.client_id, "any")) is True
    assert decide({**cc, "client_id": svc.client_id, "client_secret": "any"}) is True
    assert decide({"grant_type": "refresh_token"}, basic(svc.client_id, "any")) is False
    assert decide(cc, basic("not-cached", "any")) is False
    assert decide({**cc, "client_id": svc.client_id}) is False  # no secret: not this path
    assert decide({**cc, "client_id": jwt_client.client_id, "client_secret": "x"}) is False
    assert decide(cc, "Basic !!!") is False


def _load(services, client_id):
    with services.db.unit_of_work() as uow:
        row = uow.clients.get(client_id)
        uow.session.expunge(row)
        return row


def test_each_thread_reuses_one_server_bound_to_one_request_at_a_time(services):
    from authserver.oauth.requests import RequestMeta

    factory = ServerFactory(services)
    meta = RequestMeta()
    a, b = services.db.offline_unit_of_work(), services.db.offline_unit_of_work()
    with factory.bound(a, meta) as first:
        assert first.ctx.uow is a
        with factory.bound(b, meta) as nested:  # e.g. a call inside a call: its own
            assert nested is not first and nested.ctx.uow is b
        assert first.ctx.uow is a
    assert not hasattr(first, "ctx")  # nothing of the request is kept
    with factory.bound(b, meta) as again:
        assert again is first and again.ctx.uow is b
    elsewhere: list[object] = []

    def other_thread() -> None:
        with factory.bound(a, meta) as server:
            elsewhere.append(server)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert elsewhere and elsewhere[0] is not first


@pytest.mark.parametrize("query", ["x=%00", "x=%ff", "%01=1"])
def test_the_url_guard_applies_to_the_direct_path(cached, routed, factory, query):
    """A query string with control characters or not UTF-8 (``web.url_guard``) is refused
    before any handler, on the direct path as behind the router: 400 for both the plain
    client_credentials path and the rest, never a token."""
    svc = factory.client(scope="api:read")
    data = {"grant_type": "client_credentials"}
    for http in (cached, routed):
        http.post("/token", data=data, auth=svc.basic_auth)  # cached from now on
        answer = http.post(f"/token?{query}", data=data, auth=svc.basic_auth)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "invalid_request"
        refresh = http.post(f"/token?{query}", data={"grant_type": "refresh_token"})
        assert refresh.status_code == 400 and "query string" in refresh.json()["error_description"]

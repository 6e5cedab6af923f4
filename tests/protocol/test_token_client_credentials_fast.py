"""The plain client_credentials path (``oauth.grants.client_credentials_fast``, answered in
``web.token_path`` before any request object exists) against Authlib's grant behind the
router, on random requests: the same status, error, error description, response fields,
token claims and response headers. The plain path may only ever answer what Authlib's
path would have answered 200 with the same token; every other request must reach the
full path, so errors, audits and throttling stay the full path's.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from authserver.app import create_app
from authserver.web import token_path
from tests.helpers import claims, password_grant

VOLATILE_CLAIMS = {"jti", "iat", "exp"}
# Headers that differ between any two responses (or are the transport's business).
VOLATILE_HEADERS = {"x-request-id", "content-length", "date"}


@pytest.fixture
def apps(make_settings) -> Iterator[tuple[TestClient, TestClient]]:
    settings = make_settings(client_cache_ttl=60)
    router = create_app(settings).app.app  # JwksEndpoint -> TokenEndpoint -> the routed app
    with (
        TestClient(create_app(settings), base_url=settings.issuer) as fast,
        TestClient(router, base_url=settings.issuer) as full,
    ):
        yield fast, full


@pytest.fixture
def clients(factory, apps) -> dict[str, Any]:
    made = {
        "svc": factory.client(scope="api:read api:write openid"),
        "post": factory.client(auth_method="client_secret_post", scope="api:read"),
        "no_cc": factory.client(grant_types=["password"], scope="api:read"),
        "cors": factory.client(scope="api:read", allowed_cors_origins=["https://app.example"]),
    }
    fast, _ = apps
    for client in made.values():  # into the fast app's client cache
        fast.post("/token", data={"grant_type": "client_credentials"}, auth=client.basic_auth)
    return made


@pytest.fixture
def plain_answers(monkeypatch) -> list[int]:
    """How many requests the plain path answered."""
    answered: list[int] = []
    original = token_path.plain_token

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any] | None:
        token = original(*args, **kwargs)
        if token is not None:
            answered.append(1)
        return token

    monkeypatch.setattr(token_path, "plain_token", counted)
    return answered


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode()


AUTHS = [
    "basic",
    "basic",
    "basic",
    "post",
    "wrong",
    "unknown",
    "both",
    "none",
    "bad_b64",
    "no_colon",
    "post_no_secret",
    "bearer",
    "lowercase",
    "empty",
]


def authorization(auth: str, client: Any, form: list[tuple[str, str]]) -> dict[str, str]:
    cid, secret = client.client_id, client.client_secret
    if auth == "post":
        form += [("client_id", cid), ("client_secret", secret)]
        return {}
    if auth == "post_no_secret":
        form += [("client_id", cid)]
        return {}
    if auth == "both":
        form += [("client_id", cid), ("client_secret", secret)]
        return {"authorization": basic(cid, secret)}
    return {
        "basic": {"authorization": basic(cid, secret)},
        "wrong": {"authorization": basic(cid, secret[:-1] + ("A" if secret[-1] != "A" else "B"))},
        "unknown": {"authorization": basic("no-such-client", secret)},
        "none": {},
        "bad_b64": {"authorization": "Basic !!!"},
        "no_colon": {"authorization": "Basic " + base64.b64encode(cid.encode()).decode()},
        "bearer": {"authorization": "Bearer " + secret},
        "lowercase": {"authorization": "basic " + basic(cid, secret).split(" ", 1)[1]},
        "empty": {"authorization": ""},
    }[auth]


# A plain request, and what each dimension of one may be instead. A drawn request
# differs from the plain one in at most two dimensions, so that each check of the plain
# path is met alone (a request wrong in five ways is declined by the first).
PLAIN = {
    "client": "svc",
    "auth": "basic",
    "grant": "client_credentials",
    "scope": None,
    "extra": [],
    "content_type": "application/x-www-form-urlencoded",
    "origin": None,
    "raw_tail": b"",
    "twice": None,
}
PLAIN_POST = dict(PLAIN, client="post", auth="post")
VARIANTS: dict[str, list[Any]] = {
    "client": ["svc", "post", "no_cc", "cors"],
    "auth": sorted(set(AUTHS)),
    "grant": ["CLIENT_CREDENTIALS", "", None, "password"],
    "scope": [
        "api:read",
        "api:write api:read",
        "api:read api:read",
        "",
        "api:admin",
        "openid",
        " api:read",
        "api:read\tapi:write",
        "x" * 2001,
    ],
    "extra": [
        [("audience", "urn:x")],
        [("scope", "api:read")],
        [("grant_type", "client_credentials")],
        [("resource", "https://api.example")],
        [("client_id", "")],
        [("client_secret", "")],
        [("nonce", "\x00")],
        [
            ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
            ("client_assertion", "e30.e30.c2ln"),
        ],
    ],
    "content_type": [
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-Urlencoded",
        "text/plain",
        None,
    ],
    "origin": ["https://app.example", "https://elsewhere.example"],
    "raw_tail": [b"&", b"&=x", b"&%ff=1", b"&a=%", b"&scope"],
    # a second header of the kind: (header, right one first)
    "twice": [("authorization", True), ("authorization", False), ("content-type", True)],
}


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    drawn = dict(PLAIN)
    for dimension in draw(st.lists(st.sampled_from(sorted(VARIANTS)), max_size=2, unique=True)):
        drawn[dimension] = draw(st.sampled_from(VARIANTS[dimension]))
    return drawn


def send(http: TestClient, clients: dict[str, Any], drawn: dict[str, Any]):
    form: list[tuple[str, str]] = []
    if drawn["grant"] is not None:
        form.append(("grant_type", drawn["grant"]))
    if drawn["scope"] is not None:
        form.append(("scope", drawn["scope"]))
    form += drawn["extra"]
    client = clients[drawn["client"]]
    headers = list(authorization(drawn["auth"], client, form).items())
    if drawn["content_type"] is not None:
        headers.append(("content-type", drawn["content_type"]))
    if drawn["origin"] is not None:
        headers.append(("origin", drawn["origin"]))
    if drawn["twice"] is not None:
        name, right_first = drawn["twice"]
        wrong = basic(client.client_id, "wrong") if name == "authorization" else "text/plain"
        right = dict(headers).get(name) or basic(client.client_id, client.client_secret)
        headers = [(k, v) for k, v in headers if k != name]
        headers += [(name, right), (name, wrong)] if right_first else [(name, wrong), (name, right)]
    body = urlencode(form).encode() + drawn["raw_tail"]
    return http.post("/token", content=body, headers=headers)


def outcome(response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = {"not json": response.text}
    out: dict[str, Any] = {
        "status": response.status_code,
        "body": {k: v for k, v in body.items() if k != "access_token"},
        "headers": sorted((k, v) for k, v in response.headers.items() if k not in VOLATILE_HEADERS),
    }
    if "access_token" in body:
        out["claims"] = {
            k: (type(v).__name__ if k in VOLATILE_CLAIMS else v)
            for k, v in claims(body["access_token"]).items()
        }
    return out


def test_every_single_deviation_is_answered_alike(apps, clients):
    """Each variant of each dimension alone (the random test below draws pairs)."""
    fast, full = apps
    for plain in (PLAIN, PLAIN_POST):
        for dimension, variants in VARIANTS.items():
            for variant in variants:
                drawn = dict(plain, **{dimension: variant})
                fast_outcome = outcome(send(fast, clients, drawn))
                assert fast_outcome == outcome(send(full, clients, drawn)), (drawn, variant)


@hsettings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(drawn=requests())
def test_plain_and_full_paths_answer_alike(apps, clients, drawn):
    fast, full = apps
    assert outcome(send(fast, clients, drawn)) == outcome(send(full, clients, drawn))


def test_the_plain_path_answers_the_plain_requests(apps, clients, plain_answers):
    """Without this the test above could pass with the plain path never taken."""
    fast, _ = apps
    svc, post = clients["svc"], clients["post"]
    plain = [
        {"data": {"grant_type": "client_credentials"}, "auth": svc.basic_auth},
        {
            "data": {"grant_type": "client_credentials", "scope": "api:write"},
            "auth": svc.basic_auth,
        },
        {
            "data": {
                "grant_type": "client_credentials",
                "client_id": post.client_id,
                "client_secret": post.client_secret,
            }
        },
    ]
    for request in plain:
        response = fast.post("/token", **request)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
    assert len(plain_answers) == len(plain)
    refused = [
        {"data": {"grant_type": "client_credentials"}, "auth": (svc.client_id, "wrong")},
        {"data": {"grant_type": "client_credentials", "scope": "openid"}, "auth": svc.basic_auth},
        {"data": {"grant_type": "client_credentials"}, "auth": clients["no_cc"].basic_auth},
        {"data": {"grant_type": "client_credentials"}, "auth": post.basic_auth},
    ]
    for request in refused:
        assert fast.post("/token", **request).status_code in (400, 401)
    assert len(plain_answers) == len(plain)


def test_a_wrong_secret_is_refused_by_the_full_path(apps, clients, plain_answers):
    """The plain path declines a wrong secret; the full path answers 401 invalid_client
    with WWW-Authenticate (RFC 6749 §5.2), the same answer as for an unknown client."""
    fast, _ = apps
    svc = clients["svc"]
    wrong = fast.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(svc.client_id, "nope")
    )
    unknown = fast.post(
        "/token", data={"grant_type": "client_credentials"}, auth=("no-such-client", "nope")
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].lower().startswith("basic")
    assert wrong.json() == unknown.json()
    assert plain_answers == []


def test_a_failure_on_the_plain_path_is_answered_as_on_the_full_path(
    make_settings, factory, monkeypatch, plain_answers
):
    """Signing fails (no active key, say): the full path's error handler answers 500
    ``server_error`` in JSON, no-store, with the security headers -- not the server's bare
    500 for an exception the plain path let out of the application."""
    from authserver.errors import SigningKeyError
    from authserver.oauth.tokens import AccessTokenGenerator

    settings = make_settings(client_cache_ttl=60)
    router = create_app(settings).app.app
    with (
        TestClient(
            create_app(settings), base_url=settings.issuer, raise_server_exceptions=False
        ) as fast,
        TestClient(router, base_url=settings.issuer, raise_server_exceptions=False) as full,
    ):
        svc = factory.client(scope="api:read")
        request = {"data": {"grant_type": "client_credentials"}, "auth": svc.basic_auth}
        assert fast.post("/token", **request).status_code == 200  # cached: plain from now on
        assert plain_answers == []  # (the first one loaded the client on the full path)

        def no_key(self: Any) -> Any:
            raise SigningKeyError("no signing key is active")

        monkeypatch.setattr(AccessTokenGenerator, "get_jwks", no_key)
        fast_outcome, full_outcome = (
            outcome(http.post("/token", **request)) for http in (fast, full)
        )
        assert fast_outcome["status"] == 500
        assert fast_outcome["body"]["error"] == "server_error"
        assert ("cache-control", "no-store") in fast_outcome["headers"]
        assert ("x-content-type-options", "nosniff") in full_outcome["headers"]
        assert fast_outcome["body"] == full_outcome["body"]
        assert fast_outcome["status"] == full_outcome["status"]


def test_a_rotated_secret_stops_working_although_read_before_the_commit(
    make_settings, factory, monkeypatch
):
    """The cache is dropped when the change commits, not only when it is made: a token
    request in between (another thread) reads the registration still committed -- the old
    secret -- and would cache it for the cache's ttl after the rotation, on the plain path
    and the full path alike."""
    from authserver.manage import clients as manage_clients

    settings = make_settings(client_cache_ttl=60)
    with TestClient(create_app(settings), base_url=settings.issuer) as http:
        services = http.app_state["services"]
        svc = factory.client(scope="api:read")
        app = factory.password_client(scope="openid admin")
        admin = factory.user(role="admin")
        token = password_grant(http, app, admin, scope="admin").json()["access_token"]
        request = {"data": {"grant_type": "client_credentials"}, "auth": svc.basic_auth}
        assert http.post("/token", **request).status_code == 200
        original = manage_clients.rotate_secret

        def rotate_then_a_request_reads_it(call: Any, client_id: str) -> str:
            secret = original(call, client_id)  # (the cache entry dropped, not committed)

            def load() -> Any:  # what a concurrent request's unit of work sees
                with services.db.unit_of_work() as other:
                    return other.clients.get(client_id)

            services.clients.get(client_id, load)
            return secret

        monkeypatch.setattr(manage_clients, "rotate_secret", rotate_then_a_request_reads_it)
        rotated = http.post(
            f"/admin/clients/{svc.client_id}/secret",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert rotated.status_code == 200, rotated.text
        old = http.post("/token", **request)
        assert old.status_code == 401 and old.json()["error"] == "invalid_client"
        new = (svc.client_id, rotated.json()["client_secret"])
        assert http.post("/token", data=request["data"], auth=new).status_code == 200

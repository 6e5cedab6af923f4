"""Bad input at /token, /revoke and /introspect: the standard error, never a 500, and no
stored state changed."""

from __future__ import annotations

import base64

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from authserver.storage.models import Base

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def snapshot(services) -> dict[str, list]:
    """Every row of every table: to prove a rejected request changed nothing."""
    with services.db.engine.connect() as conn:
        return {
            t.name: sorted(map(tuple, conn.execute(sa.select(t)).all()), key=repr)
            for t in Base.metadata.sorted_tables
        }


@pytest.fixture
def seeded(client, factory):
    app = factory.password_client()
    user = factory.user()
    body = client.post(
        "/token",
        auth=app.basic_auth,
        data={"grant_type": "password", "username": user.email, "password": user.password},
    ).json()
    return app, user, body


@pytest.mark.parametrize("path", ["/token", "/revoke", "/introspect"])
@pytest.mark.parametrize(
    ("content", "headers", "status", "error"),
    [
        (
            b'{"grant_type": "client_credentials"}',
            {"Content-Type": "application/json"},
            400,
            "invalid_request",
        ),
        (b"grant_type=client_credentials", {"Content-Type": "text/plain"}, 400, "invalid_request"),
        (b"grant_type=client_credentials", {}, 400, "invalid_request"),
        (b"grant_type=\xff\xfe", FORM, 400, "invalid_request"),
        (b"grant_type=%ff%fe", FORM, 400, "invalid_request"),
        (b"token=a&token=b&grant_type=x&grant_type=y", FORM, 400, "invalid_request"),
        (b"a=" + b"x" * 70_000, FORM, 413, "invalid_request"),
        (b"&".join(b"k%d=v" % i for i in range(100)), FORM, 400, "invalid_request"),
    ],
)
def test_malformed_bodies(client, services, seeded, path, content, headers, status, error):
    app = seeded[0]
    before = snapshot(services)
    r = client.post(path, content=content, headers=headers, auth=app.basic_auth)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    assert snapshot(services) == before


def test_unknown_and_missing_grant_type(client, seeded):
    app = seeded[0]
    r = client.post("/token", data={"grant_type": "urn:x:unknown"}, auth=app.basic_auth)
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"
    r = client.post("/token", data={}, auth=app.basic_auth)
    assert r.status_code == 400 and r.json()["error"] in (
        "unsupported_grant_type",
        "invalid_request",
    )


@pytest.mark.parametrize(
    "body",
    [
        "grant_type=&grant_type=client_credentials",
        "grant_type=client_credentials&grant_type=",
        "grant_type=client_credentials&scope=&scope=api%3Aread",
    ],
)
def test_a_parameter_sent_twice_once_empty_is_repeated(client, services, seeded, body):
    """RFC 6749 §3.1: not more than once, an empty value included (it is omitted only
    when it is the parameter's one occurrence)."""
    app = seeded[0]
    before = snapshot(services)
    r = client.post("/token", content=body, headers=FORM, auth=app.basic_auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert "repeated" in r.json()["error_description"]
    assert snapshot(services) == before


def test_query_string_parameters_are_ignored_at_the_token_endpoint(client, seeded):
    app = seeded[0]
    r = client.post("/token?grant_type=client_credentials", data={}, auth=app.basic_auth)
    assert r.status_code == 400


def test_get_on_token_endpoint_is_405(client):
    r = client.get("/token")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b":secret").decode(),
        "Basic",
    ],
)
def test_malformed_basic_credentials_are_invalid_client(client, services, seeded, authorization):
    before = snapshot(services)
    r = client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": authorization},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert snapshot(services) == before


def test_two_client_authentication_methods_at_once(client, seeded):
    app = seeded[0]
    r = client.post(
        "/token",
        auth=app.basic_auth,
        data={
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_oversized_fields_are_rejected_without_change(client, services, seeded):
    """Nothing changes but the audit trail, which records the failed login attempts."""
    app, user, _ = seeded
    before = snapshot(services)
    before.pop("audit_events")
    for data in (
        {"grant_type": "password", "username": "a" * 5000, "password": "x"},
        {"grant_type": "password", "username": user.email, "password": "x" * 5000},
        {"grant_type": "refresh_token", "refresh_token": "r" * 5000},
        {"grant_type": "client_credentials", "scope": "s " * 2000},
    ):
        r = client.post("/token", data=data, auth=app.basic_auth)
        assert r.status_code == 400, r.text
        assert r.json()["error"] in (
            "invalid_request",  # a username longer than any address, refused at the edge
            "invalid_grant",
            "invalid_scope",
            "unauthorized_client",
        )
    after = snapshot(services)
    assert {e[2] for e in after.pop("audit_events")} <= {"login.ok", "login.failed"}
    assert after == before


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
_keys = st.sampled_from(
    [
        "grant_type",
        "client_id",
        "client_secret",
        "username",
        "password",
        "refresh_token",
        "scope",
        "token",
        "token_type_hint",
        "code",
    ]
)
_values = st.one_of(
    _text,
    st.sampled_from(
        [
            "client_credentials",
            "password",
            "refresh_token",
            "authorization_code",
            "access_token",
            "",
        ]
    ),
)


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/token", "/revoke", "/introspect"]),
    fields=st.lists(st.tuples(_keys, _values), max_size=6),
    raw=st.binary(max_size=200),
    use_raw=st.booleans(),
    auth=st.one_of(st.none(), _text, st.just("Basic"), st.just("Bearer x")),
    content_type=st.sampled_from([FORM["Content-Type"], "application/json", "", "text/html"]),
)
def test_random_requests_never_500_and_never_change_state(
    client, services, seeded, path, fields, raw, use_raw, auth, content_type
):
    before = snapshot(services)
    headers = {"Content-Type": content_type} if content_type else {}
    if auth is not None and auth.isascii() and "\n" not in auth and "\r" not in auth:
        headers["Authorization"] = auth
    if use_raw:
        r = client.post(path, content=raw, headers=headers)
    else:
        from urllib.parse import urlencode

        r = client.post(path, content=urlencode(fields).encode(), headers=headers)
    assert r.status_code < 500, r.text
    assert r.status_code in (400, 401, 413) or r.status_code == 200
    assert "error" in r.json() or r.status_code == 200
    assert snapshot(services) == before

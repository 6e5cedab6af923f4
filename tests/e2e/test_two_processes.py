"""Two real server processes on one PostgreSQL + Redis behave as one server."""

from __future__ import annotations

import threading

import jwt as pyjwt
import pytest

from tests.servers import running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def two_servers(prod_env, tmp_path):
    # One issuer for both, as behind a load balancer.
    env = {
        **prod_env,
        "AUTHSERVER_ISSUER": "http://auth.localhost:8000".replace("auth.localhost", "localhost"),
    }
    with running_server(env, tmp_path) as a, running_server(env, tmp_path) as b:
        yield a, b


def test_a_token_from_one_verifies_against_the_jwks_of_the_other(two_servers, prod_factory):
    a, b = two_servers
    app = prod_factory.password_client()
    user = prod_factory.user()
    with a.client() as ca, b.client() as cb:
        token = ca.post(
            "/token",
            auth=app.basic_auth,
            data={
                "grant_type": "password",
                "username": user.email,
                "password": user.password,
            },
        ).json()["access_token"]
        jwks = pyjwt.PyJWKSet.from_dict(cb.get("/.well-known/jwks.json").json())
    kid = pyjwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims = pyjwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="http://localhost:8000",
        issuer="http://localhost:8000",
    )
    assert claims["sub"] == user.id


def test_concurrent_refresh_on_both_succeeds_exactly_once(two_servers, prod_factory):
    a, b = two_servers
    app = prod_factory.password_client()
    user = prod_factory.user()
    for _ in range(5):
        with a.client() as ca:
            rt = ca.post(
                "/token",
                auth=app.basic_auth,
                data={
                    "grant_type": "password",
                    "username": user.email,
                    "password": user.password,
                },
            ).json()["refresh_token"]
        statuses: list[int] = []
        barrier = threading.Barrier(4)

        def use(server) -> None:
            with server.client() as c:
                barrier.wait()
                r = c.post(
                    "/token",
                    auth=app.basic_auth,
                    data={"grant_type": "refresh_token", "refresh_token": rt},
                )
                statuses.append(r.status_code)

        threads = [threading.Thread(target=use, args=(s,)) for s in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200, 400, 400, 400]


def test_a_revocation_at_one_is_seen_by_introspection_at_the_other(two_servers, prod_factory):
    a, b = two_servers
    app = prod_factory.password_client()
    rs = prod_factory.resource_server()
    svc = prod_factory.client()
    user = prod_factory.user()
    with a.client() as ca, b.client() as cb:
        body = ca.post(
            "/token",
            auth=app.basic_auth,
            data={"grant_type": "password", "username": user.email, "password": user.password},
        ).json()
        cc = ca.post(
            "/token", auth=svc.basic_auth, data={"grant_type": "client_credentials"}
        ).json()["access_token"]
        for token in (body["access_token"], cc):
            assert (
                cb.post("/introspect", auth=rs.basic_auth, data={"token": token}).json()["active"]
                is True
            )
        # Access token of a user: the deny list (Redis) carries it across processes.
        assert (
            ca.post(
                "/revoke", auth=app.basic_auth, data={"token": body["access_token"]}
            ).status_code
            == 200
        )
        assert cb.post(
            "/introspect", auth=rs.basic_auth, data={"token": body["access_token"]}
        ).json() == {"active": False}
        assert ca.post("/revoke", auth=svc.basic_auth, data={"token": cc}).status_code == 200
        assert cb.post("/introspect", auth=rs.basic_auth, data={"token": cc}).json() == {
            "active": False
        }
        # Refresh token: the family (PostgreSQL).
        assert (
            cb.post(
                "/revoke", auth=app.basic_auth, data={"token": body["refresh_token"]}
            ).status_code
            == 200
        )
        r = ca.post(
            "/token",
            auth=app.basic_auth,
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        )
        assert r.json()["error"] == "invalid_grant"

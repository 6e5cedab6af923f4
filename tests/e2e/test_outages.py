"""When PostgreSQL or Redis goes away mid-run the server answers 503 (with Retry-After) on
what needs them, keeps answering what does not, recovers by itself when they return, and
loses nothing it had committed."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from tests.servers import running_server
from tests.tcp_proxy import tcp_proxy

pytestmark = pytest.mark.slow


def _until(predicate, timeout: float = 15.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.2)


@pytest.fixture
def proxied_server(prod_env, tmp_path):
    pg = sa.engine.make_url(prod_env["AUTHSERVER_DATABASE_URL"])
    redis_url = sa.engine.make_url(prod_env["AUTHSERVER_REDIS_URL"].replace("redis://", "x://"))
    with (
        tcp_proxy(pg.host, pg.port or 5432) as pg_proxy,
        tcp_proxy(redis_url.host, redis_url.port or 6379) as redis_proxy,
    ):
        env = {
            **prod_env,
            "AUTHSERVER_DATABASE_URL": pg.set(port=pg_proxy.port).render_as_string(False),
            "AUTHSERVER_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0",
        }
        with running_server(env, tmp_path) as server:
            yield server, pg_proxy, redis_proxy


def test_database_outage_is_503_and_recovers_without_loss(proxied_server, prod_factory):
    server, pg, _ = proxied_server
    app = prod_factory.password_client()
    user = prod_factory.user()
    with server.client() as http:
        before = http.post(
            "/token",
            auth=app.basic_auth,
            data={"grant_type": "password", "username": user.email, "password": user.password},
        ).json()
        pg.cut()
        r = http.post(
            "/token",
            auth=app.basic_auth,
            data={"grant_type": "refresh_token", "refresh_token": before["refresh_token"]},
        )
        assert r.status_code == 503 and r.headers["retry-after"]
        assert r.json()["error"] == "temporarily_unavailable"
        assert http.get("/readyz").status_code == 503
        assert http.get("/healthz").status_code == 200
        assert http.get("/.well-known/jwks.json").status_code == 200
        page = http.get("/login")
        assert page.status_code in (200, 503)
        pg.restore()
        _until(lambda: http.get("/readyz").status_code == 200)
        # The refresh that failed consumed nothing: the token still rotates, once.
        again = http.post(
            "/token",
            auth=app.basic_auth,
            data={"grant_type": "refresh_token", "refresh_token": before["refresh_token"]},
        )
        assert again.status_code == 200, again.text


def test_redis_outage_is_503_and_recovers(proxied_server, prod_factory):
    server, _, redis = proxied_server
    app = prod_factory.password_client()
    rs = prod_factory.resource_server()
    user = prod_factory.user()
    with server.client() as http:
        token = http.post(
            "/token",
            auth=app.basic_auth,
            data={"grant_type": "password", "username": user.email, "password": user.password},
        ).json()["access_token"]
        assert http.post("/revoke", auth=app.basic_auth, data={"token": token}).status_code == 200
        redis.cut()
        r = http.post("/introspect", auth=rs.basic_auth, data={"token": token})
        assert r.status_code == 503 and r.headers["retry-after"]
        r = http.post(
            "/token",
            auth=app.basic_auth,
            data={"grant_type": "password", "username": user.email, "password": user.password},
        )
        assert r.status_code == 503  # throttling fails closed
        assert http.get("/readyz").json()["checks"]["redis"] is False
        redis.restore()
        _until(lambda: http.get("/readyz").status_code == 200)
        # The revocation made before the outage is still in force.
        assert http.post("/introspect", auth=rs.basic_auth, data={"token": token}).json() == {
            "active": False
        }

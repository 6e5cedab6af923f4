"""Scale-out, proven: two server processes on one PostgreSQL and a 3-node Redis Cluster
behave as one server -- refresh rotation, revocation, throttling and key rotation."""

from __future__ import annotations

import threading
import time

import jwt as pyjwt
import pytest

from authserver.keys import admin as key_admin
from authserver.keys.keystore import KeyStore
from tests.accounts_helpers import csrf
from tests.redis_cluster import redis_cluster
from tests.servers import running_server

pytestmark = pytest.mark.slow


@pytest.fixture
def cluster_servers(prod_env, tmp_path):
    with redis_cluster(tmp_path) as cluster_url:
        env = {
            **prod_env,
            "AUTHSERVER_REDIS_URL": cluster_url,
            "AUTHSERVER_ISSUER": "http://localhost:8000",
            "AUTHSERVER_THROTTLE_ACCOUNT_FAILURES": "3",
            "AUTHSERVER_KEY_PUBLISH_AHEAD": "2",
            "AUTHSERVER_JWKS_MAX_AGE": "1",
        }
        with running_server(env, tmp_path) as a, running_server(env, tmp_path) as b:
            yield a, b


def _password_login(http, app, user, password=None):
    return http.post(
        "/token",
        auth=app.basic_auth,
        data={
            "grant_type": "password",
            "username": user.email,
            "password": password or user.password,
        },
    )


def test_rotation_revocation_throttling_and_keys_across_processes(
    cluster_servers, prod_factory, keys_dir
):
    a, b = cluster_servers
    app = prod_factory.password_client()
    rs = prod_factory.resource_server()
    user = prod_factory.user()
    with a.client() as ca, b.client() as cb:
        assert ca.get("/readyz").json()["checks"]["redis"] is True

        # Refresh rotation: one token used on both processes at once succeeds once.
        rt = _password_login(ca, app, user).json()["refresh_token"]
        statuses: list[int] = []
        barrier = threading.Barrier(4)

        def use(http) -> None:
            barrier.wait()
            statuses.append(
                http.post(
                    "/token",
                    auth=app.basic_auth,
                    data={"grant_type": "refresh_token", "refresh_token": rt},
                ).status_code
            )

        threads = [threading.Thread(target=use, args=(h,)) for h in (ca, cb, ca, cb)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200, 400, 400, 400]

        # Revocation: denied at one (deny list in the cluster), inactive at the other.
        token = _password_login(cb, app, user).json()["access_token"]
        assert ca.post("/revoke", auth=app.basic_auth, data={"token": token}).status_code == 200
        assert cb.post("/introspect", auth=rs.basic_auth, data={"token": token}).json() == {
            "active": False
        }

        # Throttling: failures on both processes add up in the cluster.
        victim = prod_factory.user()
        for http in (ca, cb, ca):
            assert _password_login(http, app, victim, "wrong guess").status_code == 400
        throttled = _password_login(cb, app, victim)
        assert throttled.status_code == 429 and throttled.headers["retry-after"]
        page = cb.get("/login")
        assert page.status_code == 200 and csrf(page.text)

        # Key rotation: both processes publish the new key first, then sign with it.
        old_kid = pyjwt.get_unverified_header(token)["kid"]
        new = key_admin.rotate(KeyStore(keys_dir), time.time(), 2, 2048)
        time.sleep(1.2)
        for http in (ca, cb):
            kids = {k["kid"] for k in http.get("/.well-known/jwks.json").json()["keys"]}
            assert kids == {old_kid, new.kid}
        time.sleep(max(0.0, new.activates_at - time.time()) + 0.2)
        for http in (ca, cb):
            fresh = _password_login(http, app, user).json()["access_token"]
            assert pyjwt.get_unverified_header(fresh)["kid"] == new.kid
            # ...and the other process still verifies it (introspection uses its JWKS).
            other = cb if http is ca else ca
            assert (
                other.post("/introspect", auth=rs.basic_auth, data={"token": fresh}).json()[
                    "active"
                ]
                is True
            )

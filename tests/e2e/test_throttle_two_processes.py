"""Throttling across two real server processes sharing one PostgreSQL + Redis: failures
counted on one process throttle the account (and the client address) on the other."""

from __future__ import annotations

import pytest
import redis as redis_lib

from tests.accounts_helpers import csrf
from tests.servers import running_server

pytestmark = pytest.mark.slow

WINDOW = 3600


@pytest.fixture
def two_servers(prod_env, tmp_path):
    env = {
        **prod_env,
        "AUTHSERVER_ISSUER": "http://localhost:8000",
        "AUTHSERVER_THROTTLE_ACCOUNT_FAILURES": "3",
        "AUTHSERVER_THROTTLE_IP_FAILURES": "5",
        "AUTHSERVER_THROTTLE_WINDOW": str(WINDOW),
    }
    with running_server(env, tmp_path) as a, running_server(env, tmp_path) as b:
        yield a, b


def _login(http, email, password, ip):
    headers = {"X-Forwarded-For": ip}
    token = csrf(http.get("/login", headers=headers).text)
    return http.post(
        "/login",
        headers=headers,
        data={"csrf_token": token, "email": email, "password": password},
        follow_redirects=False,
    )


def _grant(http, app, email, password, ip):
    return http.post(
        "/token",
        auth=app.basic_auth,
        headers={"X-Forwarded-For": ip},
        data={"grant_type": "password", "username": email, "password": password},
    )


def test_an_account_throttled_on_one_process_is_throttled_on_the_other(
    two_servers, prod_factory, prod_env
):
    a, b = two_servers
    user = prod_factory.user()
    app = prod_factory.password_client()
    with a.client() as ca, b.client() as cb:
        assert _login(ca, user.email, "guess 1", "203.0.113.1").status_code == 401
        assert _grant(cb, app, user.email, "guess 2", "203.0.113.2").status_code == 400
        assert _login(ca, user.email, "guess 3", "203.0.113.3").status_code == 401
        page = _login(cb, user.email, user.password, "198.51.100.20")
        assert page.status_code == 429 and "Too many attempts" in page.text
        grant = _grant(ca, app, user.email, user.password, "198.51.100.21")
        assert grant.status_code == 429 and grant.json()["error"] == "slow_down"
        assert 1 <= int(grant.headers["retry-after"]) <= WINDOW
    client = redis_lib.Redis.from_url(prod_env["AUTHSERVER_REDIS_URL"])
    try:
        keys = list(client.scan_iter(prod_env["AUTHSERVER_REDIS_PREFIX"] + "rl:*"))
    finally:
        client.close()
    assert keys  # the counters are in the shared Redis, under the deployment's prefix


def test_one_address_spraying_accounts_across_processes(two_servers, prod_factory):
    a, b = two_servers
    users = [prod_factory.user() for _ in range(6)]
    with a.client() as ca, b.client() as cb:
        for i, user in enumerate(users[:5]):
            http = ca if i % 2 else cb
            assert _login(http, user.email, "Summer2024!", "192.0.2.66").status_code == 401
        assert _login(ca, users[5].email, users[5].password, "192.0.2.66").status_code == 429
        assert _login(cb, users[5].email, users[5].password, "192.0.2.66").status_code == 429
        assert _login(cb, users[5].email, users[5].password, "192.0.2.67").status_code == 303

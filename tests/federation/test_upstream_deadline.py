"""One deadline for the whole answer of an upstream at the callback: the token
exchange, the keys and (an admin's test login) the userinfo together take at most
AUTHSERVER_FEDERATION_TIMEOUT, not that much each (a real TCP server, ``slow_upstream``,
whose token endpoint answers just before the timeout and whose next endpoint hangs)."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from authserver.federation import flow, providers
from authserver.federation import upstream as calls
from authserver.federation.config import ProviderConfig
from tests.federation.slow_upstream import running_slow_upstream
from tests.federation.test_upstream_down import callback_after, counts, rejections

TIMEOUT = 3.0
# The token endpoint's answer comes this late: each request alone is within the timeout.
LATE = 2.5
# What the page around the requests may add; the old per-request timeouts took LATE more.
SLACK = 1.5
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


@pytest.fixture
def settings(make_settings):
    return make_settings(federation_allow_private_networks=True, federation_timeout=TIMEOUT)


@pytest.fixture
def upstream():
    with running_slow_upstream() as up:
        yield up


@pytest.fixture
def provider(services, upstream):
    with services.db.unit_of_work() as uow:
        providers.create(
            uow,
            providers.registry(services),
            "slow",
            "oidc",
            ProviderConfig(
                display_name="Slow SSO",
                settings={"issuer": upstream.url, "client_id": "c", "scopes": ["openid", "email"]},
                policy={"jit": True},
            ),
            "upstream-secret",
        )
    return "slow"


def test_the_keys_get_only_what_the_token_exchange_left(client, upstream, provider, services):
    before = counts(services)
    upstream.delay["/token"] = LATE
    upstream.hang.add("/jwks")
    r, started = callback_after(client, upstream, provider)
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert r.status_code == 502 and "could not be reached" in r.text
    assert upstream.requests[-2:] == ["/token", "/jwks"]
    (refused,) = rejections(services)
    assert refused["reason"] == "unavailable" and "TimeoutError" in refused["detail"]
    assert counts(services) == before


def test_a_test_logins_userinfo_gets_only_what_is_left(upstream, provider, services):
    """OIDC Core §5.3: the userinfo a test login shows; the ID token is valid, the
    userinfo endpoint hangs: the answer is the profile with a note, within the timeout."""
    now = time.time()
    claims = {"iss": upstream.url, "sub": "s-1", "aud": "c", "nonce": "n-1"}
    claims.update(exp=int(now) + 300, iat=int(now), email="ann@example.com")
    id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, KEY)
    upstream.answers["/token"] = {"access_token": "at", "id_token": id_token}
    upstream.answers["/jwks"] = {"keys": [KEY.as_dict(private=False)]}
    with services.db.unit_of_work() as uow:
        up = flow.upstream_of(services, uow.providers.get(provider))
    calls._metadata(up)  # discovery answered at once, as when the login started
    asked_before = len(upstream.requests)
    upstream.delay["/token"] = LATE
    upstream.hang.add("/userinfo")
    started = time.monotonic()
    found = calls.profile(up, "c0de", "v" * 43, "n-1", now, userinfo=True)
    assert time.monotonic() - started < TIMEOUT + SLACK
    assert found.subject == "s-1" and "TimeoutError" in found.userinfo["_note"]
    assert upstream.requests[asked_before:] == ["/token", "/jwks", "/userinfo"]

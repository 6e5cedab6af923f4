"""An upstream that is slow or down (a real TCP server on 127.0.0.1, ``slow_upstream``):
its token endpoint or keys answering after our outbound timeout, or its token endpoint
refusing connections, at the callback; its discovery document too slow when the login
starts. Each ends within the timeout on a readable page, audited as `federation.rejected`
with the reason, with no user, identity or login session created."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.storage.models import ExternalIdentity, FederationLogin, LoginSession, User
from tests.federation.slow_upstream import refused_url, running_slow_upstream
from tests.federation.upstream import start_federated
from tests.oidc import hidden_fields, query_of

TIMEOUT = 1.0
# Enough for the page around the timed-out request, far below the upstream's HANG_SECONDS.
WITHIN = TIMEOUT + 3


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


def counts(services) -> dict[str, int]:
    with services.db.unit_of_work() as uow:
        return {
            model.__name__: uow.session.scalar(select(func.count()).select_from(model))
            for model in (User, ExternalIdentity, LoginSession)
        }


def rejections(services) -> list[dict]:
    with services.db.unit_of_work() as uow:
        return [e.details for e in uow.audit.query(event="federation.rejected", limit=50)]


def assert_readable_refusal(r, started: float) -> None:
    assert time.monotonic() - started < WITHIN
    assert r.status_code == 502
    assert r.headers["content-type"].startswith("text/html")
    assert "could not be reached" in r.text and "Traceback" not in r.text


def callback_after(client, upstream, provider) -> tuple[object, float]:
    """Start a login (discovery answers at once), then come back with a code: the
    callback's requests to the upstream are the ones that are slow or refused."""
    state = query_of(start_federated(client, provider, "/account"))["state"]
    started = time.monotonic()
    r = client.get(f"/federation/{provider}/callback?code=c0de&state={state}")
    return r, started


@pytest.mark.parametrize(
    ("where", "how"),
    [("/token", "hang"), ("/jwks", "hang"), ("/token", "trickle"), ("/jwks", "trickle")],
)
def test_an_upstream_slower_than_the_timeout_at_the_callback(
    client, upstream, provider, services, where, how
):
    before = counts(services)
    getattr(upstream, how).add(where)
    r, started = callback_after(client, upstream, provider)
    assert_readable_refusal(r, started)
    assert where in upstream.requests
    (refused,) = rejections(services)
    assert refused["reason"] == "unavailable" and refused["provider"] == "slow"
    assert "TimeoutError" in refused["detail"]
    assert counts(services) == before


def test_an_upstream_refusing_connections_at_the_callback(client, upstream, provider, services):
    before = counts(services)
    upstream.token_endpoint = refused_url()
    r, started = callback_after(client, upstream, provider)
    assert_readable_refusal(r, started)
    (refused,) = rejections(services)
    assert refused["reason"] == "unavailable"
    assert "ConnectionRefusedError" in refused["detail"]
    assert counts(services) == before


def test_a_discovery_document_slower_than_the_timeout_when_the_login_starts(
    client, upstream, provider, services
):
    upstream.hang.add("/.well-known/openid-configuration")
    fields = hidden_fields(client.get("/login").text)
    started = time.monotonic()
    r = client.post(f"/federation/{provider}/start", data={"csrf_token": fields["csrf_token"]})
    assert_readable_refusal(r, started)
    (refused,) = rejections(services)
    assert refused["reason"] == "unavailable" and refused["step"] == "start"
    assert "TimeoutError" in refused["detail"]
    with services.db.unit_of_work() as uow:  # no round trip was recorded
        assert uow.session.scalar(select(func.count()).select_from(FederationLogin)) == 0
    assert counts(services) == {"User": 0, "ExternalIdentity": 0, "LoginSession": 0}

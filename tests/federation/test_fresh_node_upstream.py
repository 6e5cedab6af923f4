"""A relying party demands a fresh authentication (`prompt=login`, `max_age`) and the
person continues with node-oidc-provider (npm, a real other OpenID Provider) where they
already have a single sign-on session: we ask it for `prompt=login` (and `max_age`); an
upstream that honours it makes them log in again and the login goes through with its
`auth_time`; one that answers from its old session anyway is refused, audited, counted,
and nobody is signed in (OIDC Core §3.1.2.1, §2)."""

from __future__ import annotations

import httpx2 as httpx
import pytest

from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from tests.accounts_helpers import browser
from tests.federation.fresh_helpers import (
    OffsetClock,
    finish_at_rp,
    node_login,
    round_trip_row,
    start_at_rp,
)
from tests.federation.node_provider import running_node_upstream
from tests.federation.test_upstream_down import counts
from tests.federation.upstream import OUR_ISSUER
from tests.helpers import claims
from tests.oidc import REDIRECT, query_of

pytestmark = pytest.mark.slow
# Each case sets up its own node process; the rules do not depend on the storage.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
ACCOUNTS = {"ivy": {"email": "ivy@corp.example", "email_verified": True, "name": "Ivy"}}
CALLBACK = f"{OUR_ISSUER}/federation/corp/callback"
# How much older than the fresh round trip the upstream session is made to look.
EARLIER = 300


@pytest.fixture
def settings(make_settings):
    return make_settings(federation_allow_private_networks=True)


@pytest.fixture
def app(factory):
    return factory.client(
        grant_types=["authorization_code"],
        scope="openid email profile",
        redirect_uris=[REDIRECT],
        first_party=True,
    )


def add_provider(services, up) -> None:
    with services.db.unit_of_work() as uow:
        providers.create(
            uow,
            providers.registry(services),
            "corp",
            "oidc",
            ProviderConfig(
                display_name="Corp SSO",
                settings={
                    "issuer": up.url,
                    "client_id": up.client_id,
                    "scopes": ["openid", "email"],
                },
                policy={"jit": True},
            ),
            up.client_secret,
        )


def first_login(ours, app, idp, clock) -> dict:
    """Ivy signs in to the RP through node (no freshness asked): node's session starts."""
    journey = start_at_rp(ours, app, "corp", clock)
    assert "prompt" not in query_of(journey.upstream_url)
    callback, shown = node_login(idp, journey.upstream_url, OUR_ISSUER, "ivy")
    assert shown[0] == "login"
    _back, tokens = finish_at_rp(ours, journey, callback)
    assert tokens is not None
    return tokens


@sqlite_only
def test_an_upstream_that_honours_prompt_login_asks_again_and_the_login_goes_through(
    tmp_path, settings, services, app
):
    clock = OffsetClock()
    with (
        running_node_upstream(tmp_path / "node", CALLBACK, ACCOUNTS) as up,
        browser(settings, clock) as ours,
        httpx.Client(timeout=30) as idp,
    ):
        add_provider(services, up)
        first_login(ours, app, idp, clock)
        journey = start_at_rp(ours, app, "corp", clock, prompt="login", max_age="600")
        assert "prompt=login" in journey.login_url
        sent = query_of(journey.upstream_url)
        assert sent["prompt"] == "login" and sent["max_age"] == "600"
        assert round_trip_row(services, journey.upstream_url)[0] is True
        callback, shown = node_login(idp, journey.upstream_url, OUR_ISSUER, "ivy")
        assert shown == ["login"]  # node had a session, and still asked
        _back, tokens = finish_at_rp(ours, journey, callback)
        assert tokens is not None
        # node authenticated her during the round trip: that is the RP's auth_time.
        auth_time = claims(tokens["id_token"])["auth_time"]
        assert int(journey.started_at) <= auth_time <= clock.now()


@sqlite_only
@pytest.mark.parametrize("demand", [{"prompt": "login"}, {"max_age": "60"}])
def test_an_upstream_answering_from_its_old_session_is_refused(
    tmp_path, settings, services, app, demand
):
    clock = OffsetClock()
    with (
        running_node_upstream(tmp_path / "node", CALLBACK, ACCOUNTS, ignore_reauth=True) as up,
        browser(settings, clock) as ours,
        httpx.Client(timeout=30) as idp,
    ):
        add_provider(services, up)
        first_login(ours, app, idp, clock)
        before = counts(services)
        clock.offset = EARLIER
        journey = start_at_rp(ours, app, "corp", clock, **demand)
        sent = query_of(journey.upstream_url)
        assert sent["prompt"] == "login" and sent.get("max_age") == demand.get("max_age")
        callback, shown = node_login(idp, journey.upstream_url, OUR_ISSUER, "ivy")
        assert shown == []  # node answered from its session, asking nothing
        back, tokens = finish_at_rp(ours, journey, callback)
        assert tokens is None and back.status_code == 403
        assert "Corp SSO did not ask you to sign in again" in back.text
        assert "session=" not in back.headers.get("set-cookie", "")
        with services.db.unit_of_work() as uow:
            (event,) = uow.audit.query(event="federation.rejected", limit=5)
        assert event.details["reason"] == "not_reauthenticated"
        assert event.details["detail"] == "stale_auth_time"
        assert event.details["auth_time"] < event.details["started_at"] - 60
        assert counts(services) == before  # no user, identity or session more
        metrics = ours.get("/metrics").text
        assert 'outcome="rejected:not_reauthenticated",provider="corp"} 1.0' in metrics

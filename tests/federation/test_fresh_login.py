"""Fresh authentication through an upstream OpenID Provider (``federation.fresh``): with
a second authserver process as the upstream, where the person keeps a single sign-on
session, the RP's `prompt=login` / `max_age` reach it and it asks for the password again;
without them nothing is asked and the login session's `auth_time` is the upstream's
(never later than our now). With an upstream whose answers are crafted (a real HTTP
server, ``slow_upstream``): no `auth_time`, or one older than the round trip, is refused."""

from __future__ import annotations

import time

import httpx2 as httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from authserver.federation import flow, providers
from authserver.federation.config import ProviderConfig
from tests.accounts_helpers import browser
from tests.federation.fresh_helpers import OffsetClock, finish_at_rp, round_trip_row, start_at_rp
from tests.federation.slow_upstream import running_slow_upstream
from tests.federation.test_upstream_down import counts, rejections
from tests.federation.upstream import OUR_ISSUER, add_corp_provider, running_upstream
from tests.helpers import claims
from tests.oidc import REDIRECT, Flow, hidden_fields, query_of

pytestmark = pytest.mark.slow
CALLBACKS = [f"{OUR_ISSUER}/federation/up/callback"]
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"})


@pytest.fixture(scope="module")
def upstream(tmp_path_factory, key_template):
    with running_upstream(tmp_path_factory.mktemp("upstream"), key_template, CALLBACKS) as up:
        yield up


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


def at_upstream(idp: httpx.Client, url: str, user) -> tuple[str, bool]:
    """The upstream authserver in the person's browser there (its session kept): our
    callback path, and whether it asked for the password."""
    r = idp.get(url, follow_redirects=False)
    asked = r.status_code == 303 and r.headers["location"].startswith("/login")
    if asked:
        fields = hidden_fields(idp.get(r.headers["location"]).text)
        r = idp.post(
            "/login",
            data={**fields, "email": user.email, "password": user.password},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        r = idp.get(r.headers["location"], follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith(OUR_ISSUER), r.text
    return r.headers["location"].removeprefix(OUR_ISSUER), asked


def test_prompt_login_and_max_age_reach_the_upstream_which_asks_again(
    settings, services, upstream, app
):
    add_corp_provider(services, upstream)
    person = upstream.user(upstream.email("fay"), verified=True)
    clock = OffsetClock()
    with browser(settings, clock) as ours, httpx.Client(base_url=upstream.url) as idp:
        first = start_at_rp(ours, app, "up", clock)
        assert round_trip_row(services, first.upstream_url)[0] is False
        callback, asked = at_upstream(idp, first.upstream_url, person)
        assert asked
        assert finish_at_rp(ours, first, callback)[1] is not None
        # Signed in here and there. The RP now demands a fresh login, with a max_age.
        journey = start_at_rp(ours, app, "up", clock, prompt="login", max_age="300")
        sent = query_of(journey.upstream_url)
        assert sent["prompt"] == "login" and sent["max_age"] == "300"
        fresh, created_at = round_trip_row(services, journey.upstream_url)
        assert fresh is True and abs(created_at.timestamp() - journey.started_at) < 5
        callback, asked = at_upstream(idp, journey.upstream_url, person)
        assert asked  # its session was live: prompt=login made it ask again
        _back, tokens = finish_at_rp(ours, journey, callback)
        assert tokens is not None
        assert int(journey.started_at) <= claims(tokens["id_token"])["auth_time"] <= time.time()
        # A max_age that our session (seconds old, by our clock) no longer meets asks too.
        clock.offset = 120
        journey = start_at_rp(ours, app, "up", clock, max_age="60")
        assert query_of(journey.upstream_url)["prompt"] == "login"
        # Without prompt=login or max_age: nothing asked upstream (d), its session answers.
        journey = start_at_rp(ours, app, "up", clock, prompt="select_account")
        assert "prompt" not in query_of(journey.upstream_url)
        assert "max_age" not in query_of(journey.upstream_url)


@pytest.mark.parametrize("offset", [300, -30], ids=["ours-ahead", "ours-behind"])
def test_a_single_sign_on_answer_keeps_the_upstreams_auth_time(
    settings, services, upstream, app, offset
):
    """No freshness demanded: the upstream's session answers without asking, and the
    login's auth_time (what an RP's max_age is about) is when the upstream authenticated
    the person -- never later than our now."""
    add_corp_provider(services, upstream)
    person = upstream.user(upstream.email("gil"), verified=True)
    clock = OffsetClock()
    with browser(settings, clock) as ours, httpx.Client(base_url=upstream.url) as idp:
        first = start_at_rp(ours, app, "up", clock)
        callback, _asked = at_upstream(idp, first.upstream_url, person)
        upstream_auth = claims(finish_at_rp(ours, first, callback)[1]["id_token"])["auth_time"]
        ours.cookies.delete("session")  # a new browser session here, the one upstream kept
        clock.offset = offset
        journey = start_at_rp(ours, app, "up", clock)
        callback, asked = at_upstream(idp, journey.upstream_url, person)
        assert not asked
        _back, tokens = finish_at_rp(ours, journey, callback)
        auth_time = claims(tokens["id_token"])["auth_time"]
        if offset > 0:
            assert auth_time == upstream_auth  # not our now, 300 s later
        else:
            assert upstream_auth - 31 <= auth_time <= clock.now()  # our now, not later


@pytest.fixture
def crafted(services):
    """An upstream whose ID token the test writes (signed with its published key)."""
    with running_slow_upstream() as up:
        up.answers["/jwks"] = {"keys": [KEY.as_dict(private=False)]}
        with services.db.unit_of_work() as uow:
            providers.create(
                uow,
                providers.registry(services),
                "crafted",
                "oidc",
                ProviderConfig(
                    display_name="Crafted IdP",
                    domains=["crafted.example"],
                    settings={"issuer": up.url, "client_id": "c", "scopes": ["openid", "email"]},
                    policy={"jit": True},
                ),
                "upstream-secret",
            )
        yield up


@pytest.mark.parametrize(
    ("before_start", "outcome"),
    [(None, "no_auth_time"), (90, "stale_auth_time"), (30, None), (0, None)],
    ids=["none", "older-than-skew", "within-skew", "at-the-start"],
)
def test_a_fresh_round_trip_needs_an_auth_time_since_it_started(
    client, services, app, crafted, before_start, outcome
):
    journey = start_at_rp(client, app, "crafted", OffsetClock(), prompt="login")
    state = query_of(journey.upstream_url)["state"]
    now = time.time()
    body = {"iss": crafted.url, "sub": f"s-{before_start}", "aud": "c", "iat": int(now)}
    body.update(exp=int(now) + 300, nonce=flow.derived(services, "nonce", state))
    body["email"] = f"hal{before_start}@corp.example"
    if before_start is not None:
        body["auth_time"] = int(journey.started_at) - before_start
    crafted.answers["/token"] = {
        "access_token": "at",
        "token_type": "Bearer",
        "id_token": jwt.encode({"alg": "RS256", "kid": "k1"}, body, KEY),
    }
    before = counts(services)
    back, tokens = finish_at_rp(
        client, journey, f"/federation/crafted/callback?code=c&state={state}"
    )
    if outcome is None:
        assert tokens is not None
        assert claims(tokens["id_token"])["auth_time"] == body["auth_time"]
        return
    assert tokens is None and back.status_code == 403
    assert "Crafted IdP did not ask you to sign in again" in back.text
    (refused,) = rejections(services)
    assert refused["reason"] == "not_reauthenticated" and refused["detail"] == outcome
    assert counts(services) == before


def test_every_way_to_the_upstream_carries_the_demand(client, app, crafted):
    """The RP's `idp_hint`, home-realm discovery (an e-mail of the provider's domain) and
    an account change that asks to sign in again all reach the upstream with prompt=login."""
    r = Flow(client, app).start(prompt="login", max_age="0", idp_hint="crafted")
    r = client.get(r.headers["location"], follow_redirects=False)
    assert r.headers["location"].startswith(crafted.url)
    assert query_of(r.headers["location"])["prompt"] == "login"
    assert query_of(r.headers["location"])["max_age"] == "0"
    login = Flow(client, app).start(prompt="login").headers["location"]
    fields = hidden_fields(client.get(login).text)
    r = client.post(
        "/login",
        data={**fields, "email": "ann@crafted.example", "password": ""},
        follow_redirects=False,
    )
    assert query_of(r.headers["location"])["prompt"] == "login"
    page = client.get("/login?next=/account%23email&notice=reauth")
    r = client.post(
        "/federation/crafted/start", data=hidden_fields(page.text), follow_redirects=False
    )
    assert query_of(r.headers["location"])["prompt"] == "login"
    page = client.get("/login?next=/account")  # a plain sign-in: nothing asked
    r = client.post(
        "/federation/crafted/start", data=hidden_fields(page.text), follow_redirects=False
    )
    assert "prompt" not in query_of(r.headers["location"])

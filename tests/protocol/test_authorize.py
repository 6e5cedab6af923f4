"""GET|POST /authorize: the browser-facing rules (RFC 6749 §4.1, RFC 7636, OIDC Core §3.1)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.oidc import REDIRECT, Flow, query_of


@pytest.fixture
def web_app(factory):
    return factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email offline_access api:read",
        redirect_uris=[REDIRECT],
        post_logout_redirect_uris=["https://app.example.com/bye"],
    )


def test_first_visit_goes_to_login_then_consent_then_back_with_code_state_and_iss(
    client, factory, web_app
):
    user = factory.user()
    flow = Flow(client, web_app)
    r = flow.start(login_hint=user.email)
    assert r.status_code == 303
    assert "login_hint=" in r.headers["location"]
    page = client.get(r.headers["location"])
    assert f'value="{user.email}"' in page.text  # the hint fills the form
    r = flow.login(user, r)
    assert r.status_code == 200 and "Allow" in r.text and "See your e-mail address" in r.text
    r = flow.consent(r)
    assert r.status_code == 302
    q = query_of(r.headers["location"])
    assert q["state"] == "st-123" and q["iss"] == "http://localhost:8000" and q["code"]


def test_consent_is_remembered(client, factory, web_app):
    user = factory.user()
    Flow(client, web_app).authorize(user)
    r = Flow(client, web_app).start()
    assert r.status_code == 302 and "code=" in r.headers["location"]
    # Asking for more than was granted asks again.
    r = Flow(client, web_app, scope="openid email profile").start()
    assert r.status_code == 200 and "See your name" in r.text


def test_first_party_clients_skip_consent(client, factory):
    app = factory.client(
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=[REDIRECT],
        first_party=True,
    )
    user = factory.user()
    flow = Flow(client, app)
    r = flow.login(user, flow.start())
    assert r.status_code == 302 and "code=" in r.headers["location"]


def test_deny_redirects_with_access_denied(client, factory, web_app):
    flow = Flow(client, web_app)
    page = flow.login(factory.user(), flow.start())
    r = flow.consent(page, decision="deny")
    q = query_of(r.headers["location"])
    assert q["error"] == "access_denied" and q["state"] == "st-123" and q["iss"]


def test_prompt_none(client, factory, web_app):
    user = factory.user()
    r = Flow(client, web_app).start(prompt="none")
    q = query_of(r.headers["location"])
    assert r.status_code == 302 and q["error"] == "login_required" and q["iss"]
    flow = Flow(client, web_app)
    flow.login(user, flow.start())  # logged in, but no consent yet
    r = Flow(client, web_app).start(prompt="none")
    assert query_of(r.headers["location"])["error"] == "consent_required"
    Flow(client, web_app).authorize(user)
    r = Flow(client, web_app).start(prompt="none")
    assert "code" in query_of(r.headers["location"])


def test_prompt_login_and_consent_force_them(client, factory, web_app):
    user = factory.user()
    Flow(client, web_app).authorize(user)
    flow = Flow(client, web_app)
    r = flow.start(prompt="login")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = flow.login(user, r)  # back at /authorize: no loop
    assert r.status_code == 302 and "code=" in r.headers["location"]
    r = Flow(client, web_app).start(prompt="consent")
    assert r.status_code == 200 and "Allow" in r.text


def test_max_age(client, factory, web_app, services):
    from datetime import timedelta

    from authserver.storage.models import LoginSession

    user = factory.user()
    Flow(client, web_app).authorize(user)
    with services.db.unit_of_work() as uow:
        for s in uow.session.query(LoginSession).all():
            s.auth_time = s.auth_time - timedelta(seconds=120)
    r = Flow(client, web_app).start(max_age="60")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = Flow(client, web_app).start(max_age="600")
    assert r.status_code == 302
    r = Flow(client, web_app).start(max_age="60", prompt="none")
    assert query_of(r.headers["location"])["error"] == "login_required"


def test_max_age_zero_asks_for_a_login_once_then_issues_a_code(client, factory, web_app):
    user = factory.user()
    Flow(client, web_app).authorize(user)
    flow = Flow(client, web_app)
    r = flow.start(max_age="0")
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    r = flow.login(user, r)  # back at /authorize after a fresh login: no loop
    assert r.status_code == 302 and "code=" in r.headers["location"]


@pytest.mark.parametrize(
    "params",
    [
        {"client_id": "no-such-client"},
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": 'https://app.example.com/"><script>'},
        {"redirect_uri": "https://app.example.com/caf\u00e9\\"},
        {"redirect_uri": REDIRECT + "/extra"},
        {"redirect_uri": REDIRECT.replace("https", "http")},
    ],
)
def test_unknown_client_or_redirect_uri_shows_an_error_page_and_never_redirects(
    client, web_app, params
):
    query = {
        "response_type": "code",
        "client_id": web_app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s",
        **params,
    }
    r = client.get("/authorize?" + urlencode(query), follow_redirects=False)
    assert r.status_code == 400
    assert "location" not in r.headers and "evil" not in r.text.split("<main")[0]
    assert "text/html" in r.headers["content-type"]


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"scope": "openid api:admin"}, "invalid_scope"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://app.example.com/r"}, "request_uri_not_supported"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"max_age": "\u00b2"}, "invalid_request"),
        ({"max_age": "9" * 5000}, "invalid_request"),
    ],
)
def test_bad_requests_redirect_with_the_error(client, factory, web_app, extra, error):
    user = factory.user()
    flow = Flow(client, web_app)
    r = flow.start(**extra)
    if r.status_code == 303:
        r = flow.login(user, r)
    assert r.status_code == 302, r.text
    q = query_of(r.headers["location"])
    assert q["error"] == error and q["state"] == "st-123" and q["iss"] == "http://localhost:8000"


def test_public_clients_must_use_pkce(client, factory):
    spa = factory.client(
        grant_types=["authorization_code"], scope="openid", public=True, redirect_uris=[REDIRECT]
    )
    r = Flow(client, spa, scope="openid").start(code_challenge=None, code_challenge_method=None)
    q = query_of(r.headers["location"])
    assert q["error"] == "invalid_request" and "code_challenge" in q["error_description"]


def test_repeated_parameters_are_refused(client, web_app):
    url = f"/authorize?response_type=code&client_id={web_app.client_id}&scope=openid&scope=email"
    r = client.get(url, follow_redirects=False)
    assert r.status_code == 400


@pytest.mark.parametrize("sent", [None, ""])
def test_an_openid_request_must_name_its_redirect_uri(client, factory, web_app, sent):
    """OIDC Core §3.1.2.1: redirect_uri is REQUIRED in an OpenID Connect request (the
    one-registered-URI default of RFC 6749 §3.1.2.3 is for plain OAuth); an empty one is
    omitted (RFC 6749 §3.1). The error page, never a redirect."""
    user = factory.user()
    flow = Flow(client, web_app)
    flow.login(user, flow.start())
    r = Flow(client, web_app).start(redirect_uri=sent)
    assert r.status_code == 400 and "location" not in r.headers
    assert "redirect_uri" in r.text
    # Plain OAuth (no openid) keeps the default of the one registered URI.
    q = Flow(client, web_app, scope="api:read").authorize(user, redirect_uri=sent)
    assert q["code"]


@pytest.mark.parametrize("name", ["client_id", "redirect_uri", "response_type", "scope"])
def test_a_parameter_sent_twice_is_repeated_even_when_once_empty(client, web_app, name):
    """RFC 6749 §3.1: a parameter MUST NOT be included more than once. One sent empty is
    omitted, but sent twice it is still repeated: never read as the non-empty one."""
    query = {
        "response_type": "code",
        "client_id": web_app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    for pairs in ([(name, ""), *query.items()], [*query.items(), (name, "")]):
        r = client.get("/authorize?" + urlencode(pairs), follow_redirects=False)
        assert r.status_code == 400 and "location" not in r.headers, pairs
        assert "repeated" in r.text


def test_consent_post_without_csrf_is_refused(client, factory, web_app):
    flow = Flow(client, web_app)
    page = flow.login(factory.user(), flow.start())
    from tests.oidc import hidden_fields

    fields = hidden_fields(page.text)
    fields.pop("csrf_token")
    r = client.post("/consent", data={**fields, "decision": "approve"}, follow_redirects=False)
    assert r.status_code == 403 and "location" not in r.headers


def test_a_forged_state_is_returned_verbatim_for_the_client_to_check(client, factory, web_app):
    user = factory.user()
    q = Flow(client, web_app).authorize(user, state="<script>x</script>")
    assert q["state"] == "<script>x</script>"


def test_post_to_authorize_works_like_get(client, factory, web_app):
    user = factory.user()
    Flow(client, web_app).authorize(user)
    flow = Flow(client, web_app)
    flow.start()
    params = {**flow.params, "nonce": "a-fresh-nonce"}
    r = client.post("/authorize", data=params, follow_redirects=False)
    assert r.status_code == 302 and "code=" in r.headers["location"]


def test_a_loopback_redirect_uri_matches_on_any_port(client, factory):
    """RFC 8252 §7.3: a native app registers http://127.0.0.1/... and listens on an
    ephemeral port; everything but the port must still match exactly."""
    native = factory.client(
        grant_types=["authorization_code"],
        scope="openid",
        redirect_uris=["http://127.0.0.1/callback"],
        public=True,
        first_party=True,
    )
    user = factory.user()
    flow = Flow(client, native, scope="openid")
    r = flow.login(user, flow.start(redirect_uri="http://127.0.0.1:61234/callback"))
    assert r.status_code == 302
    assert r.headers["location"].startswith("http://127.0.0.1:61234/callback?code=")
    code = query_of(r.headers["location"])["code"]
    tokens = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1:61234/callback",
            "code_verifier": flow.verifier,
            "client_id": native.client_id,
        },
    )
    assert tokens.status_code == 200, tokens.text
    for other in ("http://127.0.0.1:61234/other", "http://localhost:61234/callback"):
        r = Flow(client, native, scope="openid").start(redirect_uri=other)
        assert r.status_code == 400 and "location" not in r.headers


def test_a_confidential_clients_loopback_redirect_uri_matches_exactly(client, factory):
    """The any-port exception is for native (public) clients only (RFC 8252 §7.3, RFC 9700
    §2.1): a web client's code never goes to another port on the machine."""
    web = factory.client(
        grant_types=["authorization_code"],
        scope="openid",
        redirect_uris=["http://127.0.0.1:3002/cb"],
        first_party=True,
    )
    user = factory.user()
    flow = Flow(client, web, scope="openid")
    r = flow.start(redirect_uri="http://127.0.0.1:9/cb")
    assert r.status_code == 400 and "location" not in r.headers
    r = flow.login(user, flow.start(redirect_uri="http://127.0.0.1:3002/cb"))
    assert r.status_code == 302
    assert r.headers["location"].startswith("http://127.0.0.1:3002/cb?code=")


def test_without_a_scope_parameter_there_is_no_id_token(client, factory, web_app):
    """Only a request naming `openid` is an OpenID Connect request (OIDC Core §3.1.2.1):
    the default scope of a request without one leaves it out."""
    flow = Flow(client, web_app, scope=None)
    q = flow.authorize(factory.user())
    tokens = flow.exchange(q["code"]).json()
    assert "id_token" not in tokens
    assert "openid" not in tokens["scope"].split() and "api:read" in tokens["scope"].split()

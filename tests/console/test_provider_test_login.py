"""An identity provider's test login in the console, over HTTP against real upstreams (a
second authserver process; pysaml2's IdP): the admin's "Test login" runs the provider's
real round trip, the callback validates it as for a real login, and the result page
shows the claims received and what a sign-in would do -- nothing created or changed,
nobody signed in; only the admin's own console session starts it or sees the result."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from authserver.accounts import roles
from authserver.federation import providers
from authserver.federation.config import ProviderConfig
from authserver.federation.last_login import last_login as last_of
from authserver.federation.saml import flow as saml_flow
from authserver.federation.saml import metadata
from authserver.federation.saml.config import service_provider
from authserver.storage.models import (
    ExternalIdentity,
    FederationLogin,
    FederationPendingLink,
    LoginSession,
    User,
)
from tests import saml_crafting as craft
from tests.console.helpers import another_browser, csrf, sign_in
from tests.federation import test_saml_response as cases
from tests.federation.upstream import (
    OUR_ISSUER,
    add_corp_provider,
    running_upstream,
    start_federated,
    upstream_login,
)
from tests.oidc import hidden_fields, query_of
from tests.saml_idp import SamlIdp, okta_user
from tests.servers import free_port

pytestmark = pytest.mark.slow
CALLBACKS = [f"{OUR_ISSUER}/federation/up/callback"]
RESULT = "/console/providers/up/test"
SCRIPT = '<script>alert("claim")</script>'


@pytest.fixture
def backend(embedded_backend):
    """What is tested here does not depend on the storage (the query is one SELECT)."""
    return embedded_backend


@pytest.fixture(scope="module")
def upstream(tmp_path_factory, key_template):
    with running_upstream(tmp_path_factory.mktemp("upstream"), key_template, CALLBACKS) as up:
        yield up


@pytest.fixture
def settings(make_settings):
    return make_settings(federation_allow_private_networks=True)


@pytest.fixture
def provider(services, upstream):
    """Our provider `up` for the upstream: JIT for corp.example, `eng` -> developer."""

    def add(**policy) -> str:
        return add_corp_provider(services, upstream, **policy)

    return add


@pytest.fixture
def admin(client, factory, services):
    """The admin, signed in with a second factor in ``client``; their session id."""
    made = factory.user(email="root@example.com", role="admin")
    made.session_id = sign_in(client, services, made.id)
    return made


def state_of(services) -> dict:
    """Everything a sign-in could create or change: users (with roles), identities (with
    their last use and claims), login sessions, pending links."""
    with services.db.unit_of_work() as uow:
        s = uow.session
        return {
            "users": sorted((u.id, tuple(u.roles), u.updated_at) for u in s.scalars(select(User))),
            "identities": sorted(
                (i.id, i.last_login_at, repr(i.claims)) for i in s.scalars(select(ExternalIdentity))
            ),
            "sessions": sorted((x.id, x.ended_at) for x in s.scalars(select(LoginSession))),
            "links": sorted(p.token_hash for p in s.scalars(select(FederationPendingLink))),
        }


def round_trips(services) -> list[FederationLogin]:
    with services.db.unit_of_work() as uow:
        return list(uow.session.scalars(select(FederationLogin)))


def last_login(services, provider_id: str) -> dict:
    with services.db.unit_of_work() as uow:
        return last_of(uow, provider_id)


def events(services, name):
    with services.db.unit_of_work() as uow:
        return list(uow.audit.query(event=name, limit=200))


def start_test(http, provider_id: str = "up"):
    page = http.get(f"/console/providers/{provider_id}")
    assert page.status_code == 200 and "Test login" in page.text, page.text
    return http.post(
        f"/console/providers/{provider_id}/test",
        data={"csrf_token": csrf(page.text)},
        follow_redirects=False,
    )


def run_test_login(http, upstream, person):
    """Test login -> the upstream's sign-in as ``person`` -> our callback; its response."""
    started = start_test(http)
    assert started.status_code == 303, started.text
    assert started.headers["location"].startswith(upstream.url + "/authorize?")
    callback = upstream_login(upstream, started.headers["location"], person)
    return callback, http.get(callback, follow_redirects=False)


def test_jit_result_shows_claims_and_roles_with_nothing_created(
    client, upstream, provider, services, admin
):
    provider()
    person = upstream.user(upstream.email("ana"), ["eng", "ops"], verified=True)
    with upstream.services.db.unit_of_work() as uow:
        uow.users.get(person.id).name = SCRIPT
    before = state_of(services)
    _, back = run_test_login(client, upstream, person)
    # No sign-in: to the console result, no login-session cookie set.
    assert back.status_code == 303 and back.headers["location"] == RESULT
    assert "session=" not in back.headers.get("set-cookie", "")
    assert state_of(services) == before
    page = client.get(RESULT)
    assert page.status_code == 200
    text = page.text
    assert f"one would be created for {person.email}" in text
    assert 'id="test-roles-after">[&#34;developer&#34;, &#34;user&#34;]' in text
    assert f"&#34;sub&#34;: &#34;{person.id}&#34;" in text  # the raw claims
    assert "<dt>email_verified</dt><dd><code>true</code>" in text
    assert "<dt>groups</dt><dd><code>[&#34;eng&#34;, &#34;ops&#34;, &#34;user&#34;]" in text
    # A claim carrying HTML is shown as text.
    assert "&lt;script&gt;alert(" in text and SCRIPT not in text
    # The userinfo endpoint's answer too (shown only; a sign-in reads the ID token).
    userinfo = text[text.index('id="test-userinfo"') :]
    assert f"&#34;email&#34;: &#34;{person.email}&#34;" in userinfo
    assert 'id="last-login"' not in text  # no real sign-in through it yet
    # Still the admin's console, the same session; audited without any token.
    assert "Signed in as root@example.com" in client.get("/console").text
    (event,) = events(services, "console.provider_test")
    assert event.details["actor"] == admin.id and event.details["provider"] == "up"
    assert event.details["outcome"] == "created" and event.user_id is None
    (trip,) = round_trips(services)
    assert trip.test_admin_id == admin.id and trip.used_at is not None
    assert "eyJ" not in repr(trip.test_result)  # no token (a JWT's start) is kept


def test_a_known_identity_keeps_its_roles_and_last_use(client, upstream, provider, services, admin):
    provider()
    person = upstream.user(upstream.email("bo"), ["eng"], verified=True)
    # A real sign-in first (another browser): the user and identity exist.
    other = another_browser(client)
    callback = upstream_login(upstream, start_federated(other, "up", "/account"), person)
    assert other.get(callback, follow_redirects=False).status_code == 303
    with upstream.services.db.unit_of_work() as uow:  # left engineering upstream
        uow.users.get(person.id).roles = ["user"]
    before = state_of(services)
    _, back = run_test_login(client, upstream, person)
    assert back.headers["location"] == RESULT
    assert state_of(services) == before  # roles, last use, claims: unchanged
    text = client.get(RESULT).text
    assert f"it would sign in as {person.email}" in text
    # Beside it, what `authserver providers test up` shows: the last real sign-in.
    assert person.email in text[text.index('id="last-login"') :]
    assert 'id="test-roles-after">[&#34;user&#34;]' in text  # roles_managed: recomputed
    with services.db.unit_of_work() as uow:
        assert uow.users.find_by_email(person.email).roles == ["developer", "user"]


@pytest.mark.parametrize(
    ("policy", "local", "said"),
    [
        ({}, True, "would be asked to sign in"),
        ({"jit": False}, False, "Refused: no_account"),
    ],
    ids=["link-required", "refused"],
)
def test_link_and_refusal_outcomes_create_nothing(
    client, upstream, provider, services, admin, factory, policy, local, said
):
    provider(**policy)
    person = upstream.user(upstream.email("cy"), verified=True)
    if local:
        factory.user(email=person.email)
    before = state_of(services)
    _, back = run_test_login(client, upstream, person)
    assert back.headers["location"] == RESULT
    assert state_of(services) == before  # no user, no pending link
    assert said in client.get(RESULT).text


def test_the_callback_replayed_is_refused_and_signs_nobody_in(
    client, upstream, provider, services, admin
):
    provider()
    person = upstream.user(upstream.email("di"), verified=True)
    callback, back = run_test_login(client, upstream, person)
    assert back.headers["location"] == RESULT
    before = state_of(services)
    again = client.get(callback, follow_redirects=False)
    assert again.status_code == 400 and "already used" in again.text
    assert "session=" not in again.headers.get("set-cookie", "")
    assert state_of(services) == before
    assert events(services, "federation.rejected")[-1].details["reason"] == "state"
    # A real login's round trip never shows up as a test result, nor holds one.
    other = another_browser(client)
    callback = upstream_login(upstream, start_federated(other, "up", "/account"), person)
    assert other.get(callback, follow_redirects=False).status_code == 303
    assert [t.test_result is None for t in round_trips(services)].count(True) == 1


def test_an_answer_that_fails_validation_is_shown_refused(
    client, upstream, provider, services, admin
):
    """A test login is checked as strictly as a real one: a code the upstream does not
    know (here, tampered) ends as a refusal with its reason, nothing created."""
    provider()
    person = upstream.user(upstream.email("fi"), verified=True)
    started = start_test(client)
    callback = upstream_login(upstream, started.headers["location"], person)
    code = query_of(callback)["code"]
    before = state_of(services)
    back = client.get(callback.replace(code, "x" + code[1:]), follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == RESULT
    assert "session=" not in back.headers.get("set-cookie", "")
    assert state_of(services) == before
    text = client.get(RESULT).text
    assert "Refused: invalid_answer" in text and "upstream_token_error" in text
    assert "could not be verified" in text  # what the person would have been told
    (refused,) = events(services, "federation.rejected")
    assert refused.details["reason"] == "upstream_token_error" and refused.details["test"]
    assert "rejected:" not in client.get("/metrics").text  # not a real sign-in's refusal
    assert events(services, "console.provider_test")[0].details["outcome"] == "refused"
    # Not a real sign-in's refusal: "the last real sign-in" part (and `providers test`)
    # does not show it as one.
    assert 'id="last-refusal"' not in text
    assert last_login(services, "up")["last_refusal"] is None


def test_only_the_admins_own_console_session_sees_the_result(
    client, upstream, provider, services, admin, factory
):
    provider()
    person = upstream.user(upstream.email("ed"), verified=True)
    run_test_login(client, upstream, person)
    assert person.email in client.get(RESULT).text
    # Another admin (with a second factor): the page, without the result.
    other_admin = factory.user(role="admin")
    other = another_browser(client)
    sign_in(other, services, other_admin.id)
    page = other.get(RESULT)
    assert page.status_code == 200 and 'id="test-none"' in page.text
    assert person.email not in page.text
    # The same admin in another session (another browser): not there either.
    again = another_browser(client)
    sign_in(again, services, admin.id)
    assert 'id="test-none"' in again.get(RESULT).text


def test_who_may_start_or_see_a_test_login(client, upstream, provider, services, factory):
    provider()
    member = factory.user()
    boss = factory.user(role="admin")
    for who, methods in ((member, ("pwd", "otp")), (boss, ("pwd",))):
        http = another_browser(client)
        sign_in(http, services, who.id, methods=methods)
        token = hidden_fields(http.get("/account").text).get("csrf_token", "x")
        started = http.post(
            "/console/providers/up/test", data={"csrf_token": token}, follow_redirects=False
        )
        assert started.status_code == 403
        assert http.get(RESULT).status_code == 403
    assert round_trips(services) == []


def test_a_forged_csrf_token_starts_nothing(client, provider, services, admin):
    provider()
    r = client.post(
        "/console/providers/up/test", data={"csrf_token": "forged"}, follow_redirects=False
    )
    assert r.status_code in (400, 403) and "location" not in r.headers
    r = client.post("/console/providers/up/test", follow_redirects=False)
    assert r.status_code in (400, 403)
    assert round_trips(services) == []


def test_a_disabled_or_unknown_provider_cannot_be_tested(client, provider, services, admin):
    provider()
    with services.db.unit_of_work() as uow:
        providers.set_enabled(uow, providers.registry(services), "up", False)
    page = client.get("/console/providers/up")
    r = client.post(
        "/console/providers/up/test",
        data={"csrf_token": csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 409 and "enable it first" in r.text
    assert client.get("/console/providers/nope/test").status_code == 404
    assert round_trips(services) == []


def test_an_unreachable_upstream_is_told_and_audited_with_nothing_started(client, services, admin):
    with services.db.unit_of_work() as uow:
        providers.create(
            uow,
            providers.registry(services),
            "down",
            "oidc",
            ProviderConfig(
                display_name="Down SSO",
                settings={"issuer": f"http://127.0.0.1:{free_port()}", "client_id": "c"},
            ),
            "secret",
        )
    r = start_test(client, "down")
    assert r.status_code == 502 and "could not be reached" in r.text
    assert round_trips(services) == []
    (refused,) = events(services, "federation.rejected")
    assert refused.details["reason"] == "unavailable" and refused.details["step"] == "start"
    assert refused.details["test"] and "rejected:" not in client.get("/metrics").text
    (tested,) = events(services, "console.provider_test")
    assert tested.details["actor"] == admin.id and tested.details["reason"] == "unavailable"


# --- SAML ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idp(tmp_path_factory):
    server = SamlIdp(tmp_path_factory.mktemp("saml-idp")).start()
    yield server
    server.stop()


@pytest.fixture
def saml_provider(services, idp):
    with services.db.unit_of_work() as uow:
        roles.define(uow, services.clock, "developer")
        providers.create(
            uow,
            providers.registry(services),
            "corp",
            "saml",
            ProviderConfig(
                display_name="Corp SAML",
                settings={"metadata_xml": idp.metadata().decode(), "preset": "okta"},
                policy={"jit": True},
                mapping={"group_roles": {"Engineering": ["developer"]}, "roles_managed": True},
            ),
            None,
        )
    persistent = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
    idp.sp_metadata = metadata.sp_metadata(service_provider(OUR_ISSUER, "corp", persistent))
    return "corp"


def post_to_acs(http, action: str, saml_response: str, relay_state: str):
    """The IdP's auto-posted form, then our hand-over page's, as a browser would."""
    path = urlsplit(action).path
    r = http.post(path, data={"SAMLResponse": saml_response, "RelayState": relay_state})
    assert r.status_code == 200, r.text
    return http.post(path, data=hidden_fields(r.text), follow_redirects=False)


def test_saml_test_login_shows_the_assertion_and_mapping(
    client, idp, saml_provider, services, admin
):
    idp.user = okta_user("00u9test", "gus@corp.example", ["Everyone", "Engineering", SCRIPT])
    before = state_of(services)
    started = start_test(client, "corp")
    assert started.status_code == 303
    sso = started.headers["location"]
    assert sso.startswith(idp.base + "/sso?SAMLRequest=")
    action, saml_response, relay_state = idp.respond(urlsplit(sso).query)
    back = post_to_acs(client, action, saml_response, relay_state)
    assert back.status_code == 303 and back.headers["location"] == "/console/providers/corp/test"
    assert "session=" not in back.headers.get("set-cookie", "")
    assert state_of(services) == before
    text = client.get("/console/providers/corp/test").text
    assert "one would be created for gus@corp.example" in text
    assert "&#34;name_id&#34;: &#34;00u9test&#34;" in text  # the assertion as received
    assert "<dt>subject</dt><dd><code>00u9test</code>" in text
    assert 'id="test-roles-after">[&#34;developer&#34;, &#34;user&#34;]' in text
    assert "&lt;script&gt;" in text and SCRIPT not in text
    # The same Response posted again: refused (its round trip is spent), nobody signed in.
    again = post_to_acs(client, action, saml_response, relay_state)
    assert again.status_code == 400 and "session=" not in again.headers.get("set-cookie", "")
    assert state_of(services) == before
    assert events(services, "console.provider_test")[0].details["outcome"] == "created"


@pytest.mark.parametrize(
    "case", [cases.unsigned, cases.xsw_moved, cases.other_certificate], ids=lambda c: c.__name__
)
def test_a_saml_response_that_fails_validation_is_shown_refused(
    client, idp, saml_provider, services, admin, case
):
    started = start_test(client, "corp")
    relay_state = query_of(started.headers["location"])["RelayState"]
    shape = craft.Shape(
        idp_entity_id=idp.entity_id,
        sp_entity_id=f"{OUR_ISSUER}/federation/saml/corp/metadata",
        acs_url=f"{OUR_ISSUER}/federation/saml/corp/acs",
        request_id=saml_flow.request_id(services.cookie_secret, relay_state),
    )
    crafter = craft.Crafter(
        idp.private_key(),
        idp.certificate(),
        idp.private_key("next"),
        idp.certificate("next"),
        base=shape,
    )
    root, reason = case(crafter)
    before = state_of(services)
    back = post_to_acs(
        client, "/federation/saml/corp/acs", craft.encode(craft.to_bytes(root)), relay_state
    )
    assert back.status_code == 303 and back.headers["location"] == "/console/providers/corp/test"
    assert "session=" not in back.headers.get("set-cookie", "")
    assert state_of(services) == before
    text = client.get("/console/providers/corp/test").text
    assert "Refused: invalid_answer" in text and reason in text
    (refused,) = events(services, "federation.rejected")
    assert refused.details["reason"] == f"saml_{reason}" and refused.details["test"]
    assert "rejected:" not in client.get("/metrics").text
    assert 'id="last-refusal"' not in text
    assert last_login(services, "corp")["last_refusal"] is None

"""Federated sign-in against a real upstream OpenID Provider (a second authserver
process): JIT with group -> role mapping, known identities, safe linking, lifecycle, and
the refusals of the takeover set and of bad callbacks -- each audited, nothing created."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from authserver.accounts import management
from authserver.federation import providers
from tests.federation.upstream import (
    OUR_ISSUER,
    add_corp_provider,
    login_buttons,
    running_upstream,
    start_federated,
    upstream_login,
)
from tests.helpers import claims, refresh_grant
from tests.oidc import REDIRECT, Flow, hidden_fields, query_of

pytestmark = pytest.mark.slow
CALLBACKS = [f"{OUR_ISSUER}/federation/{p}/callback" for p in ("up", "up2")]


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

    def add(provider_id: str = "up", **policy) -> str:
        return add_corp_provider(services, upstream, provider_id, **policy)

    return add


@pytest.fixture
def app(factory):
    return factory.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid email profile offline_access",
        redirect_uris=[REDIRECT],
        refresh_without_offline_access=True,
    )


def events(services, name):
    with services.db.unit_of_work() as uow:
        return list(uow.audit.query(event=name, limit=200))


def sign_in(client, app, upstream, user, provider_id="up"):
    """The whole journey: app -> our login page -> upstream -> callback -> consent ->
    code; returns (tokens, callback response)."""
    flow = Flow(client, app, scope="openid email profile")
    r = flow.start()
    assert r.status_code == 303
    next_path = query_of(r.headers["location"])["next"]
    callback = upstream_login(upstream, start_federated(client, provider_id, next_path), user)
    back = client.get(callback, follow_redirects=False)
    if back.status_code != 303 or back.headers["location"] == "/federation/link":
        return None, back
    r = client.get(back.headers["location"], follow_redirects=False)
    if r.status_code == 200:
        r = flow.consent(r)
    assert r.status_code == 302 and r.headers["location"].startswith(REDIRECT), r.text
    tokens = flow.exchange(query_of(r.headers["location"])["code"]).json()
    return tokens, back


def test_jit_login_maps_groups_and_keeps_the_identity(client, app, upstream, provider, services):
    alice_email = upstream.email("alice")
    provider()
    # A group without a rule (`ops`) grants nothing: only an explicit rule grants a role.
    alice = upstream.user(alice_email, ["eng", "ops"], verified=True)
    tokens, _ = sign_in(client, app, upstream, alice)
    access = claims(tokens["access_token"])
    assert access["roles"] == ["developer", "user"] and access["role"] == "user"
    metrics = client.get("/metrics").text
    assert 'authserver_federation_logins_total{outcome="created",provider="up"} 1.0' in metrics
    assert "fed" in access["amr"] and "pwd" not in access["amr"]
    with services.db.unit_of_work() as uow:
        user = uow.users.get(access["sub"])
        assert user.email == alice_email and user.password_hash is None
        assert user.email_verified is True
        (identity,) = uow.identities.of_user(user.id)
        assert identity.provider_id == "up" and identity.subject == alice.id
    assert [e.details["provider"] for e in events(services, "federation.jit_created")] == ["up"]
    assert events(services, "federation.login")[0].details["how"] == "created"

    # Refresh works; the upstream e-mail changes: still the same user (never by e-mail).
    assert refresh_grant(client, app, tokens["refresh_token"]).status_code == 200
    upstream.set_email(alice, "new." + alice_email)
    with upstream.services.db.unit_of_work() as uow:  # she left engineering upstream
        uow.users.get(alice.id).roles = ["user"]
    client.cookies.clear()
    again, _ = sign_in(client, app, upstream, alice)
    assert claims(again["access_token"])["sub"] == access["sub"]
    assert claims(again["access_token"])["roles"] == ["user"]  # roles_managed: recomputed
    mapped = events(services, "federation.role_mapped")
    assert [e.details["roles"] for e in mapped] == [["user"], ["developer", "user"]]
    with services.db.unit_of_work() as uow:
        assert uow.identities.of_user(access["sub"])[0].email == "new." + alice_email

    # Disabling the provider ends its logins: refresh refused, /authorize asks to log in.
    with services.db.unit_of_work() as uow:
        providers.set_enabled(uow, providers.registry(services), "up", False)
    assert refresh_grant(client, app, again["refresh_token"]).json()["error"] == "invalid_grant"
    r = Flow(client, app).start()
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert "up" not in login_buttons(client.get(r.headers["location"]).text)


def test_an_existing_account_is_linked_only_after_its_owner_signs_in(
    client, app, upstream, provider, services, factory
):
    bob_email = upstream.email("bob")
    provider(trust_email_domains=["corp.example"])
    bob_here = factory.user(email=bob_email)
    # Unverified upstream e-mail: even a trusted domain does not link by itself.
    bob_there = upstream.user(bob_email, verified=False)
    tokens, back = sign_in(client, app, upstream, bob_there)
    assert tokens is None and back.headers["location"] == "/federation/link"
    with services.db.unit_of_work() as uow:
        assert uow.identities.of_user(bob_here.id) == []
    page = client.get("/federation/link")
    assert page.status_code == 200 and bob_email in page.text
    csrf = hidden_fields(page.text)["csrf_token"]

    # The pending link taken to another browser (without this browser's binding): refused.
    link_cookie = client.cookies.get("fed_link")
    browser = client.cookies.get("fed_browser")
    client.cookies.delete("fed_browser")
    stolen = client.post("/federation/link", data={"csrf_token": csrf, "password": "x"})
    assert stolen.status_code == 400 and "no longer valid" in stolen.text
    client.cookies.set("fed_browser", browser)

    wrong = client.post("/federation/link", data={"csrf_token": csrf, "password": "wrong!"})
    assert wrong.status_code == 401
    ok = client.post(
        "/federation/link",
        data={"csrf_token": csrf, "password": bob_here.password},
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    with services.db.unit_of_work() as uow:
        (identity,) = uow.identities.of_user(bob_here.id)
        assert identity.subject == bob_there.id
    assert events(services, "federation.link_confirmed")[0].details["how"] == "signed_in"
    # The link is spent; the next upstream login goes straight in.
    client.cookies.set("fed_link", link_cookie)
    replay = client.post("/federation/link", data={"csrf_token": csrf, "password": "x"})
    assert replay.status_code == 400
    client.cookies.clear()
    tokens, _ = sign_in(client, app, upstream, bob_there)
    assert claims(tokens["access_token"])["sub"] == bob_here.id


def test_an_account_with_a_second_factor_is_linked_only_after_it(
    client, upstream, provider, services, factory
):
    """Someone with Kim's password but not her authenticator app, and an account at a
    provider that asserts MFA carrying her address: the password alone must not link it
    (that sign-in, and every later one through the provider, would count as multi-factor
    without her second factor). Linked once this browser holds her session that passed it."""
    import time

    from tests.console.helpers import sign_in as session_for
    from tests.mfa.helpers import answer, code_at, enrol_totp, password_step

    provider(asserts_mfa=True)
    kim_email = upstream.email("kim")
    kim_here = factory.user(email=kim_email)
    session_for(client, services, kim_here.id, methods=("pwd",))
    key, _codes = enrol_totp(client, time.time())
    client.cookies.clear()
    with services.db.unit_of_work() as uow:
        sessions_before = len(uow.login_sessions.list_active(kim_here.id, session_now(services)))
    there = upstream.user(kim_email, verified=False)
    callback = upstream_login(upstream, start_federated(client, "up", "/account"), there)
    assert client.get(callback, follow_redirects=False).headers["location"] == "/federation/link"
    csrf = hidden_fields(client.get("/federation/link").text)["csrf_token"]
    form = {"csrf_token": csrf, "password": kim_here.password}
    r = client.post("/federation/link", data=form, follow_redirects=False)
    assert r.status_code == 403 and "second factor" in r.text
    assert 'href="/login?next=/federation/link"' in r.text
    with services.db.unit_of_work() as uow:
        assert uow.identities.of_user(kim_here.id) == []
        live = uow.login_sessions.list_active(kim_here.id, session_now(services))
        assert len(live) == sessions_before  # nobody was signed in
    assert events(services, "federation.link_confirmed") == []
    # She signs in to her account (password, then her app) in this browser, is sent back
    # to the link page, and links it with her password.
    step = password_step(client, kim_email, kim_here.password, "/federation/link")
    assert step.headers["location"].startswith("/login/second-factor")
    done = answer(client, code_at(key, time.time() + 30), next_path="/federation/link")
    assert done.status_code == 303 and done.headers["location"] == "/federation/link"
    form["csrf_token"] = hidden_fields(client.get("/federation/link").text)["csrf_token"]
    r = client.post("/federation/link", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    with services.db.unit_of_work() as uow:
        (identity,) = uow.identities.of_user(kim_here.id)
        assert identity.subject == there.id


def test_verified_email_in_a_trusted_domain_links_without_asking(
    client, app, upstream, provider, services, factory
):
    carol_email = upstream.email("carol")
    provider(trust_email_domains=["corp.example"])
    carol_here = factory.user(email=carol_email)
    with services.db.unit_of_work() as uow:
        uow.users.get(carol_here.id).email_verified = True  # verified here too
    carol_there = upstream.user(carol_email, verified=True)
    tokens, _ = sign_in(client, app, upstream, carol_there)
    assert claims(tokens["access_token"])["sub"] == carol_here.id
    assert events(services, "federation.link_confirmed")[0].details["how"] == "trusted"


def test_an_unverified_account_is_not_linked_by_a_trusted_domain(
    client, app, upstream, provider, services, factory
):
    """Pre-account hijacking: someone signs up with another person's corp address (never
    verified here, as /register leaves it) and a password; when that person first signs
    in through the provider, a trusted domain must not link their identity into the
    account the other one holds the password of: only that password links it."""
    ivan_email = upstream.email("ivan")
    provider(trust_email_domains=["corp.example"])
    squatted = factory.user(email=ivan_email)  # email_verified False
    ivan_there = upstream.user(ivan_email, verified=True)
    tokens, back = sign_in(client, app, upstream, ivan_there)
    assert tokens is None and back.headers["location"] == "/federation/link"
    with services.db.unit_of_work() as uow:
        assert uow.identities.of_user(squatted.id) == []
    assert events(services, "federation.link_confirmed") == []


def test_takeover_and_policy_refusals_create_nothing(
    client, app, upstream, provider, services, factory
):
    dave_email = upstream.email("dave")
    eve_email = upstream.email("eve", "other.example")
    frank_email = upstream.email("frank")
    provider()  # no trusted domains
    dave_here = factory.user(email=dave_email)
    # The same (verified) e-mail from another subject: never linked silently.
    dave_there = upstream.user(dave_email, verified=True)
    tokens, back = sign_in(client, app, upstream, dave_there)
    assert tokens is None and back.headers["location"] == "/federation/link"
    # A domain JIT does not serve.
    eve = upstream.user(eve_email, verified=True)
    _, back = sign_in(client, app, upstream, eve)
    assert back.status_code == 403 and "e-mail domain" in back.text
    with services.db.unit_of_work() as uow:
        assert uow.users.find_by_email(eve_email) is None
        assert uow.identities.of_user(dave_here.id) == []
    reasons = [e.details["reason"] for e in events(services, "federation.rejected")]
    assert reasons == ["domain_not_allowed"]

    # A disabled user with a valid upstream login: refused, at login and at refresh.
    frank = upstream.user(frank_email, verified=True)
    tokens, _ = sign_in(client, app, upstream, frank)
    sub = claims(tokens["access_token"])["sub"]
    with services.db.unit_of_work() as uow:
        management.set_disabled(uow, services.clock, sub, True)
    assert refresh_grant(client, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    client.cookies.clear()
    _, back = sign_in(client, app, upstream, frank)
    assert back.status_code == 403 and "disabled" in back.text


@pytest.mark.parametrize("iss", [None, "https://other-issuer.example"])
def test_a_code_without_the_upstreams_iss_is_refused_before_it_is_used(
    client, upstream, provider, services, iss
):
    """RFC 9207 §2.4 (mix-up): the upstream's metadata says it sends `iss` on its
    authorization responses, so one without it, or with another issuer, is refused
    before the code is exchanged; nothing is created, nobody signed in."""
    provider()
    person = upstream.user(upstream.email(f"iris{bool(iss)}"), verified=True)
    callback = upstream_login(upstream, start_federated(client, "up", "/account"), person)
    sent = dict(parse_qsl(urlsplit(callback).query))
    assert sent["iss"] == upstream.url  # what the upstream really sends
    answer = {k: v for k, v in sent.items() if k != "iss"} | ({"iss": iss} if iss else {})
    r = client.get(f"{urlsplit(callback).path}?{urlencode(answer)}", follow_redirects=False)
    assert r.status_code == 502 and "could not be verified" in r.text
    assert "session=" not in r.headers.get("set-cookie", "")
    (refused,) = events(services, "federation.rejected")
    assert refused.details["reason"] == "iss_parameter"
    with services.db.unit_of_work() as uow:
        assert uow.users.find_by_email(person.email) is None


def test_bad_callbacks_are_refused_and_audited(client, app, upstream, provider, services):
    grace_email = upstream.email("grace")
    provider()
    provider("up2")
    grace = upstream.user(grace_email, verified=True)
    callback = upstream_login(upstream, start_federated(client, "up", "/account"), grace)
    path, query = urlsplit(callback).path, urlsplit(callback).query
    # A code for provider `up` brought to `up2`'s callback (mix-up): refused, state spent.
    mixed = client.get(f"/federation/up2/callback?{query}")
    assert mixed.status_code == 400
    assert client.get(callback).status_code == 400  # the state was spent by that attempt
    # A fresh round trip: the callback works once, a replay is refused.
    callback = upstream_login(upstream, start_federated(client, "up", "/account"), grace)
    assert client.get(callback, follow_redirects=False).status_code == 303
    assert client.get(callback).status_code == 400
    # Forged state, no state, an upstream error answer.
    assert client.get(f"{path}?code=x&state=forged").status_code == 400
    assert client.get(f"{path}?code=x").status_code == 400
    start_federated(client, "up", "/account")
    reasons = [e.details["reason"] for e in events(services, "federation.rejected")]
    assert reasons.count("state") == 4 and "provider_mismatch" in reasons


def test_upstream_error_answer_and_unreachable_upstream(client, upstream, provider, services):
    provider()
    url = start_federated(client, "up", "/account")
    state = query_of(url)["state"]
    r = client.get(f"/federation/up/callback?error=access_denied&state={state}")
    assert r.status_code == 403 and "access_denied" in r.text
    with services.db.unit_of_work() as uow:
        config = providers.patched(
            uow.providers.get("up"),
            {"settings": {"issuer": "http://127.0.0.1:9", "client_id": "x"}},
        )
        providers.update(uow, providers.registry(services), "up", config)
    page = client.get("/login")
    fields = hidden_fields(page.text)
    r = client.post("/federation/up/start", data={"csrf_token": fields["csrf_token"]})
    assert r.status_code == 502 and "could not be reached" in r.text


def test_idp_hint_and_home_realm_discovery_go_straight_upstream(client, app, upstream, provider):
    provider()
    r = Flow(client, app).start(idp_hint="up")
    assert r.status_code == 303 and "idp_hint=up" in r.headers["location"]
    r = client.get(r.headers["location"], follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(upstream.url)
    page = client.get("/login")
    fields = hidden_fields(page.text)
    r = client.post(
        "/login",
        data={**fields, "email": "someone@Corp.Example", "password": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith(upstream.url)
    # An unknown hint is ignored: the login page as usual.
    assert client.get("/login?idp_hint=nope").status_code == 200


def test_account_page_unlink_reset_and_the_providers_lifetime_cap(
    client, app, upstream, provider, services, settings, factory
):
    from tests.accounts_helpers import outbox, submit

    provider(max_session_seconds=900)
    hank_email = upstream.email("hank")
    hank = upstream.user(hank_email, verified=True)
    tokens, _ = sign_in(client, app, upstream, hank)
    sub = claims(tokens["access_token"])["sub"]
    with services.db.unit_of_work() as uow:
        (session,) = uow.login_sessions.list_active(sub, session_now(services))
        assert (session.expires_at - session.created_at).total_seconds() == 900
        (family,) = [f for f in all_families(uow, sub)]
        assert (family.expires_at - family.created_at).total_seconds() == 900

    # The account page lists the identity; the only way to sign in cannot be unlinked.
    page = client.get("/account")
    assert page.status_code == 200 and "Corp SSO" in page.text and hank_email in page.text
    with services.db.unit_of_work() as uow:
        (identity,) = uow.identities.of_user(sub)
    fields = hidden_fields(page.text)
    r = client.post(
        "/account/identities/unlink",
        data={"csrf_token": fields["csrf_token"], "identity_id": identity.id},
    )
    assert r.status_code == 200 and "only way you can sign in" in r.text

    # Forgot password: the same answer as for anyone, but no link for a federated-only user.
    assert submit(client, "/password/forgot", email=hank_email).status_code == 200
    assert outbox(settings) == []
    with services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(event="password.reset_requested")
        assert event.details == {"known": False, "refused": "federated_only"}

    # An administrator unlinks it: its sessions and refresh tokens end.
    admin = factory.user(role="admin")
    admin_app = factory.password_client(scope="openid admin")
    from tests.helpers import password_grant

    bearer = password_grant(client, admin_app, admin, scope="admin").json()["access_token"]
    auth = {"Authorization": f"Bearer {bearer}"}
    listed = client.get(f"/admin/users/{sub}/identities", headers=auth).json()["items"]
    assert [i["provider_id"] for i in listed] == ["up"] and listed[0]["subject"] == hank.id
    r = client.delete(f"/admin/users/{sub}/identities/{identity.id}", headers=auth)
    assert r.status_code == 204
    assert refresh_grant(client, app, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert client.get(f"/admin/users/{sub}/identities", headers=auth).json()["items"] == []
    (event,) = events(services, "federation.unlinked")
    assert event.details["actor"] == admin.id and event.details["sessions_ended"] == 1
    # Cut off: with no identity left, "forgot password" still gives them no password (the
    # provider never allowed one); an administrator may give one (reset-password).
    assert submit(client, "/password/forgot", email=hank_email).status_code == 200
    assert outbox(settings) == []
    with services.db.unit_of_work() as uow:
        last = uow.audit.query(event="password.reset_requested", limit=1)[0]
        assert last.details == {"known": False, "refused": "federated_only"}


def session_now(services):
    from authserver.clock import to_datetime

    return to_datetime(services.clock.now())


def all_families(uow, user_id):
    from sqlalchemy import select

    from authserver.storage.models import TokenFamily

    return uow.session.scalars(select(TokenFamily).where(TokenFamily.user_id == user_id)).all()


def test_a_second_factor_after_the_upstream_keeps_the_session_tied_to_the_identity(
    client, app, upstream, provider, services
):
    import time

    from tests.mfa.helpers import answer, code_at, enrol_totp

    provider(max_session_seconds=900)
    jo_email = upstream.email("jo")
    jo = upstream.user(jo_email, verified=True)
    tokens, _ = sign_in(client, app, upstream, jo)
    sub = claims(tokens["access_token"])["sub"]
    key, _codes = enrol_totp(client, time.time())
    client.cookies.clear()
    callback = upstream_login(upstream, start_federated(client, "up", "/account"), jo)
    r = client.get(callback, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login/second-factor")
    done = answer(client, code_at(key, time.time() + 30))
    assert done.status_code == 303, done.text
    with services.db.unit_of_work() as uow:
        (identity,) = uow.identities.of_user(sub)
        live = uow.login_sessions.list_active(sub, session_now(services))
        session = max(live, key=lambda s: s.created_at)
        assert session.identity_id == identity.id
        assert (session.expires_at - session.created_at).total_seconds() <= 900
        assert {"fed", "otp", "mfa"} <= set(session.auth_methods)

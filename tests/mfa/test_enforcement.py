"""Who must use a second factor, over HTTP on both backends: the `admin` role by default,
every user by setting, a client's `require_mfa`; enrolment before any code; step-up for
`acr_values` and `max_age` asking only the missing factor; `acr` in tokens; a fresh
sign-in to remove a factor; the admin's reset by API and CLI; the password grant's `otp`."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest

from authserver.cli import main as cli_main
from authserver.storage.models import AuditEvent, LoginSession
from tests.accounts_helpers import FakeClock, browser, csrf, login, submit
from tests.helpers import claims, password_grant
from tests.mfa.helpers import (
    SECOND_FACTOR,
    answer,
    code_at,
    codes_of,
    enrol_totp,
    key_of,
    password_step,
)
from tests.oidc import REDIRECT, Flow, query_of

TWO = "urn:authserver:loa:2fa"
ONE = "urn:authserver:loa:1fa"


@pytest.fixture
def clock():
    return FakeClock((int(time.time()) // 30 + 1) * 30 + 5)


def _app(factory, **spec):
    return factory.client(
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=[REDIRECT],
        first_party=True,
        **spec,
    )


def _enrol_when_sent(http, location: str, now: float) -> tuple[str, str]:
    """Follow a redirect to the set-up page through enrolment; the key and where the
    recovery-codes page continues to."""
    assert location.startswith("/account/mfa/setup?next="), location
    page = http.get(location)
    assert page.status_code == 200 and "needs a second step" in page.text
    r = http.post(
        "/account/mfa/totp",
        data={"csrf_token": csrf(page.text), "next": query_of(location)["next"]},
        follow_redirects=False,
    )
    setup = http.get(r.headers["location"])
    key = key_of(setup.text)
    fields = {"csrf_token": csrf(setup.text), "code": code_at(key, now)}
    fields["next"] = query_of(r.headers["location"])["next"]
    done = http.post("/account/mfa/totp/confirm", data=fields, follow_redirects=False)
    assert done.status_code == 200 and len(codes_of(done.text)) == 10
    onward = done.text.split('<p class="links"><a href="')[1].split('"')[0]
    return key, onward.replace("&amp;", "&")


def test_an_admin_is_led_through_enrolment_right_after_the_password(
    settings, factory, services, clock
):
    admin = factory.user(role="admin")
    with browser(settings, clock) as http:
        r = password_step(http, admin.email, admin.password, next_path="/account")
        assert r.status_code == 303
        assert r.headers["location"] == "/account/mfa/setup?next=%2Faccount"
        _, onward = _enrol_when_sent(http, r.headers["location"], clock.now())
        assert onward == "/account"
    with services.db.unit_of_work() as uow:
        assert uow.mfa.totp_of(admin.id).confirmed_at is not None


def test_a_client_requiring_mfa_gets_no_code_before_enrolment(settings, factory, clock):
    user = factory.user()
    app = _app(factory, require_mfa=True)
    plain = _app(factory)
    with browser(settings, clock) as http:
        # An app that does not require MFA: the password is enough, acr says so.
        flow = Flow(http, plain)
        tokens = flow.exchange(flow.authorize(user)["code"]).json()
        assert claims(tokens["id_token"])["acr"] == ONE
        # prompt=none cannot lead anyone through enrolment: an error for the client.
        none = Flow(http, app).start(prompt="none")
        assert query_of(none.headers["location"])["error"] == "interaction_required"
        flow = Flow(http, app)
        r = flow.start()
        assert r.status_code == 303 and r.headers["location"].startswith("/account/mfa/setup?")
        assert "code=" not in r.headers["location"]
        _, onward = _enrol_when_sent(http, r.headers["location"], clock.now())
        assert onward.startswith("/authorize?")
        back = http.get(onward, follow_redirects=False)
        assert back.status_code == 302, back.text
        tokens = flow.exchange(query_of(back.headers["location"])["code"]).json()
    idt = claims(tokens["id_token"])
    assert idt["acr"] == TWO and {"otp", "mfa"} <= set(idt["amr"])
    assert claims(tokens["access_token"])["acr"] == TWO


def test_every_user_by_setting(make_settings, factory, clock):
    settings = make_settings(mfa_required=True, mfa_required_roles="")
    user = factory.user()
    admin = factory.user(role="admin")
    with browser(settings, clock) as http:
        r = password_step(http, user.email, user.password)
        assert r.headers["location"].startswith("/account/mfa/setup?")
    relaxed = make_settings(mfa_required_roles="")
    with browser(relaxed, clock) as http:
        assert password_step(http, admin.email, admin.password).headers["location"] == "/account"


def test_acr_values_steps_up_only_the_missing_factor(settings, factory, services, clock):
    user = factory.user()
    app = _app(factory)
    with browser(settings, clock) as a, browser(settings, clock) as b:
        assert login(a, user.email, user.password).status_code == 303  # pwd only
        login(b, user.email, user.password)
        key, _ = enrol_totp(b, clock.now())  # set up in another browser
        clock.advance(30)
        flow = Flow(a, app)
        r = flow.start(acr_values=TWO)
        assert r.status_code == 303 and r.headers["location"].startswith(SECOND_FACTOR + "?")
        step = a.get(r.headers["location"])
        assert step.status_code == 200 and 'name="password"' not in step.text
        next_path = query_of(r.headers["location"])["next"]
        done = a.post(
            SECOND_FACTOR,
            data={
                "csrf_token": csrf(step.text),
                "kind": "totp",
                "code": code_at(key, clock.now()),
                "next": next_path,
            },
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == next_path
        back = a.get(next_path, follow_redirects=False)
        tokens = flow.exchange(query_of(back.headers["location"])["code"]).json()
    idt = claims(tokens["id_token"])
    assert idt["acr"] == TWO and idt["amr"] == ["mfa", "otp", "pwd"]


def test_max_age_ages_out_the_second_factor_alone(settings, factory, services, clock):
    user = factory.user()
    app = _app(factory)
    with browser(settings, clock) as http:
        login(http, user.email, user.password)
        key, _ = enrol_totp(http, clock.now())
        # The session's password is recent, its second factor an hour old.
        now = int(clock.now())
        with services.db.unit_of_work() as uow:
            (session,) = uow.session.query(LoginSession).filter_by(user_id=user.id).all()
            session.auth_methods = {"pwd": now, "otp": now - 3600, "mfa": now - 3600}
        flow = Flow(http, app)
        r = flow.start(max_age="600")
        assert r.headers["location"].startswith(SECOND_FACTOR + "?"), r.headers["location"]
        clock.advance(30)
        next_path = query_of(r.headers["location"])["next"]
        assert "max_age" not in next_path
        done = answer(http, code_at(key, clock.now()), next_path=next_path)
        assert done.status_code == 303
        back = http.get(done.headers["location"], follow_redirects=False)
        assert back.status_code == 302 and "code=" in back.headers["location"]


def test_the_consent_form_cannot_skip_a_required_factor(settings, factory, clock):
    user = factory.user()
    app = factory.client(
        grant_types=["authorization_code"],
        scope="openid email",
        redirect_uris=[REDIRECT],
        require_mfa=True,
    )
    with browser(settings, clock) as http:
        login(http, user.email, user.password)
        flow = Flow(http, app)
        flow.start()
        token = csrf(http.get("/account").text)
        r = http.post(
            "/consent",
            data={**flow.params, "csrf_token": token, "decision": "approve"},
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/account/mfa/setup?")


def test_removing_the_app_needs_a_fresh_sign_in(settings, factory, services, clock):
    user = factory.user()
    with browser(settings, clock) as http:
        login(http, user.email, user.password)
        key, _ = enrol_totp(http, clock.now())
        clock.advance(settings.mfa_reauth_max_age + 60)
        r = submit(http, "/account", "/account/mfa/totp/remove")
        assert r.status_code == 303 and "notice=reauth" in r.headers["location"]
        with services.db.unit_of_work() as uow:
            assert uow.mfa.totp_of(user.id) is not None
        page = http.get(r.headers["location"])
        assert "sign in again" in page.text
        password_step(http, user.email, user.password, next_path="/account")
        assert answer(http, code_at(key, clock.now())).status_code == 303
        r = submit(http, "/account", "/account/mfa/totp/remove")
        assert "totp_removed" in r.headers["location"]


def test_admin_resets_a_users_factors_by_api_and_cli(
    client, settings, factory, services, clock, monkeypatch, capsys
):
    user = factory.user()
    with browser(settings, clock) as http:
        login(http, user.email, user.password)
        enrol_totp(http, clock.now())
        admin = factory.user(role="admin")
        token = password_grant(client, factory.password_client(scope="admin"), admin, scope="admin")
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        shown = client.get(f"/admin/users/{user.id}/mfa", headers=headers).json()
        assert [f["kind"] for f in shown["factors"]] == ["totp"]
        assert shown["recovery_codes_left"] == 10 and "secret" not in json.dumps(shown)
        done = client.post(f"/admin/users/{user.id}/mfa/reset", headers=headers).json()
        assert done["factors_removed"] == 1 and done["ended_sessions"] == 1
        # The user's browser is signed out; the next sign-in needs the password only.
        assert http.get("/account", follow_redirects=False).status_code == 303
        assert password_step(http, user.email, user.password).headers["location"] == "/account"
        assert client.post("/admin/users/nobody/mfa/reset", headers=headers).status_code == 404
        assert client.post(f"/admin/users/{user.id}/mfa/reset").status_code == 401
    with services.db.unit_of_work() as uow:
        (event,) = uow.session.query(AuditEvent).filter_by(event="mfa.reset").all()
    assert event.user_id == user.id and event.details["actor"] == admin.id

    monkeypatch.setenv("AUTHSERVER_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("AUTHSERVER_KEYS_DIR", str(settings.keys_dir))
    if settings.redis_url:
        monkeypatch.setenv("AUTHSERVER_REDIS_URL", settings.redis_url)
    assert cli_main(["mfa", "reset", user.email, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["factors_removed"] == 0


def test_password_grant_needs_the_otp_of_a_user_with_an_app(settings, factory, clock):
    user = factory.user()
    app = factory.password_client()
    with browser(settings, clock) as http:
        login(http, user.email, user.password)
        key, _ = enrol_totp(http, clock.now())
        r = password_grant(http, app, user)
        assert r.status_code == 400 and "otp" in r.json()["error_description"]
        clock.advance(30)
        code = code_at(key, clock.now())
        ok = password_grant(http, app, user, otp=code)
        assert ok.status_code == 200, ok.text
        at = claims(ok.json()["access_token"])
        assert at["amr"] == ["mfa", "otp", "pwd"] and at["acr"] == TWO
        replay = password_grant(http, app, user, otp=code)
        assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_discovery_advertises_the_acr_values(client):
    meta = client.get("/.well-known/openid-configuration").json()
    assert meta["acr_values_supported"] == [ONE, TWO]
    assert "acr" in meta["claims_supported"]
    assert urlsplit(meta["issuer"]).scheme

"""Authenticator apps and recovery codes over HTTP, on both backends: enrolment on the
account page, the second-factor step after the password, one use per code and per time
step, the ±1 step window, recovery codes used once and voided by a new set, throttled
guesses, the page without a pending sign-in, and `amr` in the ID token."""

from __future__ import annotations

import re
import threading
import time

import pytest

from authserver.hashing import secret_hash
from authserver.mfa import totp
from authserver.storage.models import AuditEvent, LoginSession, RecoveryCode
from tests.accounts_helpers import FakeClock, browser, csrf, login, submit
from tests.helpers import claims, password_grant
from tests.mfa.helpers import SECOND_FACTOR, answer, code_at, codes_of, enrol_totp, password_step
from tests.oidc import REDIRECT, Flow, hidden_fields, query_of


@pytest.fixture
def clock():
    # A few seconds into a time step, so "this step" and "the next" are unambiguous.
    return FakeClock((int(time.time()) // 30 + 1) * 30 + 5)


@pytest.fixture
def enrolled(settings, factory, clock):
    """A user with an authenticator app (enrolled at the clock's step); key and codes."""
    user = factory.user()
    with browser(settings, clock) as http:
        assert login(http, user.email, user.password).status_code == 303
        key, codes = enrol_totp(http, clock.now())
    return user, key, codes


def _events(services, user_id):
    with services.db.unit_of_work() as uow:
        return [e.event for e in uow.session.query(AuditEvent).filter_by(user_id=user_id)]


def _session_cookie(response):
    return [h for h in response.headers.get_list("set-cookie") if h.startswith("session=")]


def test_enrolment_seals_the_key_and_sign_in_then_asks_for_a_code(
    settings, services, enrolled, clock
):
    user, key, codes = enrolled
    with services.db.unit_of_work() as uow:
        factor = uow.mfa.totp_of(user.id)
        assert factor.confirmed_at is not None
        assert key not in factor.secret_sealed
        assert services.envelope.decrypt(factor.secret_sealed, f"totp:{factor.id}:secret") == (
            key.encode()
        )
        stored = {r.code_hash for r in uow.session.query(RecoveryCode).filter_by(user_id=user.id)}
        assert len(stored) == 10 and uow.mfa.recovery_codes_left(user.id) == 10
        assert not {c.replace("-", "") for c in codes} & stored
        assert secret_hash(f"recovery:{user.id}:{codes[0].replace('-', '')}") in stored
    events = _events(services, user.id)
    assert "mfa.enrolled" in events and "mfa.recovery_codes_generated" in events

    with browser(settings, clock) as http:
        r = password_step(http, user.email, user.password)
        assert r.status_code == 303
        assert r.headers["location"] == SECOND_FACTOR + "?next=%2Faccount"
        assert not _session_cookie(r), "no session before the second factor"
        assert http.get("/account", follow_redirects=False).status_code == 303
        page = http.get(r.headers["location"])
        assert page.status_code == 200 and 'autocomplete="one-time-code"' in page.text
        # No inline script (the CSP forbids it): only the static WebAuthn file.
        assert re.findall(r"<script[^>]*>", page.text) == [
            '<script src="/static/webauthn.js" defer>'
        ]

        clock.advance(30)
        wrong = "000000" if code_at(key, clock.now()) != "000000" else "111111"
        bad = answer(http, wrong)
        assert bad.status_code == 401 and "not correct" in bad.text
        ok = answer(http, code_at(key, clock.now()))
        assert ok.status_code == 303 and ok.headers["location"] == "/account"
        assert _session_cookie(ok)
        account = http.get("/account")
        assert account.status_code == 200 and "Authenticator app, added" in account.text
        assert "10 unused recovery codes" in account.text
    with services.db.unit_of_work() as uow:
        live = uow.session.query(LoginSession).filter_by(user_id=user.id).all()
        assert any(set(s.auth_methods) == {"pwd", "otp", "mfa"} for s in live)
    events = _events(services, user.id)
    assert "mfa.failed" in events and "mfa.ok" in events


def test_a_code_works_once_and_only_one_step_either_side(settings, enrolled, clock):
    user, key, _ = enrolled
    with browser(settings, clock) as a, browser(settings, clock) as b:
        clock.advance(120)  # four steps after the enrolment's
        password_step(a, user.email, user.password)
        assert answer(a, code_at(key, clock.now() - 60)).status_code == 401  # two back
        assert answer(a, "12345a").status_code == 401  # not numeric
        assert answer(a, code_at(key, clock.now() - 30)).status_code == 303  # one back
        password_step(b, user.email, user.password)
        # The same code again (another browser): refused, its step is used.
        assert answer(b, code_at(key, clock.now() - 30)).status_code == 401
        assert answer(b, code_at(key, clock.now() + 30)).status_code == 303  # one ahead
        password_step(a, user.email, user.password)
        # Now's code is earlier than the last used step: refused too.
        assert answer(a, code_at(key, clock.now())).status_code == 401


def test_the_same_code_twice_at_once_succeeds_once(settings, services, enrolled, clock):
    user, key, _ = enrolled
    code = code_at(key, clock.now() + 30)
    services_clock = FakeClock(clock.now() + 30)
    object.__setattr__(services, "clock", services_clock)
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def attempt() -> None:
        with services.db.unit_of_work() as uow:
            uow.mfa.totp_of(user.id)  # both read the factor before either writes
            barrier.wait()
            results.append(totp.verify(uow, services, user.id, code))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]


def test_recovery_codes_work_once_and_a_new_set_voids_the_old(settings, services, enrolled, clock):
    user, _, codes = enrolled
    with browser(settings, clock) as http:
        password_step(http, user.email, user.password)
        assert answer(http, codes[0], kind="recovery").status_code == 303
    with browser(settings, clock) as http:
        password_step(http, user.email, user.password)
        again = answer(http, codes[0], kind="recovery")
        assert again.status_code == 401
        # Typed without the dash and in capitals: the same code.
        assert answer(http, codes[1].replace("-", "").upper(), kind="recovery").status_code == 303
        fresh = submit(http, "/account", "/account/mfa/recovery-codes")
        assert fresh.status_code == 200 and "no longer work" in fresh.text
        new_codes = codes_of(fresh.text)
        assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    with browser(settings, clock) as http:
        password_step(http, user.email, user.password)
        assert answer(http, codes[2], kind="recovery").status_code == 401
        assert answer(http, new_codes[0], kind="recovery").status_code == 303
    with services.db.unit_of_work() as uow:
        assert uow.mfa.recovery_codes_left(user.id) == 9
    assert "mfa.recovery_code_used" in _events(services, user.id)


def test_code_guesses_are_throttled_per_account(make_settings, factory, services, clock):
    settings = make_settings(throttle_account_failures=3)
    user = factory.user()
    with browser(settings, clock) as http:
        login(http, user.email, user.password)
        key, _ = enrol_totp(http, clock.now())
    clock.advance(30)
    with browser(settings, clock) as http:
        password_step(http, user.email, user.password)
        wrong = "000000" if code_at(key, clock.now()) != "000000" else "111111"
        for _ in range(3):
            assert answer(http, wrong).status_code == 401
        throttled = answer(http, code_at(key, clock.now()))
        assert throttled.status_code == 429
        assert int(throttled.headers["retry-after"]) > 0
        assert "Too many attempts" in throttled.text
        clock.advance(settings.throttle_window + 1)
        # No permanent lockout: once the window has passed, the right code works.
        password_step(http, user.email, user.password)
        assert answer(http, code_at(key, clock.now())).status_code == 303
    assert "mfa.throttled" in _events(services, user.id)


def test_second_factor_page_needs_a_pending_sign_in_and_csrf(settings, services, enrolled, clock):
    user, key, _ = enrolled
    with browser(settings, clock) as http:
        page = http.get(SECOND_FACTOR)
        assert page.status_code == 400 and "Sign in again" in page.text
        token = csrf(http.get("/login").text)
        r = http.post(SECOND_FACTOR, data={"csrf_token": token, "code": "123456"})
        assert r.status_code == 400 and "Sign in again" in r.text
        password_step(http, user.email, user.password)
        r = http.post(SECOND_FACTOR, data={"code": code_at(key, clock.now() + 30)})
        assert r.status_code == 403
        clock.advance(11 * 60)  # the pending sign-in has expired
        r = answer(http, code_at(key, clock.now()))
        assert r.status_code == 400 and "Sign in again" in r.text
    with services.db.unit_of_work() as uow:
        reasons = [
            e.details.get("reason")
            for e in uow.session.query(AuditEvent).filter_by(event="mfa.failed")
        ]
    assert "no_pending_sign_in" in reasons


def test_a_pending_sign_in_completes_once(settings, enrolled, clock):
    user, key, codes = enrolled
    with browser(settings, clock) as http:
        password_step(http, user.email, user.password)
        pending_cookie = http.cookies.get("signin_pending")
        assert answer(http, code_at(key, clock.now() + 30)).status_code == 303
        # The cookie replayed after completion (in a browser without the session):
        # nothing more is started.
        http.cookies.clear()
        http.cookies.set("signin_pending", pending_cookie)
        r = answer(http, codes[0], kind="recovery")
        assert r.status_code == 400


def test_unconfirmed_app_is_no_factor_and_a_wrong_first_code_is_refused(
    settings, services, factory, clock
):
    user = factory.user()
    with browser(settings, clock) as http:
        login(http, user.email, user.password)
        submit(http, "/account", "/account/mfa/totp")
        page = http.get("/account/mfa/totp")
        assert 'src="data:image/png;base64,' in page.text
        r = http.post(
            "/account/mfa/totp/confirm",
            data={"csrf_token": csrf(page.text), "code": "abcdef"},
            follow_redirects=False,
        )
        assert r.status_code == 400 and "not correct" in r.text
    with services.db.unit_of_work() as uow:
        assert uow.mfa.totp_of(user.id).confirmed_at is None
    with browser(settings, clock) as http:
        r = password_step(http, user.email, user.password)
        assert r.headers["location"] == "/account" and _session_cookie(r)


def test_removing_the_app_removes_the_step_and_the_codes(settings, services, enrolled, clock):
    user, _, _ = enrolled
    with browser(settings, clock) as http:
        password_step(http, user.email, user.password)
        answer(http, enrolled[2][0], kind="recovery")
        r = submit(http, "/account", "/account/mfa/totp/remove")
        assert r.status_code == 303 and "totp_removed" in r.headers["location"]
    with services.db.unit_of_work() as uow:
        assert uow.mfa.totp_of(user.id) is None
        assert uow.mfa.recovery_codes_left(user.id) == 0
    assert "mfa.removed" in _events(services, user.id)
    with browser(settings, clock) as http:
        r = password_step(http, user.email, user.password)
        assert r.headers["location"] == "/account"


def test_id_token_amr_after_password_and_code(settings, factory, enrolled, clock):
    user, key, _ = enrolled
    app = factory.client(
        grant_types=["authorization_code"], scope="openid email", redirect_uris=[REDIRECT]
    )
    with browser(settings, clock) as http:
        flow = Flow(http, app)
        r = flow.start()
        login_page = http.get(r.headers["location"])
        r = http.post(
            "/login",
            data={**hidden_fields(login_page.text), "email": user.email, "password": user.password},
            follow_redirects=False,
        )
        assert r.headers["location"].startswith(SECOND_FACTOR)
        step_page = http.get(r.headers["location"])
        r = http.post(
            SECOND_FACTOR,
            data={
                **hidden_fields(step_page.text),
                "kind": "totp",
                "code": code_at(key, clock.now() + 30),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/authorize?")
        r = flow.consent(http.get(r.headers["location"], follow_redirects=False))
        code = query_of(r.headers["location"])["code"]
        tokens = flow.exchange(code).json()
    assert claims(tokens["id_token"])["amr"] == ["mfa", "otp", "pwd"]
    assert claims(tokens["access_token"])["amr"] == ["mfa", "otp", "pwd"]


def test_password_grant_is_refused_for_a_user_with_a_second_factor(client, factory, enrolled):
    user, _, _ = enrolled
    app = factory.password_client()
    r = password_grant(client, app, user)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "two-step" in r.json()["error_description"]

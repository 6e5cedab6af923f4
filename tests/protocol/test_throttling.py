"""Throttling of password checks, per account and per client IP, on the login page and
the password grant alike: 429 + Retry-After, and never a permanent lockout."""

from __future__ import annotations

import argon2
import pytest

from authserver.audit import AuditEvent
from tests.accounts_helpers import (
    FakeClock,
    OneServer,
    browser,
    csrf,
    login,
    outbox,
    reset_link,
    submit,
)
from tests.helpers import password_grant

NEW = "a brand new passphrase"
LIMITS = {"throttle_account_failures": 3, "throttle_ip_failures": 5, "throttle_window": 600}


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def limited(make_settings):
    return make_settings(**LIMITS)


def _grant(http, app, email, password):
    return http.post(
        "/token",
        auth=app.basic_auth,
        data={"grant_type": "password", "username": email, "password": password},
    )


def test_the_login_page_throttles_an_account(limited, factory, services, clock):
    user = factory.user()
    with browser(limited, clock) as http:
        for _ in range(3):
            assert login(http, user.email, "wrong password").status_code == 401
        r = login(http, user.email, user.password)
        assert r.status_code == 429
        assert "Too many attempts" in r.text and "text/html" in r.headers["content-type"]
        wait = int(r.headers["retry-after"])
        assert 1 <= wait <= 600
    with services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(event=str(AuditEvent.LOGIN_THROTTLED))
    assert event.user_id == user.id and event.ip == "198.51.100.7"
    assert event.details["retry_after"] == wait


def test_the_password_grant_answers_429_json(limited, factory, clock, services):
    user = factory.user()
    app = factory.password_client()
    with browser(limited, clock) as http:
        for _ in range(3):
            assert _grant(http, app, user.email, "wrong password").status_code == 400
        r = password_grant(http, app, user)
        assert r.status_code == 429
        assert r.json() == {
            "error": "slow_down",
            "error_description": "Too many attempts; try again later.",
        }
        assert int(r.headers["retry-after"]) >= 1
        assert r.headers["cache-control"] == "no-store"
        assert "refresh_token" not in r.text
    with services.db.unit_of_work() as uow:
        (event,) = uow.audit.query(event=str(AuditEvent.LOGIN_THROTTLED))
    assert event.user_id == user.id and event.client_id == app.client_id
    assert event.details["purpose"] == "password_grant"


def test_page_and_grant_share_the_counters(limited, factory, clock):
    user = factory.user()
    app = factory.password_client()
    with browser(limited, clock) as http:
        login(http, user.email, "wrong 1")
        _grant(http, app, user.email, "wrong 2")
        login(http, user.email, "wrong 3")
        assert password_grant(http, app, user).status_code == 429


def test_the_account_can_log_in_again_once_the_window_passes(limited, factory, clock):
    user = factory.user()
    with browser(limited, clock) as http:
        for _ in range(3):
            login(http, user.email, "wrong")
        r = login(http, user.email, user.password)
        wait = int(r.headers["retry-after"])
        # Hammering while throttled is refused uncounted: it does not prolong the throttle.
        for _ in range(20):
            assert login(http, user.email, "still guessing").status_code == 429
        clock.advance(wait - 1)
        assert login(http, user.email, user.password).status_code == 429
        clock.advance(1)
        assert login(http, user.email, user.password).status_code == 303


def test_a_burst_straddling_a_clock_boundary_is_still_throttled(limited, factory):
    """The limit holds for any 600 s, not per clock-aligned window: three failures one
    second before a multiple of 600 and a fourth attempt one second later is too many."""
    user = factory.user()
    clock = FakeClock(start=600 * 1_700_000 - 1.0)
    with browser(limited, clock) as http:
        for _ in range(3):
            assert login(http, user.email, "wrong").status_code == 401
        clock.advance(1)
        r = login(http, user.email, user.password)
        assert r.status_code == 429 and r.headers["retry-after"] == "599"


def test_one_account_sprayed_from_many_addresses(limited, factory, clock):
    victim, bystander = factory.user(), factory.user()
    with OneServer(limited, clock) as server:
        for i in range(3):
            http = server.browser(f"203.0.113.{i + 1}")
            assert login(http, victim.email, f"guess {i}").status_code == 401
        http = server.browser("203.0.113.99")
        assert login(http, victim.email, victim.password).status_code == 429
        # Other accounts from that address are unaffected.
        assert login(http, bystander.email, bystander.password).status_code == 303


def test_one_address_spraying_many_accounts(limited, factory, clock):
    users = [factory.user() for _ in range(6)]
    with OneServer(limited, clock) as server:
        http = server.browser("2001:db8:1:2::10")
        for user in users[:5]:
            assert login(http, user.email, "Password1!").status_code == 401
        assert login(http, users[5].email, users[5].password).status_code == 429
        # Another address of the same IPv6 /64 is the same subscriber.
        http = server.browser("2001:db8:1:2::99")
        assert login(http, users[5].email, users[5].password).status_code == 429
        http = server.browser("2001:db8:1:3::10")
        assert login(http, users[5].email, users[5].password).status_code == 303


def test_unknown_addresses_are_throttled_like_known_ones(limited, factory, clock):
    user = factory.user()
    answers = {}
    for address in (user.email, "nobody@example.com"):
        with browser(limited, clock, ip=f"192.0.2.{len(answers) + 1}") as http:
            codes = [login(http, address, "wrong").status_code for _ in range(4)]
            answers[address] = codes
    assert answers[user.email] == answers["nobody@example.com"] == [401, 401, 401, 429]


def test_a_success_forgives_the_accounts_failures(limited, factory, clock):
    user = factory.user()
    with browser(limited, clock) as http:
        login(http, user.email, "typo 1")
        login(http, user.email, "typo 2")
        assert login(http, user.email, user.password).status_code == 303
        login(http, user.email, "typo 3")
        login(http, user.email, "typo 4")
        assert login(http, user.email, user.password).status_code == 303


def test_same_work_for_unknown_email_wrong_password_and_throttled(
    limited, factory, clock, monkeypatch
):
    """No timing assertion: count the password-hash computations instead."""
    user = factory.user()
    calls = []
    verify = argon2.PasswordHasher.verify

    def counting_verify(self, *args, **kwargs):
        calls.append(1)
        return verify(self, *args, **kwargs)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", counting_verify)
    with browser(limited, clock) as http:
        work = {}
        for label, address in (("known", user.email), ("unknown", "ghost@example.com")):
            calls.clear()
            assert login(http, address, "wrong password").status_code == 401
            work[label] = len(calls)
        assert work == {"known": 1, "unknown": 1}
        for _ in range(2):
            login(http, user.email, "wrong")
            login(http, "ghost@example.com", "wrong")
        calls.clear()
        assert login(http, user.email, user.password).status_code == 429
        assert login(http, "ghost@example.com", "x").status_code == 429
        assert calls == []  # a throttled attempt checks no password at all


def test_over_long_input_counts_and_never_errors(limited, factory, clock):
    user = factory.user()
    with browser(limited, clock) as http:
        for _ in range(3):
            assert login(http, user.email, "p" * 5000).status_code == 401
        assert login(http, user.email, user.password).status_code == 429
        assert login(http, "e" * 5000 + "@example.com", "x").status_code in (401, 429)


def test_a_completed_reset_lifts_the_account_throttle(limited, factory, clock):
    user = factory.user()
    with browser(limited, clock) as http:
        for _ in range(3):
            login(http, user.email, "attacker guess")
        assert login(http, user.email, user.password).status_code == 429
        submit(http, "/password/forgot", email=user.email)
        link = reset_link(outbox(limited)[0])
        http.get(link.removeprefix(limited.issuer))
        offer = http.get("/password/reset")
        http.post("/password/reset/accept", data={"csrf_token": csrf(offer.text)})
        form = http.get("/password/reset")
        done = http.post(
            "/password/reset",
            data={"csrf_token": csrf(form.text), "password": NEW, "password_confirm": NEW},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert login(http, user.email, NEW).status_code == 303


def test_bad_reset_links_do_not_use_up_the_addresss_logins(limited, factory, clock):
    """A cross-site page can make a visitor's browser load /password/reset in a loop:
    that must not throttle their logins (link checks count on a counter of their own)."""
    user = factory.user()
    with browser(limited, clock) as http:
        for _ in range(10):
            assert http.get("/password/reset").status_code == 400  # no link at all
        for _ in range(5):  # well-formed links that do not exist: counted, as links
            http.get("/password/reset?token=" + "A" * 43)
            assert http.get("/password/reset").status_code == 400
        assert http.get("/password/reset").status_code == 400
        http.get("/password/reset?token=" + "B" * 43)
        assert http.get("/password/reset").status_code == 429
        assert login(http, user.email, user.password).status_code == 303


def test_strangers_cannot_lock_the_owners_own_browser_out(limited, factory, clock):
    """Keeping an account at its limit, window after window, throttles new browsers
    only: the browser the owner logged in with before carries a device cookie and is
    counted on its own."""
    user = factory.user()
    with OneServer(limited, clock) as server:
        owner = server.browser("192.0.2.10")
        assert login(owner, user.email, user.password).status_code == 303
        assert owner.cookies.get("device")
        attacker = server.browser("203.0.113.9")
        for _ in range(3):
            assert login(attacker, user.email, "guess").status_code == 401
        assert login(attacker, user.email, user.password).status_code == 429
        assert login(server.browser("192.0.2.11"), user.email, user.password).status_code == 429
        assert login(owner, user.email, user.password).status_code == 303
        # A device cookie proves one account only, and cannot be forged.
        other = factory.user()
        for _ in range(3):
            assert login(server.browser("203.0.113.77"), other.email, "guess").status_code == 401
        assert login(owner, other.email, other.password).status_code == 429
        attacker.cookies.set("device", owner.cookies.get("device"))
        assert login(attacker, other.email, other.password).status_code == 429
        for _ in range(3):  # the owner's success forgave the failures: lock it again
            assert login(server.browser("203.0.113.78"), user.email, "guess").status_code == 401
        forged = server.browser("192.0.2.12")
        forged.cookies.set("device", "x" * 22 + "." + "0" * 64)
        assert login(forged, user.email, user.password).status_code == 429

"""Driving second factors over HTTP: enrol an authenticator app on the account page and
answer the second-factor page with codes computed by pyotp, as a phone would."""

from __future__ import annotations

import html
import re
from typing import Any

import pyotp

from tests.accounts_helpers import csrf, login, submit

SECOND_FACTOR = "/login/second-factor"


def key_of(setup_page: str) -> str:
    match = re.search(r'<code class="totp-key">([A-Z2-7 ]+)</code>', setup_page)
    assert match, setup_page
    return match.group(1).replace(" ", "")


def codes_of(page: str) -> list[str]:
    return [html.unescape(c) for c in re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page)]


def code_at(key: str, t: float) -> str:
    return pyotp.TOTP(key).at(t)


def enrol_totp(http: Any, now: float) -> tuple[str, list[str]]:
    """On a signed-in browser: set up an authenticator app; its key and the recovery
    codes shown once."""
    r = submit(http, "/account", "/account/mfa/totp")
    assert r.status_code == 303 and r.headers["location"] == "/account/mfa/totp", r.text
    page = http.get("/account/mfa/totp")
    assert page.status_code == 200
    key = key_of(page.text)
    r = http.post(
        "/account/mfa/totp/confirm",
        data={"csrf_token": csrf(page.text), "code": code_at(key, now)},
        follow_redirects=False,
    )
    assert r.status_code == 200, r.text
    codes = codes_of(r.text)
    assert len(codes) == 10
    return key, codes


def password_step(http: Any, email: str, password: str, next_path: str = "/account") -> Any:
    """Log in with the password; for a user with a second factor that leads to the
    second-factor page, not a session."""
    token = csrf(http.get("/login").text)
    return http.post(
        "/login",
        data={"csrf_token": token, "email": email, "password": password, "next": next_path},
        follow_redirects=False,
    )


def answer(http: Any, code: str, kind: str = "totp", next_path: str = "/account") -> Any:
    page = http.get(SECOND_FACTOR + "?next=" + next_path)
    token = csrf(page.text) if page.status_code == 200 else csrf(http.get("/login").text)
    return http.post(
        SECOND_FACTOR,
        data={"csrf_token": token, "code": code, "kind": kind, "next": next_path},
        follow_redirects=False,
    )


__all__ = ["answer", "code_at", "codes_of", "enrol_totp", "key_of", "login", "password_step"]

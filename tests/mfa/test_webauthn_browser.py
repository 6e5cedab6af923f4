"""Passkeys in Chromium with the DevTools virtual authenticator (CDP WebAuthn domain)
against a real server process: add a passkey on the account page, sign in with it without
a password, use it as the second factor after the password; and the refusals a browser
can produce: an answer from another origin, a replayed answer, a signature counter that
went backwards, another user's credential."""

from __future__ import annotations

import http.server
import json
import os
import threading

import pyotp
import pytest
import sqlalchemy as sa

from tests.conftest import FAST_HASHING
from tests.servers import free_port, running_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "a long enough passphrase"


@pytest.fixture
def server(tmp_path, keys_dir):
    port = free_port()
    db = tmp_path / "auth.db"
    env = {
        "AUTHSERVER_DATABASE_URL": f"sqlite:///{db}",
        "AUTHSERVER_KEYS_DIR": str(keys_dir),
        # WebAuthn needs a host name for its RP ID (not an IP address): localhost.
        "AUTHSERVER_ISSUER": f"http://localhost:{port}",
        **{f"AUTHSERVER_{k.upper()}": str(v) for k, v in FAST_HASHING.items()},
    }
    for key in [k for k in os.environ if k.startswith("AUTHSERVER_")]:
        env.setdefault(key, "")
    with running_server(env, tmp_path, port=port):
        yield f"http://localhost:{port}", f"sqlite:///{db}"


@pytest.fixture
def other_origin():
    """A page on another origin with the same RP ID (localhost, another port)."""

    class Blank(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<!doctype html><title>elsewhere</title>")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _failures(db_url):
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT details FROM audit_events WHERE event = 'mfa.failed'")
        ).fetchall()
    engine.dispose()
    return [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]


def _log_in(page, url, email):
    page.goto(f"{url}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")


def test_passkey_enrol_passwordless_second_factor_and_refusals(chromium, server, other_origin):
    url, db_url = server
    context = chromium.new_context()
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]

    page.goto(f"{url}/register")
    page.fill("#email", "pat@example.com")
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD)
    page.click("button[type=submit]")
    # Sign-up signs the browser in and shows the "check your inbox" page.
    page.wait_for_url(f"{url}/email/verify**")
    page.goto(f"{url}/account")

    # Enrol: named, listed.
    page.fill("#passkey_name", "Test laptop")
    page.click("#passkey-register button[type=submit]")
    page.wait_for_url(f"{url}/account?notice=passkey_added")
    assert "Test laptop" in page.inner_text("#two-step")
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]

    # Passwordless: no password typed; the account page then shows the key's last use.
    context.clear_cookies()
    answers = []
    page.on(
        "request",
        lambda r: answers.append(r.post_data) if r.url.endswith("/login/webauthn") else None,
    )
    page.goto(f"{url}/login")
    page.click("text=Sign in with a passkey")
    page.wait_for_url(f"{url}/account")
    assert "last used" in page.inner_text("#two-step")

    # The same answer again (a replay): its challenge is used up.
    token = page.eval_on_selector("input[name=csrf_token]", "e => e.value")
    replay = json.loads(answers[-1])
    replay["csrf_token"] = token
    again = context.request.post(
        f"{url}/login/webauthn",
        data=json.dumps(replay),
        headers={"Content-Type": "application/json"},
    )
    assert again.status == 400

    # Second factor: the password, then the passkey instead of a code.
    context.clear_cookies()
    _log_in(page, url, "pat@example.com")
    page.wait_for_url(f"{url}/login/second-factor?**")
    page.click("text=Use a passkey or security key")
    page.wait_for_url(f"{url}/account")

    # Another origin with the same RP ID: the browser signs, the server refuses.
    context.clear_cookies()
    page.goto(f"{url}/login")
    token = page.eval_on_selector("input[name=csrf_token]", "e => e.value")
    options = context.request.post(
        f"{url}/login/webauthn/options",
        data=json.dumps({"csrf_token": token}),
        headers={"Content-Type": "application/json"},
    ).json()
    page.goto(other_origin)
    forged = page.evaluate(
        """async (options) => {
            const b = (t) => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')
                + '==='.slice((t.length + 3) % 4)), c => c.charCodeAt(0));
            const s = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)))
                .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
            const pk = options.publicKey;
            pk.challenge = b(pk.challenge);
            const c = await navigator.credentials.get({publicKey: pk});
            return {id: c.id, rawId: s(c.rawId), type: c.type, response: {
                clientDataJSON: s(c.response.clientDataJSON),
                authenticatorData: s(c.response.authenticatorData),
                signature: s(c.response.signature),
                userHandle: c.response.userHandle ? s(c.response.userHandle) : null}};
        }""",
        options,
    )
    refused = context.request.post(
        f"{url}/login/webauthn",
        data=json.dumps({"csrf_token": token, "credential": forged}),
        headers={"Content-Type": "application/json"},
    )
    assert refused.status == 400

    # A counter that goes backwards (a cloned key): the same key put back with count 0.
    cdp.send(
        "WebAuthn.removeCredential",
        {"authenticatorId": authenticator, "credentialId": credential["credentialId"]},
    )
    cdp.send(
        "WebAuthn.addCredential",
        {"authenticatorId": authenticator, "credential": {**credential, "signCount": 0}},
    )
    page.goto(f"{url}/login")
    page.click("text=Sign in with a passkey")
    page.wait_for_selector("[data-webauthn-error]:not([hidden])")
    assert page.url.startswith(f"{url}/login")

    # A credential of another user: Sam (an authenticator app, no passkey) is asked for a
    # second factor, and the authenticator offers Pat's passkey.
    context.clear_cookies()
    page.goto(f"{url}/register")
    page.fill("#email", "sam@example.com")
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD)
    page.click("button[type=submit]")
    # Sign-up signs the browser in and shows the "check your inbox" page.
    page.wait_for_url(f"{url}/email/verify**")
    page.goto(f"{url}/account")
    page.click("text=Set up an authenticator app")
    key = page.inner_text(".totp-key").replace(" ", "")
    page.fill("#code", pyotp.TOTP(key).now())
    page.click("form[action='/account/mfa/totp/confirm'] button[type=submit]")
    page.wait_for_selector(".recovery-codes")
    context.clear_cookies()
    _log_in(page, url, "sam@example.com")
    page.wait_for_url(f"{url}/login/second-factor?**")
    page.click("text=Use a passkey or security key")
    page.wait_for_selector("[data-webauthn-error]:not([hidden])")
    assert "/login/second-factor" in page.url

    reasons = [f.get("reason", "") for f in _failures(db_url)]
    assert "unknown_or_used_challenge" in reasons
    assert any("origin" in r for r in reasons), reasons
    assert "sign_count_not_increasing" in reasons
    assert "unknown_credential" in reasons
    context.close()

"""WebAuthn endpoints refuse bad input over HTTP on both backends: no CSRF token, a body
that is not JSON or not a credential, malformed client data and CBOR, an answer to no
challenge, registration without a session; nothing changes and refusals are audited."""

from __future__ import annotations

import base64
import json

from authserver.storage.models import AuditEvent, WebAuthnCredential
from tests.accounts_helpers import browser, csrf, login

JSON = {"Content-Type": "application/json", "Accept": "application/json"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _post(http, path, body):
    return http.post(path, content=json.dumps(body), headers=JSON)


def test_webauthn_endpoints_refuse_bad_input(settings, services, factory):
    user = factory.user()
    with browser(settings) as http:
        token = csrf(http.get("/login").text)
        # No CSRF token; not JSON; not an object.
        assert _post(http, "/login/webauthn/options", {}).status_code == 403
        r = http.post("/login/webauthn", content=b"{not json", headers=JSON)
        assert r.status_code == 400
        assert _post(http, "/login/webauthn", ["x"]).status_code == 403
        # Passwordless options: a challenge, user verification required, no user named.
        options = _post(http, "/login/webauthn/options", {"csrf_token": token}).json()
        assert options["publicKey"]["userVerification"] == "required"
        assert not options["publicKey"].get("allowCredentials")
        for credential in (
            None,
            {"response": "x"},
            {"id": "a", "rawId": "a", "type": "public-key", "response": {"clientDataJSON": "%%"}},
            {
                "id": "a",
                "rawId": "a",
                "type": "public-key",
                "response": {"clientDataJSON": _b64(b'{"type": "webauthn.get"}')},
            },
            {
                "id": "a",
                "rawId": "a",
                "type": "public-key",
                "response": {
                    "clientDataJSON": _b64(
                        json.dumps(
                            {
                                "type": "webauthn.get",
                                "challenge": options["publicKey"]["challenge"],
                                "origin": settings.issuer,
                            }
                        ).encode()
                    ),
                    "authenticatorData": _b64(b"\xa1\x01"),  # CBOR, not authenticator data
                    "signature": "AA",
                },
            },
        ):
            r = _post(http, "/login/webauthn", {"csrf_token": token, "credential": credential})
            assert r.status_code == 400, r.text
            assert "could not be used" in r.json()["message"]
            assert "session=" not in r.headers.get("set-cookie", "")
        # Registration needs a signed-in user.
        r = _post(http, "/account/mfa/webauthn/options", {"csrf_token": token})
        assert r.status_code == 401
        login(http, user.email, user.password)
        token = csrf(http.get("/account").text)
        reg = _post(http, "/account/mfa/webauthn/options", {"csrf_token": token}).json()
        assert reg["publicKey"]["authenticatorSelection"]["residentKey"] == "required"
        assert reg["publicKey"]["rp"]["id"] == "localhost"
        bad = _post(
            http,
            "/account/mfa/webauthn",
            {"csrf_token": token, "name": "x", "credential": {"response": {"clientDataJSON": ""}}},
        )
        assert bad.status_code == 400
    with services.db.unit_of_work() as uow:
        assert uow.session.query(WebAuthnCredential).count() == 0
        reasons = [
            e.details.get("reason")
            for e in uow.session.query(AuditEvent).filter_by(event="mfa.failed")
        ]
    assert "malformed_credential" in reasons and "malformed_client_data" in reasons
    assert "malformed_assertion" in reasons or "unknown_credential" in reasons, reasons

"""JWKS, metadata documents, /healthz and /readyz."""

from __future__ import annotations

import time

import jwt as pyjwt

from authserver.keys import admin as key_admin
from authserver.services import folder_key_store
from tests.helpers import password_grant


def test_jwks_publishes_public_keys_with_cache_headers(client, services):
    r = client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "public, max-age=300"
    keys = r.json()["keys"]
    assert [k["kid"] for k in keys] == [services.keys.snapshot().signing_kid]
    assert {"kty": "RSA", "alg": "RS256", "use": "sig"}.items() <= keys[0].items()
    assert not {"d", "p", "q", "dp", "dq", "qi"} & keys[0].keys()


def test_jwks_etag_revalidation(client):
    first = client.get("/.well-known/jwks.json")
    again = client.get("/.well-known/jwks.json", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    stale = client.get("/.well-known/jwks.json", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200


def test_tokens_verify_against_the_served_jwks(client, factory):
    app = factory.password_client()
    token = password_grant(client, app, factory.user()).json()["access_token"]
    jwks = pyjwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    kid = pyjwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims = pyjwt.decode(
        token,
        key.key,
        algorithms=["RS256"],
        audience="http://localhost:8000",
        issuer="http://localhost:8000",
    )
    assert claims["client_id"] == app.client_id


def test_a_rotated_in_key_is_published_before_it_signs(client, settings, services):
    before = client.get("/.well-known/jwks.json")
    new = key_admin.rotate(
        folder_key_store(settings), services.clock.now(), settings.key_publish_ahead, 2048
    )
    time.sleep(1.1)  # the running server looks at the key folder at most once a second
    after = client.get("/.well-known/jwks.json")
    kids = [k["kid"] for k in after.json()["keys"]]
    assert new.kid in kids and len(kids) == 2
    assert after.headers["etag"] != before.headers["etag"]
    # ...but the old key still signs until the new one's time comes.
    assert services.keys.snapshot().signing_kid != new.kid


def test_metadata_advertises_what_is_implemented(client):
    oidc = client.get("/.well-known/openid-configuration").json()
    oauth = client.get("/.well-known/oauth-authorization-server").json()
    for doc in (oidc, oauth):
        assert doc["issuer"] == "http://localhost:8000"
        assert doc["token_endpoint"] == "http://localhost:8000/token"
        assert doc["jwks_uri"] == "http://localhost:8000/.well-known/jwks.json"
        assert doc["revocation_endpoint"] == "http://localhost:8000/revoke"
        assert doc["introspection_endpoint"] == "http://localhost:8000/introspect"
        assert set(doc["token_endpoint_auth_methods_supported"]) == {
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        }
        assert "plain" not in doc.get("code_challenge_methods_supported", [])
    assert oidc["id_token_signing_alg_values_supported"] == ["RS256"]
    # Every advertised endpoint answers (none 404s).
    for key in (
        "token_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "registration_endpoint",
    ):
        assert client.post(oidc[key].removeprefix("http://localhost:8000")).status_code != 404


def test_healthz_and_readyz(client, backend):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    checks = ready.json()["checks"]
    assert checks["database"] and checks["signing_key"]
    assert ("redis" in checks) == (backend.name == "postgres")


def test_readyz_is_503_when_redis_is_unreachable(make_settings, backend):
    if backend.name != "postgres":
        return
    import logging

    from starlette.testclient import TestClient

    from authserver.app import create_app
    from authserver.observability import request_id

    ids_logged: list[str | None] = []

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("unhandled error"):
                ids_logged.append(request_id.get())  # what the JSON log line carries

    broken = make_settings(redis_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(broken), base_url=broken.issuer) as http:
        r = http.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["redis"] is False


def test_security_headers_on_every_response(client):
    for r in (client.get("/healthz"), client.post("/token", data={})):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_an_unhandled_error_is_a_500_with_the_security_headers_and_a_request_id(make_settings):
    """Starlette answers an unhandled error from its outermost layer: the 500 still
    carries the security headers and the request id, and the error's log line names it."""
    import logging

    from starlette.testclient import TestClient

    from authserver.app import create_app
    from authserver.observability import request_id

    ids_logged: list[str | None] = []

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("unhandled error"):
                ids_logged.append(request_id.get())  # what the JSON log line carries

    class Broken:
        @property
        def openid(self) -> bytes:
            raise RuntimeError("a bug")

    settings = make_settings()
    seen = Seen()
    logging.getLogger("authserver.errors").addHandler(seen)
    try:
        with TestClient(
            create_app(settings), base_url=settings.issuer, raise_server_exceptions=False
        ) as http:
            http.app_state["discovery"] = Broken()
            r = http.get(
                "/.well-known/openid-configuration", headers={"x-request-id": "request-42"}
            )
    finally:
        logging.getLogger("authserver.errors").removeHandler(seen)
    assert r.status_code == 500 and r.json()["error"] == "server_error"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-request-id"] == "request-42"
    assert ids_logged == ["request-42"]

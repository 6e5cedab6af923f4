"""Per-client CORS on /token and /revoke (browser apps)."""

from __future__ import annotations

SPA = "https://spa.example.com"


def test_preflight_only_for_registered_origins(client, factory):
    factory.password_client(public=True, allowed_cors_origins=[SPA])
    ok = client.options("/token", headers={"Origin": SPA, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SPA
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "Authorization" in ok.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in ok.headers
    evil = client.options(
        "/token",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert evil.status_code == 204 and "access-control-allow-origin" not in evil.headers


def test_token_response_readable_only_by_the_clients_own_origins(client, factory):
    app = factory.password_client(public=True, allowed_cors_origins=[SPA])
    other = factory.password_client(public=True, allowed_cors_origins=["https://other.example"])
    user = factory.user()
    data = {"grant_type": "password", "username": user.email, "password": user.password}
    mine = client.post("/token", data={**data, "client_id": app.client_id}, headers={"Origin": SPA})
    assert mine.status_code == 200 and mine.headers["access-control-allow-origin"] == SPA
    assert "Origin" in mine.headers["vary"]
    # Another client's registered origin is no use to this client.
    theirs = client.post(
        "/token", data={**data, "client_id": other.client_id}, headers={"Origin": SPA}
    )
    assert theirs.status_code == 200 and "access-control-allow-origin" not in theirs.headers


def test_revoke_carries_cors_for_the_client(client, factory):
    app = factory.password_client(public=True, allowed_cors_origins=[SPA])
    user = factory.user()
    rt = client.post(
        "/token",
        data={
            "grant_type": "password",
            "username": user.email,
            "password": user.password,
            "client_id": app.client_id,
        },
    ).json()["refresh_token"]
    r = client.post(
        "/revoke", data={"token": rt, "client_id": app.client_id}, headers={"Origin": SPA}
    )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == SPA


def test_origins_are_validated_at_registration(factory):
    import pytest

    from authserver.errors import InvalidInput

    with pytest.raises(InvalidInput):
        factory.password_client(allowed_cors_origins=["http://evil.example"])
    with pytest.raises(InvalidInput):
        factory.password_client(allowed_cors_origins=["https://spa.example.com/path"])

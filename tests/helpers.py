"""Small HTTP helpers shared by the protocol tests."""

from __future__ import annotations

from typing import Any

import jwt

from tests.factories import CreatedUser, RegisteredClient


def password_grant(http: Any, app: RegisteredClient, user: CreatedUser, **extra: str) -> Any:
    data = {"grant_type": "password", "username": user.email, "password": user.password, **extra}
    if app.client_secret is None:
        return http.post("/token", data={**data, "client_id": app.client_id})
    return http.post("/token", data=data, auth=app.basic_auth)


def refresh_grant(http: Any, app: RegisteredClient, refresh_token: str, **extra: str) -> Any:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    if app.client_secret is None:
        return http.post("/token", data={**data, "client_id": app.client_id})
    return http.post("/token", data=data, auth=app.basic_auth)


def introspect(
    http: Any, resource_server: RegisteredClient, token: str, **extra: str
) -> dict[str, Any]:
    r = http.post("/introspect", data={"token": token, **extra}, auth=resource_server.basic_auth)
    assert r.status_code == 200, r.text
    return r.json()


def revoke(http: Any, app: RegisteredClient, token: str, **extra: str) -> Any:
    data = {"token": token, **extra}
    if app.client_secret is None:
        return http.post("/revoke", data={**data, "client_id": app.client_id})
    return http.post("/revoke", data=data, auth=app.basic_auth)


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})

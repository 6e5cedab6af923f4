"""Server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery 1.0 §3):
built from the settings and the endpoints actually served, and validated at start-up
with Authlib's metadata classes, so discovery never advertises what we do not do."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import rfc8414

from authserver.oauth import client_auth
from authserver.settings import Settings

TOKEN_AUTH_METHODS = list(client_auth.ANY)
ASSERTION_ALGS = ["RS256", "PS256", "ES256"]
GRANT_TYPES = ["client_credentials", "password", "refresh_token"]
STANDARD_SCOPES = ["openid", "profile", "email", "offline_access"]


def authorization_server_metadata(settings: Settings) -> dict[str, Any]:
    base = settings.issuer
    data: dict[str, Any] = {
        "issuer": base,
        "token_endpoint": f"{base}/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "revocation_endpoint": f"{base}/revoke",
        "introspection_endpoint": f"{base}/introspect",
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(TOKEN_AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(client_auth.CONFIDENTIAL),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGS),
        "registration_endpoint": f"{base}/oauth/register",
        "scopes_supported": list(STANDARD_SCOPES),
        "response_types_supported": ["code"],
    }
    rfc8414.AuthorizationServerMetadata(data).validate()
    return data


def openid_configuration(settings: Settings) -> dict[str, Any]:
    data = authorization_server_metadata(settings)
    data.update(
        {
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "email", "role"],
        }
    )
    return data

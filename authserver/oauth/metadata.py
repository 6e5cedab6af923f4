"""Server metadata (RFC 8414) and OpenID Provider metadata (OIDC Discovery 1.0 §3):
built from the settings and the endpoints actually served, and validated at start-up
with Authlib's metadata classes, so discovery never advertises what we do not do."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import rfc8414, rfc9207
from authlib.oidc import rpinitiated
from authlib.oidc.discovery import OpenIDProviderMetadata

from authserver.mfa import policy
from authserver.oauth import claims, client_auth
from authserver.oauth.private_key_jwt import ASSERTION_ALGS
from authserver.settings import Settings

TOKEN_AUTH_METHODS = list(client_auth.ANY)
GRANT_TYPES = ["authorization_code", "refresh_token", "client_credentials", "password"]
STANDARD_SCOPES = ["openid", "profile", "email", "offline_access", "roles"]


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
        "authorization_endpoint": f"{base}/authorize",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        # RFC 7636 / RFC 9700: S256 only, never plain.
        "code_challenge_methods_supported": ["S256"],
        # RFC 9207.
        "authorization_response_iss_parameter_supported": True,
        # RFC 8414 §2 / OIDC Discovery §3: the languages of the hosted pages (ui_locales).
        "ui_locales_supported": list(settings.locale_list),
    }
    rfc8414.AuthorizationServerMetadata(data).validate()
    return data


def openid_configuration(settings: Settings) -> dict[str, Any]:
    data = authorization_server_metadata(settings)
    base = settings.issuer
    data.update(
        {
            "userinfo_endpoint": f"{base}/userinfo",
            "end_session_endpoint": f"{base}/logout",
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "at_hash",
                "azp",
                "sid",
                *claims.SUPPORTED_CLAIMS[1:],
            ],
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "acr_values_supported": list(policy.ACR_VALUES),
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "require_request_uri_registration": False,
        }
    )
    OpenIDProviderMetadata(data).validate(
        metadata_classes=[rpinitiated.OpenIDProviderMetadata, rfc9207.AuthorizationServerMetadata]
    )
    return data

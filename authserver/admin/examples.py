"""Request and response examples for the admin API's OpenAPI description. Each is
validated against its model by the tests, so the documentation cannot show a body the API
would refuse or never send."""

from __future__ import annotations

from typing import Any

from authserver.admin import schemas as s

WHEN = "2026-01-15T09:30:00Z"
USER_ID = "6f1c2a4e-8d0b-4c1e-9a57-3b2d1f0e7c90"
CLIENT = {
    "client_id": "photo-app",
    "name": "Photo App",
    "token_endpoint_auth_method": "client_secret_basic",
    "grant_types": ["authorization_code", "refresh_token"],
    "response_types": ["code"],
    "scope": "openid profile email offline_access",
    "redirect_uris": ["https://photos.example.com/callback"],
    "post_logout_redirect_uris": ["https://photos.example.com/"],
    "first_party": False,
    "refresh_without_offline_access": False,
    "require_verified_email": False,
    "require_mfa": False,
    "audience": [],
    "allow_introspection": False,
    "allowed_cors_origins": [],
    "client_uri": "https://photos.example.com/",
    "logo_uri": None,
    "policy_uri": None,
    "tos_uri": None,
    "created_at": WHEN,
    "updated_at": WHEN,
}
USER = {
    "id": USER_ID,
    "email": "alice@example.com",
    "name": "Alice",
    "role": "user",
    "roles": ["billing", "user"],
    "email_verified": True,
    "disabled": False,
    "created_at": WHEN,
}
KEY = {
    "kid": "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
    "state": "active",
    "created_at": 1768469400.0,
    "activates_at": 1768469400.0,
    "deactivates_at": None,
    "retired_at": None,
    "unpublished_at": None,
}
EVENT = {
    "id": 4211,
    "at": WHEN,
    "event": "client.created",
    "user_id": None,
    "client_id": "photo-app",
    "ip": "203.0.113.7",
    "user_agent": "curl/8.5.0",
    "details": {"actor": USER_ID, "via": "admin_api"},
}
SCOPE = {
    "scope": "photos:read",
    "texts": {"en": {"title": "See your photos", "description": None}},
    "updated_at": WHEN,
}
PROVIDER_CONFIG = {
    "display_name": "Corp SSO",
    "icon_url": None,
    "enabled": True,
    "domains": ["corp.example"],
    "settings": {
        "issuer": "https://idp.corp.example",
        "client_id": "authserver",
        "scopes": ["openid", "email", "profile"],
        "allowed_tenants": [],
    },
    "policy": {
        "jit": True,
        "jit_domains": ["corp.example"],
        "trust_email_domains": [],
        "asserts_mfa": False,
        "allow_local_password": False,
        "max_session_seconds": 28800,
    },
    "mapping": {
        "groups_claim": "groups",
        "group_roles": {"engineering": ["developer"], "it-admins": ["admin"]},
        "roles_managed": True,
    },
}
PROVIDER = {
    "id": "corp",
    "kind": "oidc",
    **PROVIDER_CONFIG,
    "has_client_secret": True,
    "redirect_uri": "https://login.example.com/federation/corp/callback",
    "created_at": WHEN,
    "updated_at": WHEN,
}

EXAMPLES: dict[Any, dict[str, Any]] = {
    s.ClientCreate: {
        "name": "Photo App",
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email offline_access",
        "redirect_uris": ["https://photos.example.com/callback"],
        "post_logout_redirect_uris": ["https://photos.example.com/"],
        "client_uri": "https://photos.example.com/",
    },
    s.ClientUpdate: {"redirect_uris": ["https://photos.example.com/cb2"], "logo_uri": None},
    s.ClientOut: CLIENT,
    s.ClientCreated: {**CLIENT, "client_secret": "b1Xr2Lz8mKQ0pV7sYcT4eWnJ6hD9fGaU3oE5iR_AqZk"},
    s.SecretOut: {
        "client_id": "photo-app",
        "client_secret": "Zt3_Qw8nL1vX5bR7yK2cM9pH4sJ6dF0gA8eU1oIrTx4",
    },
    s.UserCreate: {
        "email": "alice@example.com",
        "password": "correct horse battery staple",
        "name": "Alice",
        "roles": ["billing"],
    },
    s.UserOut: USER,
    s.UserUpdate: {"roles": ["billing", "admin"]},
    s.PasswordReset: {},
    s.PasswordResetOut: {"user_id": USER_ID, "link_sent": True, "password_set": False},
    s.SessionsEnded: {"ended_sessions": 3},
    s.MfaFactorOut: {
        "kind": "totp",
        "id": "0b6f3d2e-5c1a-4f7e-9d3b-2a1c4e5f6a7b",
        "created_at": WHEN,
        "last_used_at": WHEN,
        "name": None,
    },
    s.MfaOut: {
        "user_id": "7d2c9a4e-1b3f-4e5d-8c6a-9f0e1d2c3b4a",
        "factors": [
            {
                "kind": "totp",
                "id": "0b6f3d2e-5c1a-4f7e-9d3b-2a1c4e5f6a7b",
                "created_at": WHEN,
                "last_used_at": WHEN,
                "name": None,
            }
        ],
        "recovery_codes_left": 9,
    },
    s.MfaReset: {
        "user_id": "7d2c9a4e-1b3f-4e5d-8c6a-9f0e1d2c3b4a",
        "factors_removed": 1,
        "ended_sessions": 2,
    },
    s.RoleCreate: {"name": "billing", "description": "Sees and pays invoices"},
    s.RoleOut: {"name": "billing", "description": "Sees and pays invoices", "built_in": False},
    s.KeyRotate: {"immediately": False},
    s.KeyOut: KEY,
    s.AuditEventOut: EVENT,
    s.ScopeDescriptionIn: {"texts": {"en": {"title": "See your photos"}}},
    s.ScopeDescriptionOut: SCOPE,
    s.ProviderCreate: {
        "id": "corp",
        "kind": "oidc",
        **PROVIDER_CONFIG,
        "client_secret": "upstream-client-secret",
    },
    s.ProviderUpdate: {"enabled": False},
    s.ProviderOut: PROVIDER,
    s.IdentityOut: {
        "id": "0b7e3c1a-52f4-4a8e-9c61-2d0f5e8b7a13",
        "provider_id": "corp",
        "provider_name": "Corp SSO",
        "subject": "00u1a2b3c4D5e6F7g8h9",
        "email": "alice@corp.example",
        "email_verified": True,
        "linked_at": WHEN,
        "last_login_at": WHEN,
    },
    s.Error: {"error": "invalid_request", "error_description": "scope: Field required"},
}


def page(item: Any) -> dict[str, Any]:
    return {"items": [EXAMPLES[item]], "total": 1, "next_before_id": None}


EXAMPLES[s.KeyRotationOut] = {"interval": 7_776_000, "next_at": 1776245400.0}
EXAMPLES[s.KeyPage] = {**page(s.KeyOut), "rotation": EXAMPLES[s.KeyRotationOut]}

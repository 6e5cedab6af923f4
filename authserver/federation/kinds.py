"""The kinds of upstream provider and what each needs: generic OpenID Connect by its
issuer, and presets for Google, Microsoft Entra ID (v2) and GitHub (OAuth 2, not OIDC).
The SAML kind registers here too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from authserver.errors import InvalidInput
from authserver.federation.config import ProviderSettings
from authserver.federation.saml import provider_settings as saml_settings
from authserver.federation.urls import upstream_url_problem

GOOGLE_ISSUER = "https://accounts.google.com"
MICROSOFT_HOST = "https://login.microsoftonline.com"
# Entra ID "multi-tenant" authorities: the token's `iss` names the user's own tenant.
MICROSOFT_MULTI = ("common", "organizations")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
GITHUB_AUTHORIZE = "https://github.com/login/oauth/authorize"
GITHUB_TOKEN = "https://github.com/login/oauth/access_token"
GITHUB_API = "https://api.github.com"


@dataclass(frozen=True)
class KindInfo:
    name: str
    # oidc (ID token), oauth2 (user API), saml
    protocol: str
    default_scopes: tuple[str, ...]
    needs_client_secret: bool
    label: str


KINDS = {
    "oidc": KindInfo("oidc", "oidc", ("openid", "email", "profile"), False, "OpenID Connect"),
    "google": KindInfo("google", "oidc", ("openid", "email", "profile"), True, "Google"),
    "microsoft": KindInfo(
        "microsoft", "oidc", ("openid", "email", "profile"), True, "Microsoft Entra ID"
    ),
    "github": KindInfo("github", "oauth2", ("read:user", "user:email"), True, "GitHub"),
    "saml": KindInfo("saml", "saml", (), False, "SAML 2.0"),
}


def microsoft_issuer(tenant: str) -> str:
    return f"{MICROSOFT_HOST}/{tenant}/v2.0"


def issuer_of(kind: str, settings: ProviderSettings) -> str | None:
    """The issuer discovery starts from (None for GitHub, which has no OIDC)."""
    if kind == "google":
        return GOOGLE_ISSUER
    if kind == "microsoft":
        return microsoft_issuer(settings.tenant or "")
    if kind == "oidc":
        return settings.issuer
    return None


def check(
    kind: str,
    settings: ProviderSettings,
    has_secret: bool,
    allow_private_networks: bool,
    timeout: float = 10.0,
) -> ProviderSettings:
    """The settings completed with the kind's defaults, or ``InvalidInput`` naming what
    is missing or wrong (a SAML metadata_url fetched within ``timeout`` seconds)."""
    info = KINDS.get(kind)
    if info is None:
        raise InvalidInput(f"kind: one of {', '.join(KINDS)}")
    if info.protocol == "saml":
        return saml_settings.check(settings, allow_private_networks, timeout)
    saml_settings.refuse_saml_fields(settings)
    if not settings.client_id:
        raise InvalidInput("settings.client_id is required")
    if info.needs_client_secret and not has_secret:
        raise InvalidInput(f"a {info.label} provider needs a client secret")
    scopes = list(settings.scopes or info.default_scopes)
    if info.protocol == "oidc" and "openid" not in scopes:
        raise InvalidInput("settings.scopes must include openid")
    if kind == "oidc":
        if not settings.issuer:
            raise InvalidInput("settings.issuer is required for an oidc provider")
        problem = upstream_url_problem(settings.issuer, allow_private_networks)
        if problem:
            raise InvalidInput(f"settings.issuer {problem}")
    elif settings.issuer is not None:
        raise InvalidInput(f"settings.issuer is fixed for a {info.label} provider")
    update: dict[str, object] = {"scopes": scopes}
    if kind == "microsoft":
        _check_tenants(settings)
        update["tenant"] = (settings.tenant or "").lower()
        update["allowed_tenants"] = sorted({t.lower() for t in settings.allowed_tenants})
    elif settings.tenant is not None or settings.allowed_tenants:
        raise InvalidInput("settings.tenant and allowed_tenants are for microsoft providers")
    if kind != "google" and settings.hosted_domain is not None:
        raise InvalidInput("settings.hosted_domain is for google providers")
    return settings.model_copy(update=update)


def _check_tenants(settings: ProviderSettings) -> None:
    tenant = (settings.tenant or "").lower()
    allowed = [t.lower() for t in settings.allowed_tenants]
    if tenant in MICROSOFT_MULTI:
        if not allowed:
            raise InvalidInput(
                f"settings.allowed_tenants: name the tenant ids accepted through {tenant!r}"
            )
    elif not GUID.fullmatch(tenant):
        raise InvalidInput(
            "settings.tenant: a tenant id (GUID), or common/organizations with allowed_tenants"
        )
    elif allowed and allowed != [tenant]:
        raise InvalidInput("settings.allowed_tenants is only for common/organizations")
    if not all(GUID.fullmatch(t) for t in allowed):
        raise InvalidInput("settings.allowed_tenants: tenant ids (GUIDs)")

"""What an operator configures for an upstream identity provider: the typed shapes the
admin API, the CLI and the console all validate with (one set of rules)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from authserver.accounts.roles import ROLE_NAME
from authserver.text import displayable, storable

PROVIDER_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
DOMAIN = re.compile(rf"(?=.{{1,253}}$)({LABEL}\.)+[a-z][a-z0-9-]{{0,61}}[a-z0-9]")
SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,200}")  # RFC 6749 §3.3 scope-token
CLAIM_NAME = re.compile(r"[A-Za-z0-9_.:/-]{1,200}")
Kind = Literal["oidc", "google", "microsoft", "github", "saml"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def ascii_domain(value: str) -> str:
    """A domain name as stored and compared: lower case, no trailing dot, non-ASCII
    labels in IDNA form (``bücher.example`` -> ``xn--bcher-kva.example``); ValueError
    (UnicodeError) when it has none."""
    value = value.strip().rstrip(".")
    if not value.isascii():
        value = value.encode("idna").decode("ascii")
    return value.lower()


def _domain(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = ascii_domain(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a domain name") from None
        if not DOMAIN.fullmatch(value):
            raise ValueError(f"{value!r} is not a domain name")
    return value


def _text(value: Any, name: str, max_len: int) -> Any:
    if isinstance(value, str) and (not storable(value) or len(value) > max_len):
        raise ValueError(f"{name}: at most {max_len} characters, no control characters")
    return value


Domain = Annotated[str, Field(max_length=253, examples=["corp.example"])]
Domains = Annotated[list[Domain], Field(max_length=100)]


class Policy(_Model):
    """Who an upstream login may become (DESIGN.md: users, roles, federation)."""

    jit: bool = Field(
        default=False,
        description="Create a user at the first login of an unknown identity (JIT).",
    )
    jit_domains: Domains = Field(
        default_factory=list,
        description="E-mail domains JIT may create users for; empty: any domain.",
    )
    trust_email_domains: Domains = Field(
        default_factory=list,
        description="Domains whose upstream-verified e-mail links an existing local "
        "account without asking it to sign in. Empty (the default): never.",
    )
    asserts_mfa: bool = Field(
        default=False,
        description="The upstream enforces a second factor: its logins count as `mfa`.",
    )
    allow_local_password: bool = Field(
        default=False,
        description="Users created by this provider may set a local password "
        "(forgot password). Off: they sign in only through the provider.",
    )
    max_session_seconds: int | None = Field(
        default=None,
        ge=300,
        le=31_536_000,
        description="Cap on a login session and its refresh tokens from this provider; "
        "then the user goes back upstream. Default: the server's lifetimes.",
    )

    @field_validator("jit_domains", "trust_email_domains", mode="before")
    @classmethod
    def _domains(cls, value: Any) -> Any:
        return [_domain(v) for v in value] if isinstance(value, list) else value


class Mapping(_Model):
    """Group -> role rules. No rule, a missing or overflowing groups claim: the default
    role only; `admin` only by an explicit rule."""

    groups_claim: str = Field(
        default="groups",
        max_length=200,
        description="The claim (OIDC) or attribute (SAML) holding the user's groups.",
    )
    group_roles: dict[Annotated[str, Field(max_length=256)], list[str]] = Field(
        default_factory=dict,
        max_length=500,
        description="Upstream group value -> roles it grants (defined role names).",
        examples=[{"engineering": ["developer"], "it-admins": ["admin"]}],
    )
    roles_managed: bool = Field(
        default=False,
        description="Recompute the user's roles from the groups at every login. Off: the "
        "rules only seed the roles of users the provider creates.",
    )

    @field_validator("groups_claim")
    @classmethod
    def _claim(cls, value: str) -> str:
        if not CLAIM_NAME.fullmatch(value):
            raise ValueError("a claim name: letters, digits and _ . : / -")
        return value

    @field_validator("group_roles")
    @classmethod
    def _rules(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for group, granted in value.items():
            _text(group, "group", 256)
            if not group or len(granted) > 64:
                raise ValueError("a rule maps a non-empty group to at most 64 roles")
            for role in granted:
                if not ROLE_NAME.fullmatch(role):
                    raise ValueError(f"{role!r} is not a role name")
        return value


class ProviderSettings(_Model):
    """Kind-specific settings; which are required depends on the kind
    (``federation.kinds``). Never a secret: those go in ``client_secret``."""

    issuer: str | None = Field(
        default=None,
        max_length=2000,
        description="oidc: the OpenID Provider's issuer (discovery at "
        "`<issuer>/.well-known/openid-configuration`). Fixed for the presets.",
        examples=["https://idp.corp.example"],
    )
    client_id: str | None = Field(default=None, min_length=1, max_length=255)
    scopes: list[Annotated[str, Field(max_length=200)]] | None = Field(
        default=None, max_length=30, description="Default per kind (oidc: openid email profile)."
    )
    tenant: str | None = Field(
        default=None,
        max_length=64,
        description="microsoft: a tenant id (GUID), or `common` / `organizations` with "
        "`allowed_tenants`.",
    )
    allowed_tenants: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=100,
        description="microsoft with `common`/`organizations`: the tenant ids (`tid`) "
        "accepted; the token's `iss` must name the same tenant.",
    )
    hosted_domain: str | None = Field(
        default=None,
        max_length=253,
        description="google: only accounts of this Google Workspace domain (`hd`).",
    )

    # --- saml (``federation.saml.provider_settings`` checks and completes these) -----
    metadata_url: str | None = Field(
        default=None,
        max_length=2000,
        description="saml: the IdP's metadata URL (https); fetched when the provider is "
        "added or updated, filling entity_id, sso_url and signing_certificates.",
        examples=[
            "https://login.microsoftonline.com/<tenant>/federationmetadata/2007-06/"
            "federationmetadata.xml?appid=<app>"
        ],
    )
    metadata_xml: str | None = Field(
        default=None,
        max_length=1_048_576,
        description="saml: the IdP's metadata document itself (an upload). Read when the "
        "provider is added or updated, then dropped: only what it says is kept.",
    )
    entity_id: str | None = Field(
        default=None, max_length=1024, description="saml: the IdP's entity ID (its Issuer)."
    )
    sso_url: str | None = Field(
        default=None,
        max_length=2000,
        description="saml: the IdP's SingleSignOnService URL for the HTTP-Redirect binding.",
    )
    signing_certificates: list[Annotated[str, Field(max_length=16_384)]] = Field(
        default_factory=list,
        max_length=5,
        description="saml: the IdP's signing certificates (base64 DER or PEM); an "
        "assertion signed by any of them is accepted (two during a rollover).",
    )
    preset: Literal["entra", "okta", "onelogin"] | None = Field(
        default=None,
        description="saml: attribute names and subject rule of Microsoft Entra ID, Okta "
        "or OneLogin (the attribute settings below override them).",
    )
    name_id_format: str | None = Field(
        default=None, max_length=200, description="saml: the NameID format to ask for."
    )
    subject: Literal["name_id", "attribute", "entra"] | None = Field(
        default=None,
        description="saml: what identifies the user: the NameID (default), an attribute "
        "(`subject_attribute`), or Entra's tenant + object ID (preset entra).",
    )
    subject_attribute: str | None = Field(default=None, max_length=512)
    email_attribute: str | None = Field(default=None, max_length=512)
    name_attribute: str | None = Field(default=None, max_length=512)
    given_name_attribute: str | None = Field(default=None, max_length=512)
    family_name_attribute: str | None = Field(default=None, max_length=512)
    groups_separator: str | None = Field(
        default=None,
        min_length=1,
        max_length=4,
        description="saml: split each groups value on this (OneLogin: `;`).",
    )
    allow_email_name_id: bool | None = Field(
        default=None,
        description="saml: accept an e-mail-format NameID (`...:nameid-format:emailAddress`) "
        "as the user's permanent subject. Off (default): such a login is refused "
        "(`saml_email_name_id`); an address can be renamed or given to someone else.",
    )

    @field_validator("client_id", "issuer")
    @classmethod
    def _plain(cls, value: str | None) -> str | None:
        return _text(value, "value", 2000)

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not all(SCOPE_TOKEN.fullmatch(v) for v in value):
            raise ValueError("scopes are RFC 6749 scope tokens (no spaces or quotes)")
        return value

    @field_validator("hosted_domain", mode="before")
    @classmethod
    def _hd(cls, value: Any) -> Any:
        return _domain(value)


class ProviderConfig(_Model):
    """Everything about a provider but its id, kind and secret."""

    display_name: str = Field(min_length=1, max_length=100, examples=["Corp SSO"])
    icon_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Shown on its login button: https, or a path below /static/.",
    )
    enabled: bool = True
    domains: Domains = Field(
        default_factory=list,
        description="E-mail domains sent straight to this provider from the login page "
        "(home-realm discovery); a domain belongs to one provider.",
    )
    settings: ProviderSettings = Field(default_factory=ProviderSettings)
    policy: Policy = Field(default_factory=Policy)
    mapping: Mapping = Field(default_factory=Mapping)

    @field_validator("display_name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not displayable(value) or not value.strip():
            raise ValueError("display_name: no control or bidirectional characters")
        return value

    @field_validator("domains", mode="before")
    @classmethod
    def _domains(cls, value: Any) -> Any:
        return [_domain(v) for v in value] if isinstance(value, list) else value

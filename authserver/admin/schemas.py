"""The admin API's request and response bodies; their JSON Schemas feed the OpenAPI
description, so the documentation cannot drift from what is validated."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from authserver.federation.config import Kind, Mapping, Policy, ProviderConfig, ProviderSettings

T = TypeVar("T")
AuthMethod = Literal["client_secret_basic", "client_secret_post", "none"]
GrantType = Literal["authorization_code", "refresh_token", "client_credentials", "password"]


class Strict(BaseModel):
    """Request bodies: unknown fields refused, no type coercion (0 is not false)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Patch(Strict):
    """PATCH bodies: a field sent changes, a field left out stays. ``null`` is neither
    and is refused (so it never reaches a rule that expects a value), except for the
    fields in ``NULLABLE``, where it removes the value."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @staticmethod
    def _schema(schema: dict[str, Any]) -> None:
        # Left out means "unchanged": there is no default value to document.
        for field in schema.get("properties", {}).values():
            field.pop("default", None)

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_schema)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None and k not in cls.NULLABLE)
            if nulls:
                raise ValueError(
                    f"{', '.join(map(str, nulls))}: null is not a value; leave the field out"
                )
        return data


# The type of a PATCH field: optional in Python, never null in JSON (and so in the schema).
Omittable = SkipJsonSchema[None]


class ClientCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    client_id: str | None = Field(default=None, max_length=100)
    token_endpoint_auth_method: AuthMethod = "client_secret_basic"
    grant_types: list[GrantType] = Field(min_length=1)
    scope: str = Field(min_length=1, max_length=2000)
    redirect_uris: list[str] = Field(default_factory=list, max_length=50)
    post_logout_redirect_uris: list[str] = Field(default_factory=list, max_length=50)
    first_party: bool = False
    refresh_without_offline_access: bool = False
    require_verified_email: bool = Field(
        default=False,
        description="Users must have verified their e-mail address before this client "
        "gets a code or token for them.",
    )
    # Its users must pass a second factor (and set one up first if they have none).
    require_mfa: bool = False
    audience: list[str] = Field(default_factory=list, max_length=20)
    allow_introspection: bool = Field(
        default=False,
        description="A resource server that may introspect any access token; without it, "
        "only tokens issued to this client or whose `aud` names it (RFC 7662 §4).",
    )
    allowed_cors_origins: list[str] = Field(default_factory=list, max_length=50)
    # Shown on the login and consent pages (https URLs, RFC 7591 §2).
    client_uri: str | None = Field(default=None, max_length=2000)
    logo_uri: str | None = Field(default=None, max_length=2000)
    policy_uri: str | None = Field(default=None, max_length=2000)
    tos_uri: str | None = Field(default=None, max_length=2000)


class ClientUpdate(Patch):
    """Every field optional: only those sent change."""

    name: Annotated[str, Field(min_length=1, max_length=200)] | Omittable = None
    grant_types: Annotated[list[GrantType], Field(min_length=1)] | Omittable = None
    scope: Annotated[str, Field(min_length=1, max_length=2000)] | Omittable = None
    redirect_uris: Annotated[list[str], Field(max_length=50)] | Omittable = None
    post_logout_redirect_uris: Annotated[list[str], Field(max_length=50)] | Omittable = None
    first_party: bool | Omittable = None
    refresh_without_offline_access: bool | Omittable = None
    require_verified_email: bool | Omittable = None
    require_mfa: bool | Omittable = None
    audience: Annotated[list[str], Field(max_length=20)] | Omittable = None
    allow_introspection: bool | Omittable = None
    allowed_cors_origins: Annotated[list[str], Field(max_length=50)] | Omittable = None
    # Display URIs of the app (https); null removes one.
    client_uri: str | None = Field(default=None, max_length=2000, description="null removes it")
    logo_uri: str | None = Field(default=None, max_length=2000)
    policy_uri: str | None = Field(default=None, max_length=2000)
    tos_uri: str | None = Field(default=None, max_length=2000)

    NULLABLE: ClassVar[frozenset[str]] = frozenset(
        {"client_uri", "logo_uri", "policy_uri", "tos_uri"}
    )


class ClientOut(BaseModel):
    client_id: str
    name: str
    token_endpoint_auth_method: str
    grant_types: list[str]
    response_types: list[str]
    scope: str
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    first_party: bool
    refresh_without_offline_access: bool
    require_verified_email: bool = False
    require_mfa: bool
    audience: list[str]
    allow_introspection: bool
    allowed_cors_origins: list[str]
    client_uri: str | None = None
    logo_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    created_at: datetime
    updated_at: datetime


class ClientCreated(ClientOut):
    client_secret: str | None = Field(description="Shown once; stored only as a hash.")


class SecretOut(BaseModel):
    client_id: str
    client_secret: str


class UserOut(BaseModel):
    id: str
    email: str
    name: str | None
    role: str = Field(description="`admin` if the user holds it, else `user` (the `role` claim).")
    roles: list[str]
    email_verified: bool
    disabled: bool
    created_at: datetime


class UserCreate(Strict):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(
        min_length=1, max_length=1024, description="Checked against the password policy."
    )
    name: str | None = Field(default=None, max_length=200)
    roles: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=64, description="Defined roles (`user` is always held)."
    )
    email_verified: bool = Field(
        default=True, description="Whether the administrator vouches for the address."
    )


class PasswordReset(Strict):
    """Either a new password, or (empty body) a reset link e-mailed to the user."""

    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Set this password (policy applies). Without it, the user is e-mailed a "
        "reset link valid 60 minutes.",
    )


class PasswordResetOut(BaseModel):
    user_id: str
    link_sent: bool = Field(description="A reset link was e-mailed (no password was given).")
    password_set: bool = Field(
        description="The password was replaced: every session and token of the user ended."
    )


class UserUpdate(Patch):
    role: Literal["user", "admin"] | Omittable = Field(
        default=None, description="`admin` adds the admin role, `user` takes it away."
    )
    roles: list[Annotated[str, Field(max_length=64)]] | Omittable = Field(
        default=None,
        max_length=64,
        description="Exactly these defined roles (`user` is always held). A change ends "
        "every session and refresh token of the user.",
    )
    disabled: bool | Omittable = Field(
        default=None, description="Disabling ends every session too."
    )
    email_verified: bool | Omittable = Field(
        default=None,
        description="`true`: the administrator vouches for the address (pending "
        "verification links are voided); `false`: the user must verify it again.",
    )


class RoleOut(BaseModel):
    name: str
    description: str
    built_in: bool


class RoleCreate(Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.:-]*$")
    description: str = Field(default="", max_length=200)


class SessionsEnded(BaseModel):
    ended_sessions: int


class MfaFactorOut(BaseModel):
    kind: Literal["totp", "webauthn"]
    id: str
    created_at: datetime
    last_used_at: datetime | None
    # A passkey's or security key's name (null for the authenticator app).
    name: str | None = None


class MfaOut(BaseModel):
    """A user's second factors (never their secrets)."""

    user_id: str
    factors: list[MfaFactorOut]
    recovery_codes_left: int


class MfaReset(BaseModel):
    user_id: str
    factors_removed: int
    ended_sessions: int


class KeyOut(BaseModel):
    kid: str
    state: str
    created_at: float
    activates_at: float
    deactivates_at: float | None
    retired_at: float | None
    unpublished_at: float | None


class KeyRotationOut(BaseModel):
    interval: int | None = Field(
        description="Seconds between scheduled rotations (AUTHSERVER_KEY_ROTATION_INTERVAL); "
        "null: off."
    )
    next_at: float | None = Field(
        description="When the next scheduled rotation is due (epoch seconds)."
    )


class KeyRotate(Strict):
    immediately: bool = Field(default=False, description="Sign with the new key at once.")


class AuditEventOut(BaseModel):
    id: int
    at: datetime
    event: str
    user_id: str | None
    client_id: str | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]


class ScopeText(Strict):
    title: str = Field(min_length=1, max_length=120, examples=["See your photos"])
    description: str | None = Field(default=None, max_length=600)


class ScopeDescriptionIn(Strict):
    """Plain text per language tag; replaces every language the scope had."""

    texts: dict[str, ScopeText] = Field(
        min_length=1,
        max_length=50,
        examples=[{"en": {"title": "See your photos"}, "de": {"title": "Ihre Fotos sehen"}}],
    )


class ScopeDescriptionOut(BaseModel):
    scope: str
    texts: dict[str, ScopeText]
    updated_at: datetime


class ProviderCreate(ProviderConfig):
    """An upstream identity provider; `settings` required per `kind` (see the README)."""

    id: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[a-z0-9][a-z0-9-]*$",
        description="Slug in the callback URL `/federation/<id>/callback`.",
    )
    kind: Kind
    client_secret: str | None = Field(
        default=None,
        min_length=1,
        max_length=2000,
        description="The upstream client secret: stored encrypted, never returned.",
    )


class ProviderUpdate(Patch):
    """Only the fields sent change; `settings`, `policy` and `mapping` are replaced whole."""

    display_name: Annotated[str, Field(min_length=1, max_length=100)] | Omittable = None
    icon_url: str | None = Field(default=None, max_length=2000, description="null removes it")
    enabled: bool | Omittable = Field(
        default=None, description="Disabling ends the sessions of its logins."
    )
    domains: Annotated[list[str], Field(max_length=100)] | Omittable = None
    settings: ProviderSettings | Omittable = None
    policy: Policy | Omittable = None
    mapping: Mapping | Omittable = None
    client_secret: str | None = Field(
        default=None, min_length=1, max_length=2000, description="null removes it"
    )
    unlink_identities: bool | Omittable = Field(
        default=None,
        description="Needed (true) to change the issuer, client id, tenant or entity ID "
        "of a provider with linked identities: they are unlinked and their sessions end. "
        "Without it such a change is refused (409).",
    )

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"icon_url", "client_secret"})


class ProviderOut(BaseModel):
    id: str
    kind: str
    display_name: str
    icon_url: str | None
    enabled: bool
    domains: list[str]
    settings: ProviderSettings
    policy: Policy
    mapping: Mapping
    has_client_secret: bool = Field(description="A client secret is stored (never shown).")
    redirect_uri: str = Field(
        description="Register this at the upstream as redirect URI (saml: the ACS URL)."
    )
    sp_metadata_url: str | None = Field(
        default=None,
        description="saml: our SP metadata URL, also our entity ID: give it to the IdP.",
    )
    created_at: datetime
    updated_at: datetime


class IdentityOut(BaseModel):
    id: str
    provider_id: str
    provider_name: str
    subject: str = Field(description="The user's identifier at the provider.")
    email: str | None = Field(description="The e-mail the provider sent at the last login.")
    email_verified: bool
    linked_at: datetime
    last_login_at: datetime


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int | None = None
    next_before_id: int | None = None


class KeyPage(Page[KeyOut]):
    rotation: KeyRotationOut


class Error(BaseModel):
    error: str
    error_description: str | None = None

"""SQLAlchemy 2 models: the whole schema. Secrets are stored as hashes (``*_hash``
columns hold SHA-256 hex digests, passwords argon2id / bcrypt strings), or envelope-encrypted
where the server must read them back (``keys.envelope``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from authserver.storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(36)
HASH = String(64)
CLIENT_ID = String(100)
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    # As the user typed it, after email-validator normalisation (shown back to them).
    email: Mapped[str] = mapped_column(String(320))
    # ``email_keys.email_key``: lower-cased local part, IDNA ASCII domain; unique, so a
    # second account differing only in case is a duplicate.
    email_key: Mapped[str] = mapped_column(String(320), unique=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Names of defined roles (``roles`` table), sorted; `user` at least. The seed's single
    # `role` claim is derived from it (``accounts.roles.primary_role``).
    roles: Mapped[list[str]]
    disabled_at: Mapped[datetime | None]
    # Access tokens with `iat` before this (epoch seconds) are no longer valid.
    tokens_valid_after: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Role(Base):
    """A role name an administrator defined (`user` and `admin` always exist)."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class Client(Base):
    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(CLIENT_ID, primary_key=True)
    secret_hash: Mapped[str | None] = mapped_column(HASH)
    name: Mapped[str] = mapped_column(String(200))
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(40))
    grant_types: Mapped[list[str]]
    response_types: Mapped[list[str]]
    redirect_uris: Mapped[list[str]]
    post_logout_redirect_uris: Mapped[list[str]]
    # Space-separated scopes this client may obtain.
    scope: Mapped[str] = mapped_column(Text)
    # First-party clients skip the consent page.
    first_party: Mapped[bool] = mapped_column(Boolean, default=False)
    # Users must have verified their e-mail address before this client gets a code.
    require_verified_email: Mapped[bool] = mapped_column(Boolean, default=False)
    # Issue refresh tokens to this client even without `offline_access`.
    refresh_without_offline_access: Mapped[bool] = mapped_column(Boolean, default=False)
    # Its users must pass a second factor (and set one up first if they have none).
    require_mfa: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    allowed_cors_origins: Mapped[list[str]]
    # `aud` of this client's access tokens; the server default when empty.
    audience: Mapped[list[str]]
    # A resource server that may introspect any access token (RFC 7662 §4); without it a
    # client introspects only tokens issued to it or whose `aud` names it.
    allow_introspection: Mapped[bool] = mapped_column(Boolean, default=False)
    # private_key_jwt: the client's public keys, inline or by URL (RFC 7591 §2).
    jwks: Mapped[dict[str, Any] | None]
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    # Other RFC 7591 metadata (client_uri, logo_uri, contacts, ...), kept as registered.
    extra_metadata: Mapped[dict[str, Any]]
    registration_access_token_hash: Mapped[str | None] = mapped_column(HASH)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class LoginSession(Base):
    """One browser login. The cookie carries a random secret; only its hash is here."""

    __tablename__ = "login_sessions"

    # Public identifier: the `sid` claim of ID tokens.
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(HASH, unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    auth_time: Mapped[datetime]
    # RFC 8176 method -> when it was last performed here (epoch seconds): `amr`, step-up.
    auth_methods: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    # The upstream identity (``external_identities.id``) this login came through, if
    # federated: unlinking it or disabling its provider ends the session.
    identity_id: Mapped[str | None] = mapped_column(ID, index=True)


class Consent(Base):
    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    scope: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ScopeDescription(Base):
    """What the consent page says a scope lets an app do, per language:
    ``{"en": {"title": "...", "description": "..."}, "de": {...}}`` (plain text)."""

    __tablename__ = "scope_descriptions"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    texts: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class AuthorizationCode(Base):
    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    login_session_id: Mapped[str | None] = mapped_column(ID)
    redirect_uri: Mapped[str | None] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[datetime]
    # The login session's `amr` when the code was issued (ID and access tokens carry it).
    amr: Mapped[list[str] | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The token family the (first) exchange created: revoked if the code is replayed.
    family_id: Mapped[str | None] = mapped_column(ID)


class TokenFamily(Base):
    """One grant of one user to one client: every access and refresh token it led to."""

    __tablename__ = "token_families"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    login_session_id: Mapped[str | None] = mapped_column(ID, index=True)
    scope: Mapped[str] = mapped_column(Text)
    auth_time: Mapped[datetime]
    # `amr` of the login that started the family: refreshed tokens keep it.
    amr: Mapped[list[str] | None]
    created_at: Mapped[datetime]
    # Absolute: no refresh extends it.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    token_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    family_id: Mapped[str] = mapped_column(
        ForeignKey("token_families.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    # Set exactly once, by the atomic claim that rotates it.
    used_at: Mapped[datetime | None]


class AccessTokenRecord(Base):
    """The `jti` of each user access token, so a family or user revocation can deny them."""

    __tablename__ = "access_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str | None] = mapped_column(
        ForeignKey("token_families.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(ID, index=True)
    client_id: Mapped[str] = mapped_column(CLIENT_ID)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DeniedToken(Base):
    """The `jti` deny list of the embedded mode (Redis holds it in production)."""

    __tablename__ = "denied_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PasswordResetToken(Base):
    __tablename__ = "password_reset_tokens"

    token_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The pending authorization request (a local ``/authorize?...`` path) the reset was
    # started from: where the browser goes once the new password is set.
    return_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class EmailVerificationToken(Base):
    """A link proving control of ``email`` for ``user_id``: the address the user signed
    up with, or the new one of an e-mail change. 256-bit, stored hashed, single use."""

    __tablename__ = "email_verification_tokens"

    token_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    # A change of address (not the first verification): the old address is told.
    change: Mapped[bool] = mapped_column(Boolean, default=False)
    # The pending authorization request to continue once verified (a local path).
    return_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class InitialAccessToken(Base):
    """Bearer tokens that allow dynamic client registration (RFC 7591 §3)."""

    __tablename__ = "initial_access_tokens"

    token_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    # AUTHSERVER_INITIAL_ACCESS_TOKEN_TTL after issue unless the operator chose another.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    # Registrations it may make (None: any number until it expires), and made so far.
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    last_used_at: Mapped[datetime | None]


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_event_at", "event", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(String(64))
    # No foreign keys: the record outlives the user or client it names.
    user_id: Mapped[str | None] = mapped_column(ID, index=True)
    client_id: Mapped[str | None] = mapped_column(CLIENT_ID, index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    details: Mapped[dict[str, Any]]


PROVIDER_ID = String(40)


class IdentityProvider(Base):
    """An upstream identity provider users may sign in with (``authserver.federation``)."""

    __tablename__ = "identity_providers"

    # Slug chosen by the operator; part of the callback URL (/federation/<id>/callback).
    id: Mapped[str] = mapped_column(PROVIDER_ID, primary_key=True)
    # oidc, google, microsoft, github, saml (``federation.kinds``).
    kind: Mapped[str] = mapped_column(String(20))
    display_name: Mapped[str] = mapped_column(String(100))
    icon_url: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Lower-case e-mail domains sent straight to this provider (home-realm discovery).
    domains: Mapped[list[str]]
    # Kind-specific settings (issuer, client id, scopes, tenant, ...); never secrets.
    settings: Mapped[dict[str, Any]]
    # Linking and provisioning rules (``federation.config.Policy``).
    policy: Mapped[dict[str, Any]]
    # Group -> role rules (``federation.config.Mapping``).
    mapping: Mapped[dict[str, Any]]
    # The upstream client secret, sealed by ``keys.envelope`` (never stored in clear).
    client_secret_sealed: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ExternalIdentity(Base):
    """A user's identity at an upstream provider: (provider, subject), never an e-mail."""

    __tablename__ = "external_identities"
    __table_args__ = (UniqueConstraint("provider_id", "subject"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    provider_id: Mapped[str] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # What the upstream said at the last login (shown on the account page and console).
    email: Mapped[str | None] = mapped_column(String(320))
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    claims: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime]


class FederationLogin(Base):
    """A round trip to an upstream in flight: created when the browser is sent upstream,
    consumed once by the callback. The state is stored hashed; nonce and PKCE verifier are
    derived from it with a server key, so nothing secret is stored."""

    __tablename__ = "federation_logins"

    state_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    provider_id: Mapped[str] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True
    )
    # Hash of the browser-binding cookie: a callback from another browser is refused.
    browser_hash: Mapped[str] = mapped_column(HASH)
    # Where the login continues afterwards (a local path such as the pending /authorize).
    return_to: Mapped[str] = mapped_column(Text)
    # A signed-in user linking another identity from the account page, else None.
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
    # The relying party demanded a fresh authentication (OIDC `prompt=login`, a `max_age`
    # the session did not meet; an account change asking to sign in again): we asked the
    # upstream to re-authenticate, and the callback refuses an authentication older than
    # ``created_at`` (when the round trip started). ``federation.fresh``.
    fresh_auth: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A console test login (``federation.dry_run``): the hash of the admin's login
    # session and the admin; the callback never signs anyone in, it stores what would
    # have happened in ``test_result``, shown only to that session. None: a real login.
    test_session_hash: Mapped[str | None] = mapped_column(HASH)
    test_admin_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    test_result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class FederationPendingLink(Base):
    """An upstream identity whose e-mail matches a local account: linked only once the
    person signs in to that account, in the same browser, before it expires."""

    __tablename__ = "federation_pending_links"

    token_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    provider_id: Mapped[str] = mapped_column(
        ForeignKey("identity_providers.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    browser_hash: Mapped[str] = mapped_column(HASH)
    email: Mapped[str | None] = mapped_column(String(320))
    claims: Mapped[dict[str, Any]]
    return_to: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]


class TotpFactor(Base):
    """A user's authenticator app (RFC 6238). The shared secret must be read back to check
    codes, so it is sealed (``keys.envelope``, context binding the row), never hashed."""

    __tablename__ = "totp_factors"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    # One authenticator app per user; re-enrolling replaces it.
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_sealed: Mapped[str] = mapped_column(Text)
    # None until the user typed a first code (enrolment confirmed): until then it is no
    # factor at all.
    confirmed_at: Mapped[datetime | None]
    # The RFC 6238 time step of the last accepted code: a code of that step or an earlier
    # one is refused, so no code works twice (set by one conditional UPDATE).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class RecoveryCode(Base):
    """One single-use recovery code, stored hashed (with the user id, so equal codes of two
    users differ)."""

    __tablename__ = "recovery_codes"

    code_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class PendingSignIn(Base):
    """A browser that passed the first factor and still owes the second: no login session
    exists yet. Its cookie carries a random secret; only the hash is here."""

    __tablename__ = "pending_sign_ins"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    secret_hash: Mapped[str] = mapped_column(HASH, unique=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # RFC 8176 methods of the first factor (``pwd``, ``fed``), added to the session later.
    methods: Mapped[list[str]]
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    # Set once, by the conditional UPDATE that completes the sign-in.
    used_at: Mapped[datetime | None]


class SigningKey(Base):
    """A signing key of the database key store (`AUTHSERVER_KEY_STORE=database`). The
    schedule columns are a ``keys.lifecycle.KeySchedule`` (epoch seconds)."""

    __tablename__ = "signing_keys"

    # RFC 7638 thumbprint of the public key.
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[float] = mapped_column(Double)
    activates_at: Mapped[float] = mapped_column(Double)
    deactivates_at: Mapped[float | None] = mapped_column(Double)
    retired_at: Mapped[float | None] = mapped_column(Double)
    # PKCS#8 DER, envelope-encrypted (``keys.envelope``) with a context naming the kid.
    private_key: Mapped[str] = mapped_column(Text)


class WebAuthnCredential(Base):
    """A passkey or security key (WebAuthn). Only public data: the credential id, the
    attested credential data (AAGUID, id, COSE public key) and the signature counter."""

    __tablename__ = "webauthn_credentials"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # base64url of the raw credential id (WebAuthn §6.1: at most 1023 bytes).
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    # base64url of the attested credential data (fido2 ``AttestedCredentialData``).
    credential_data: Mapped[str] = mapped_column(Text)
    # The authenticator's signature counter: a value that does not grow (when either is
    # non-zero) means a cloned authenticator (WebAuthn §6.1.1), and is refused.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    aaguid: Mapped[str] = mapped_column(String(36))
    transports: Mapped[list[str]]
    # Backup eligible: a synced passkey (RFC 8176 `swk`), else device-bound (`hwk`).
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class WebAuthnChallenge(Base):
    """One WebAuthn ceremony in flight: its challenge (hashed: it is the lookup key), what
    it is for, and the server state to check the answer against. Used once."""

    __tablename__ = "webauthn_challenges"

    challenge_hash: Mapped[str] = mapped_column(HASH, primary_key=True)
    # register | second_factor | passwordless
    purpose: Mapped[str] = mapped_column(String(20))
    # register: the signed-in user; second_factor: the pending sign-in's user.
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    state: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]

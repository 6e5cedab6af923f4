"""Typed settings, read once from ``AUTHSERVER_*`` variables (and an optional ``.env``).

``load_settings(environ)`` is the only place that reads the environment. The result is
frozen and validated as a whole: a setting that is malformed, unsafe for production or
contradicts another stops the start with a message naming the variable.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
from collections.abc import Mapping
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from authserver import resources
from authserver.errors import UnsafeSettings
from authserver.i18n.catalogs import available_locales

PREFIX = "AUTHSERVER_"


def encryption_key_bytes(value: str) -> list[bytes]:
    """The keys of ``AUTHSERVER_ENCRYPTION_KEYS``: each 32 bytes, base64url (padding
    optional). ``ValueError`` names what is wrong, never the key itself."""
    keys = []
    for n, part in enumerate((p.strip() for p in value.split(",")), start=1):
        try:
            raw = base64.b64decode(part + "=" * (-len(part) % 4), altchars=b"-_", validate=True)
        except (ValueError, binascii.Error):
            raise ValueError(f"key {n} is not base64url") from None
        if len(raw) != 32:
            raise ValueError(f"key {n} must be 32 bytes (it is {len(raw)})")
        keys.append(raw)
    return keys


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # Public base URL of this server; the `iss` of every token. https outside loopback.
    # Default: http://localhost:<port>, for a server tried out on one machine.
    issuer: str = ""
    # SQLAlchemy URL. Default: a SQLite file (the embedded, single-process mode).
    database_url: str = "sqlite:///data/authserver.db"
    # redis:// (or rediss://) URL. Unset: deny list in the database, rate limits in memory.
    redis_url: str | None = None
    # Prefix of every Redis key, so several deployments (or test runs) can share a Redis.
    redis_prefix: str = "authserver:"
    # Apply Alembic migrations on start. Default: on for SQLite, off otherwise.
    auto_migrate: bool | None = None
    # Connections per process kept open; never fewer than ``thread_pool_size`` (see
    # ``services.pool_size_for``), and as many again may be opened for bursts.
    db_pool_size: int = Field(default=10, ge=1, le=200)

    # Folder holding <kid>.pem + <kid>.json per signing key.
    keys_dir: Path = Path("keys")
    # RSA modulus bits: 2048, 3072 or 4096.
    key_size: int = 2048
    # Optional passphrase the private PEM files are encrypted with.
    keys_passphrase: str | None = None
    # Seconds a rotated-in key is published before it signs; >= jwks_max_age.
    key_publish_ahead: int = Field(default=600, ge=0)
    # Cache-Control max-age of the JWKS document, seconds.
    jwks_max_age: int = Field(default=300, ge=0, le=86_400)

    # Lifetimes, seconds.
    access_token_ttl: int = Field(default=3600, ge=30, le=86_400)
    id_token_ttl: int = Field(default=3600, ge=30, le=86_400)
    refresh_token_ttl: int = Field(default=30 * 86_400, ge=60)
    auth_code_ttl: int = Field(default=60, ge=5)
    # `aud` of access tokens unless a client names its own audience.
    access_token_audience: str | None = None

    # Login sessions (hosted pages): idle and absolute timeouts, seconds.
    session_idle_ttl: int = Field(default=2 * 3600, ge=60)
    session_absolute_ttl: int = Field(default=7 * 86_400, ge=60)
    # Key for HMACs over cookies (CSRF tokens). Unset: generated once into
    # <keys_dir>/cookie-secret (share that folder between machines, as for the keys).
    secret_key: str | None = Field(default=None, min_length=32)
    # Key-encryption keys for secrets stored encrypted (upstream client secrets, TOTP
    # keys, signing keys kept in the database): comma-separated, each 32 random bytes in
    # base64url (`python -c "import secrets; print(secrets.token_urlsafe(32))"`). The first
    # encrypts; the others still decrypt (key rotation). Unset: derived from the cookie
    # secret above (AUTHSERVER_SECRET_KEY or <keys_dir>/cookie-secret), which also still
    # decrypts once keys are set.
    encryption_keys: str | None = None

    # Dynamic client registration (RFC 7591) at /register, behind initial access tokens
    # (`authserver clients initial-token`), and the scopes such clients may register.
    dynamic_registration_enabled: bool = True
    registration_allowed_scopes: str = "openid profile email offline_access"
    # Let private_key_jwt clients' jwks_uri reach private, loopback, link-local and other
    # non-global addresses (a jwks_uri is fetched by this server: off, it cannot be used
    # to probe the internal network). Only for test rigs and closed networks.
    jwks_uri_allow_private_networks: bool = False

    # argon2id parameters (RFC 9106; OWASP minimum m=19 MiB, t=2).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65_536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    # Self-service sign-up (the /register page and its JSON form).
    registration_enabled: bool = True
    # Password-guessing throttle, for every password check (login page, password grant,
    # change password) and reset-link check. Failures are counted in fixed windows of
    # throttle_window seconds, per account (e-mail) and per client IP (IPv6: per /64);
    # at a limit, attempts get 429 + Retry-After, uncounted, until the window ends: a
    # throttled account can always log in again after the window (no permanent lockout).
    throttle_window: int = Field(default=900, ge=1, le=86_400)
    throttle_account_failures: int = Field(default=10, ge=1)
    throttle_ip_failures: int = Field(default=100, ge=1)
    # Sign-ups and reset requests per client IP per hour; reset e-mails per address per hour.
    throttle_ip_hourly_requests: int = Field(default=20, ge=1)
    throttle_email_hourly_resets: int = Field(default=5, ge=1)

    # Outgoing e-mail (password reset). Without smtp_host, messages are written as .eml
    # files to mail_outbox_dir and their path logged (the embedded default).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65_535)
    # starttls (port 587), tls (implicit TLS, port 465) or none (a local relay only).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: int = Field(default=10, ge=1, le=300)
    mail_from: str = "authserver <no-reply@localhost>"
    mail_outbox_dir: Path = Path("data/outbox")

    # Hosted pages and e-mails. An operator folder whose files replace the shipped
    # templates one by one (same relative names: pages/login.html, email/…, static/…,
    # locale/<lang>/LC_MESSAGES/messages.po); kept outside the installation, so upgrades
    # leave it alone.
    templates_dir: Path | None = None
    # Languages the pages and e-mails speak (space-separated BCP 47 tags, each with a
    # catalog: shipped en, de, fr, or the operator's), and the one used when neither
    # ui_locales nor the browser names a supported one.
    locales: str = "en de fr"
    default_locale: str = "en"
    # Branding of the pages and e-mails: the product name; logo and favicon (https URLs,
    # or /static/… paths served from the operator folder's static/); the primary colour
    # (#rrggbb: buttons and links; the text on it is chosen for contrast); links to the
    # support (https or mailto:), privacy and terms pages, shown in every page's footer.
    brand_name: str = Field(default="authserver", min_length=1, max_length=80)
    brand_logo_url: str | None = None
    brand_favicon_url: str | None = None
    brand_primary_color: str = "#2f5bd3"
    brand_support_url: str | None = None
    brand_privacy_url: str | None = None
    brand_terms_url: str | None = None

    # Largest request body accepted by the protocol endpoints and pages, bytes.
    max_body_bytes: int = Field(default=65_536, ge=1024)
    # Seconds a process may reuse a client registration it read (0: always read it).
    # Changes made elsewhere (CLI, another process) take effect within this time.
    client_cache_ttl: float = Field(default=5.0, ge=0, le=300)
    # Worker threads running the synchronous Authlib / database code.
    # CPU-bound work (signing, hashing) gains nothing from more threads than cores, and
    # loses latency to GIL contention; I/O waits (PostgreSQL, Redis) want a few more.
    thread_pool_size: int = Field(default=16, ge=1, le=1000)

    # `authserver serve` defaults.
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65_535)
    workers: int = Field(default=1, ge=1, le=256)
    # Addresses whose X-Forwarded-* headers are trusted (uvicorn --forwarded-allow-ips).
    forwarded_allow_ips: str = "127.0.0.1"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # json: one JSON object per line (with the request id); text: for a terminal.
    log_format: Literal["json", "text"] = "json"
    # One log line per request.
    access_log: bool = True
    # Serve Prometheus metrics at /metrics (keep it off the public internet).
    metrics_enabled: bool = True

    @field_validator("encryption_keys")
    @classmethod
    def _encryption_keys(cls, value: str | None) -> str | None:
        if value is not None:
            encryption_key_bytes(value)
        return value

    @model_validator(mode="after")
    def _default_issuer(self) -> Settings:
        if not self.issuer:
            object.__setattr__(self, "issuer", f"http://localhost:{self.port}")
        return self

    @property
    def issuer_is_https(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def audience(self) -> str:
        return self.access_token_audience or self.issuer

    @property
    def locale_list(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.locales.split()))

    @property
    def catalog_folders(self) -> tuple[Path, ...]:
        """Translation catalogs, lowest priority first (the operator's win)."""
        operator = (self.templates_dir / "locale",) if self.templates_dir else ()
        return (resources.LOCALE, *operator)

    @property
    def longest_signed_token_ttl(self) -> int:
        """How long a signature made now stays relevant to a verifier."""
        return max(self.access_token_ttl, self.id_token_ttl)


def load_settings(
    environ: Mapping[str, str] | None = None,
    env_file: str | None = ".env",
    overrides: Mapping[str, object] | None = None,
) -> Settings:
    """Read ``AUTHSERVER_*`` from ``environ`` (default: the process environment), over an
    optional ``.env`` file, apply ``overrides`` (command-line options), and return
    validated settings or raise ``UnsafeSettings``."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(environ)
    fields = {
        key[len(PREFIX) :].lower(): value
        for key, value in values.items()
        if key.startswith(PREFIX) and value != ""
    }
    unknown = sorted(k for k in fields if k not in Settings.model_fields)
    if unknown:
        raise UnsafeSettings([f"{PREFIX}{k.upper()}: unknown setting" for k in unknown])
    return build_settings(**{**fields, **(overrides or {})})


def build_settings(**fields: object) -> Settings:
    """Construct and validate settings from field values (used by tests and the CLI)."""
    try:
        settings = Settings.model_validate(fields)
    except ValidationError as exc:
        raise UnsafeSettings(
            [f"{PREFIX}{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()]
        ) from None
    problems = find_problems(settings)
    if problems:
        raise UnsafeSettings(problems)
    return settings


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_problems(s: Settings) -> list[str]:
    """Every unsafe or contradictory combination, each naming its variable."""
    problems: list[str] = []
    url = urlsplit(s.issuer)
    if url.scheme not in ("http", "https") or not url.hostname:
        problems.append(f"{PREFIX}ISSUER: must be an absolute http(s) URL")
    elif url.scheme == "http" and not _is_loopback_host(url.hostname):
        # RFC 8414 §2 / OIDC Discovery §3: the issuer MUST use the https scheme.
        problems.append(f"{PREFIX}ISSUER: must use https outside localhost")
    if url.query or url.fragment:
        problems.append(f"{PREFIX}ISSUER: must not have a query or fragment (RFC 8414 §2)")
    if s.issuer.endswith("/"):
        problems.append(f"{PREFIX}ISSUER: must not end with '/'")
    if not (s.is_sqlite or s.database_url.startswith("postgresql")):
        problems.append(
            f"{PREFIX}DATABASE_URL: only sqlite:/// and postgresql+psycopg:// are supported"
        )
    redis_schemes = (
        "redis://",
        "rediss://",
        "unix://",
        "redis+sentinel://",
        "rediss+sentinel://",
        "redis+cluster://",
        "rediss+cluster://",
    )
    if s.redis_url and not s.redis_url.startswith(redis_schemes):
        problems.append(
            f"{PREFIX}REDIS_URL: a redis://, rediss://, unix://, redis+sentinel:// or "
            "redis+cluster:// URL"
        )
    if s.workers > 1 and s.is_sqlite:
        problems.append(
            f"{PREFIX}WORKERS: the embedded SQLite mode is single-process; "
            f"use PostgreSQL ({PREFIX}DATABASE_URL) for several workers"
        )
    if s.workers > 1 and not s.redis_url:
        problems.append(
            f"{PREFIX}WORKERS: several workers need {PREFIX}REDIS_URL so rate limits are shared"
        )
    if s.key_publish_ahead < s.jwks_max_age:
        problems.append(
            f"{PREFIX}KEY_PUBLISH_AHEAD: must be >= {PREFIX}JWKS_MAX_AGE, or verifiers with a "
            "cached JWKS would meet a kid they cannot find"
        )
    if s.key_size not in (2048, 3072, 4096):
        problems.append(f"{PREFIX}KEY_SIZE: one of 2048, 3072, 4096")
    if s.auth_code_ttl > 60:
        problems.append(
            f"{PREFIX}AUTH_CODE_TTL: at most 60 seconds (single-use, short-lived codes)"
        )
    if s.session_idle_ttl > s.session_absolute_ttl:
        problems.append(f"{PREFIX}SESSION_IDLE_TTL: longer than {PREFIX}SESSION_ABSOLUTE_TTL")
    if s.access_token_ttl > s.refresh_token_ttl:
        problems.append(f"{PREFIX}ACCESS_TOKEN_TTL: longer than {PREFIX}REFRESH_TOKEN_TTL")
    problems += _mail_problems(s)
    problems += _page_problems(s)
    public = bool(url.hostname) and not _is_loopback_host(url.hostname or "")
    if public and (s.argon2_memory_kib < 19_456 or s.argon2_time_cost < 2):
        problems.append(
            f"{PREFIX}ARGON2_MEMORY_KIB / {PREFIX}ARGON2_TIME_COST: below the OWASP minimum "
            "(19456 KiB, 2 passes) for a public issuer"
        )
    return problems


def _page_problems(s: Settings) -> list[str]:
    problems: list[str] = []
    if s.templates_dir is not None and not s.templates_dir.is_dir():
        problems.append(f"{PREFIX}TEMPLATES_DIR: {s.templates_dir} is not a folder")
    known = available_locales(s.catalog_folders)
    missing = [tag for tag in s.locale_list if tag not in known]
    if not s.locale_list:
        problems.append(f"{PREFIX}LOCALES: name at least one language")
    if missing:
        problems.append(
            f"{PREFIX}LOCALES: no catalog for {', '.join(missing)} "
            f"(available: {', '.join(sorted(known))})"
        )
    if s.default_locale not in s.locale_list:
        problems.append(f"{PREFIX}DEFAULT_LOCALE: must be one of {PREFIX}LOCALES")
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", s.brand_primary_color):
        problems.append(f"{PREFIX}BRAND_PRIMARY_COLOR: a colour as #rrggbb")
    if any(ch < " " for ch in s.brand_name):
        problems.append(f"{PREFIX}BRAND_NAME: no control characters")
    for field in ("logo", "favicon", "support", "privacy", "terms"):
        value = getattr(s, f"brand_{field}_url")
        if value is not None and not _is_brand_url(value, mailto=field == "support"):
            problems.append(
                f"{PREFIX}BRAND_{field.upper()}_URL: an https URL (http only on localhost)"
                + (", a mailto: address" if field == "support" else "")
                + " or a /static/… path"
            )
    return problems


def _is_brand_url(value: str, *, mailto: bool) -> bool:
    if any(ch <= " " or ch in "\\\"'<>" for ch in value) or len(value) > 2000:
        return False
    if value.startswith("/static/") and ".." not in value:
        return True
    if mailto and value.startswith("mailto:"):
        return "@" in value
    url = urlsplit(value)
    if url.scheme == "https":
        return bool(url.hostname)
    return url.scheme == "http" and _is_loopback_host(url.hostname or "")


def _mail_problems(s: Settings) -> list[str]:
    problems: list[str] = []
    if bool(s.smtp_username) != bool(s.smtp_password):
        problems.append(f"{PREFIX}SMTP_USERNAME / {PREFIX}SMTP_PASSWORD: set both or neither")
    if not s.smtp_host and (s.smtp_username or s.smtp_password):
        problems.append(f"{PREFIX}SMTP_HOST: needed when SMTP credentials are set")
    if s.smtp_username and s.smtp_security == "none":
        problems.append(
            f"{PREFIX}SMTP_SECURITY: credentials would be sent in clear; use starttls or tls"
        )
    if "@" not in parseaddr(s.mail_from)[1]:
        problems.append(f"{PREFIX}MAIL_FROM: not an e-mail address ({s.mail_from!r})")
    return problems
